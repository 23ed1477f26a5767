"""Repeating a patient's last prescription: its lines prefill a new draft form (nothing is saved
until the doctor saves), only for a prescription of that patient the user may open."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import tenant_context

from clinical.models import Prescription
from tests.clinical.clinical_helpers import ITEM, make_patient, signed_prescription

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)


def test_new_prescription_offers_to_repeat_the_last_one_and_prefills_its_lines(clinic_a, client_for):
    patient = make_patient(clinic_a)
    last = signed_prescription(
        clinic_a, patient, items=[{**ITEM, "drug_name": "Amlong 5", "strength": "5 mg", "frequency": "1-0-0"}]
    )
    client = client_for(clinic_a, "doctor")
    page = client.get(f"/patients/{patient.pk}/prescriptions/new").content.decode()
    assert f"?repeat={last.pk}" in page and "Amlong 5" in page
    repeated = client.get(f"/patients/{patient.pk}/prescriptions/new", {"repeat": str(last.pk)}).content.decode()
    assert 'value="Amlong 5"' in repeated and 'value="1-0-0"' in repeated
    with tenant_context(clinic_a.clinic):  # nothing is saved by opening the form
        assert Prescription.objects.filter(patient=patient).count() == 1


def test_repeat_refuses_another_patients_or_unknown_prescription(clinic_a, client_for):
    patient, other = make_patient(clinic_a), make_patient(clinic_a)
    theirs = signed_prescription(clinic_a, other)
    client = client_for(clinic_a, "doctor")
    assert client.get(f"/patients/{patient.pk}/prescriptions/new", {"repeat": str(theirs.pk)}).status_code == 404
    assert client.get(f"/patients/{patient.pk}/prescriptions/new", {"repeat": str(uuid.uuid4())}).status_code == 404
    assert "?repeat=" not in client.get(f"/patients/{patient.pk}/prescriptions/new").content.decode()
