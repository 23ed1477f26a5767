"""Allergies and chronic conditions are stored encrypted with the clinic's data key, bound to their
row; the names, phone numbers and codes that search and reports need stay plain."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from patients import services as patients
from patients.models import Patient
from tests.clinical.clinical_helpers import make_patient, staff
from tests.docos.crypto_helpers import assert_clinic_encrypted, assert_copies_fail

ALLERGIES = "Penicillin: anaphylaxis"
CONDITIONS = "Type 2 diabetes\nHypertension"


def test_allergies_and_conditions_are_stored_encrypted_and_read_back(clinic_a):
    with tenant_context(clinic_a.clinic):
        patient = patients.patient_create(
            actor=staff(clinic_a, "owner"),
            given_name="Kavya",
            sex="F",
            family_name="Iyer",
            phone="+919845012345",
            registered_location=clinic_a.locations[0],
            allergies=ALLERGIES,
            chronic_conditions=CONDITIONS,
        )
    assert_clinic_encrypted(
        clinic_a.schema,
        "patients_patient",
        patient.pk,
        {"allergies": ["Penicillin", "anaphylaxis"], "chronic_conditions": ["diabetes", "Hypertension"]},
    )
    with connection.cursor() as cursor:  # the name stays plain: search needs it
        cursor.execute(f'SELECT given_name FROM "{clinic_a.schema}".patients_patient WHERE id = %s', [patient.pk])
        assert cursor.fetchone() == ("Kavya",)
    with tenant_context(clinic_a.clinic):
        stored = Patient.objects.get(pk=patient.pk)
        assert (stored.allergies, stored.chronic_conditions) == (ALLERGIES, CONDITIONS)


def test_allergies_copied_to_another_patient_fail_to_decrypt(clinic_a):
    source = make_patient(clinic_a, allergies=ALLERGIES, chronic_conditions=CONDITIONS)
    target = make_patient(clinic_a, given_name="Rohan")
    assert_copies_fail(clinic_a, Patient, "patients_patient", ["allergies", "chronic_conditions"], source.pk, target.pk)
