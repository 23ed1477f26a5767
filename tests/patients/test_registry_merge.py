import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from clinical.models import Prescription, Visit
from documents.models import Certificate, ConsentForm, ConsentTemplate, PatientDocument, SignedDocument
from patients.models import Patient
from patients.services import patient_merge, patient_record_whatsapp_consent
from tests.patients.registry_helpers import register, user


def _clinical_rows(seeded, patient, doctor):
    location = seeded.locations[0]
    visit = Visit.objects.create(patient=patient, location=location, clinician=doctor, chief_complaint="Fever")
    rx = Prescription.objects.create(patient=patient, visit=visit, location=location, prescriber=doctor)
    doc = PatientDocument.objects.create(
        patient=patient,
        title="CBC report",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        storage_name="x",
        uploaded_by=doctor,
        location=location,
    )

    def signed(kind, code):
        return SignedDocument.objects.create(
            kind=kind,
            patient=patient,
            location=location,
            verification_code=code,
            storage_name="y",
            sha256="1" * 64,
            size=1,
            signed_by=doctor,
        )

    template = ConsentTemplate.objects.create(name="Procedure", kind="procedure", body="I agree")
    consent = ConsentForm.objects.create(
        patient=patient,
        template=template,
        location=location,
        rendered_text="I agree",
        signer_name=patient.full_name,
        prepared_by=doctor,
        document=signed("consent", f"C{patient.mrn[-6:]}"),
    )
    certificate = Certificate.objects.create(
        patient=patient,
        kind="sick_leave",
        location=location,
        body="Rest",
        doctor=doctor,
        document=signed("certificate", f"K{patient.mrn[-6:]}"),
    )
    return [visit, rx, doc, consent, certificate]


def test_merge_moves_every_related_row_to_the_survivor(clinic_a, in_tenant):
    survivor = register(clinic_a, given_name="Lakshmi", family_name="Sharma", allergies="Penicillin")
    duplicate = register(
        clinic_a,
        given_name="Laxmi",
        family_name="Sarma",
        allergies="Sulfa drugs",
        email="laxmi@example.in",
        abha_number="12-3456-7890-1234",
        tags=["diabetic"],
    )
    with in_tenant(clinic_a):
        doctor = user(clinic_a, "doctor")
        rows = _clinical_rows(clinic_a, duplicate, doctor)
        result = patient_merge(survivor=survivor, duplicate=duplicate, actor=user(clinic_a, "owner"))
        for row in rows:
            row.refresh_from_db()
            assert row.patient_id == survivor.pk, type(row).__name__
        assert SignedDocument.objects.filter(patient=survivor).count() == 2
        assert not SignedDocument.objects.filter(patient=duplicate).exists()
        survivor.refresh_from_db()
        duplicate.refresh_from_db()
        events = {e.action: e for e in AuditEvent.objects.filter(action__startswith="patient.merge")}
    assert result.moved["clinical.Visit.patient"] == 1
    assert duplicate.merged_into_id == survivor.pk and not duplicate.is_active
    # Demographics: empty fields filled, allergies of both kept, unique ABHA moved.
    assert survivor.email == "laxmi@example.in"
    assert survivor.abha_number == "12-3456-7890-1234" and duplicate.abha_number == ""
    assert "Penicillin" in survivor.allergies and "Sulfa drugs" in survivor.allergies
    assert survivor.tags == ["diabetic"]
    # An audit trail on both records.
    assert events["patient.merge"].object_id == str(survivor.pk)
    assert events["patient.merge"].metadata["merged_patient_id"] == str(duplicate.pk)
    assert events["patient.merged_into"].object_id == str(duplicate.pk)
    assert "Laxmi" not in str(events["patient.merge"].metadata)


def test_merge_discovers_foreign_keys_of_any_model(clinic_a, in_tenant):
    """Relations are found through Patient._meta.related_objects, so later apps' rows move too."""
    relations = {rel.related_model._meta.label for rel in Patient._meta.related_objects}
    assert {
        "clinical.Visit",
        "clinical.Prescription",
        "documents.PatientDocument",
        "documents.ConsentForm",
        "documents.Certificate",
        "documents.SignedDocument",
    } <= relations
    older = register(clinic_a, given_name="Old")
    middle = register(clinic_a, given_name="Middle")
    survivor = register(clinic_a, given_name="New")
    with in_tenant(clinic_a):
        owner = user(clinic_a, "owner")
        patient_merge(survivor=middle, duplicate=older, actor=owner)
        patient_merge(survivor=survivor, duplicate=middle, actor=owner)
        older.refresh_from_db()
    # Records merged earlier follow their survivor (the self-referencing key is a relation too).
    assert older.merged_into_id == survivor.pk


def test_merge_keeps_the_latest_whatsapp_decision(clinic_a, in_tenant):
    survivor = register(clinic_a, given_name="Keep")
    duplicate = register(clinic_a, given_name="Drop")
    with in_tenant(clinic_a):
        owner = user(clinic_a, "owner")
        patient_record_whatsapp_consent(
            patient=duplicate, actor=owner, source="paper", at=timezone.now() - dt.timedelta(days=3)
        )
        patient_merge(survivor=survivor, duplicate=duplicate, actor=owner)
        survivor.refresh_from_db()
    assert survivor.whatsapp_consent_source == "paper"


def test_merged_records_cannot_be_merged_or_edited_again(clinic_a, in_tenant):
    from patients.services import patient_update

    a = register(clinic_a, given_name="A")
    b = register(clinic_a, given_name="B")
    with in_tenant(clinic_a):
        owner = user(clinic_a, "owner")
        patient_merge(survivor=a, duplicate=b, actor=owner)
        with pytest.raises(ValidationError):
            patient_merge(survivor=a, duplicate=b, actor=owner)
        with pytest.raises(ValidationError):
            patient_merge(survivor=a, duplicate=a, actor=owner)
        with pytest.raises(ValidationError):
            patient_update(patient=b, actor=owner, given_name="Bee")


def test_merge_page_requires_the_merge_capability(clinic_a, client_for):
    survivor = register(clinic_a, given_name="Keep")
    duplicate = register(clinic_a, given_name="Drop")
    url = f"/patients/{survivor.pk}/merge"
    assert client_for(clinic_a, "front_desk").post(url, {"other": duplicate.mrn, "confirm": "yes"}).status_code == 403
    owner = client_for(clinic_a, "owner")
    page = owner.get(url, {"other": duplicate.mrn})
    assert page.status_code == 200 and duplicate.mrn.encode() in page.content
    response = owner.post(url, {"other": str(duplicate.pk), "confirm": "yes"})
    assert response.status_code == 302
    detail = owner.get(f"/patients/{duplicate.pk}/")
    assert b"was merged into" in detail.content
