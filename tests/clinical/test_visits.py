"""Visits: drafts with encrypted notes, validation, signing, addenda instead of edits, access."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinical import services as clinical
from clinical.models import Visit, VisitAddendum
from tests.clinical.clinical_helpers import draft_visit, make_patient, restrict, signing_doctor, staff
from tests.docos.crypto_helpers import raw_value


def _sign(seeded, visit, role="doctor"):
    actor = signing_doctor(seeded) if role == "doctor" else staff(seeded, role)
    with tenant_context(seeded.clinic):
        return clinical.visit_sign(visit=visit, actor=actor)


def test_doctor_creates_a_draft_visit_with_notes_encrypted_at_rest(clinic_a):
    visit = draft_visit(clinic_a, make_patient(clinic_a), notes={"history": "Chest pain radiating to the jaw"})
    with tenant_context(clinic_a.clinic):
        stored = Visit.objects.get(pk=visit.pk)
        assert stored.status == Visit.Status.DRAFT
        assert clinical.visit_notes(stored) == {"history": "Chest pain radiating to the jaw"}
        raw = raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk)
        assert raw is not None and b"Chest pain" not in raw
        event = AuditEvent.objects.filter(action="visit.create", object_id=str(visit.pk)).get()
        assert "notes.history" in event.changed_fields
        assert "Chest" not in str(event.metadata)


def test_bmi_is_computed_from_weight_and_height(clinic_a):
    visit = draft_visit(clinic_a, make_patient(clinic_a), weight_kg=70, height_cm=175)
    assert str(visit.bmi) == "22.9"


@pytest.mark.parametrize(
    ("given", "stored"), [("j06.9", "J06.9"), ("J069", "J06.9"), ("E11.6", "E11.6"), ("I10", "I10"), ("u07.1", "U07.1")]
)
def test_icd10_codes_are_normalised(clinic_a, given, stored):
    visit = draft_visit(clinic_a, make_patient(clinic_a), diagnoses=[{"text": "Something", "icd10": given}])
    assert visit.diagnoses == [{"text": "Something", "icd10": stored}]


@pytest.mark.parametrize("bad", ["123", "JJ6.9", "J06.99999", "J0", "J06-9"])
def test_malformed_icd10_code_is_refused_with_a_field_error(clinic_a, bad):
    with pytest.raises(ValidationError) as caught:
        draft_visit(clinic_a, make_patient(clinic_a), diagnoses=[{"text": "Cough", "icd10": bad}])
    assert "diagnoses.0.icd10" in caught.value.message_dict
    assert "not an ICD-10 code" in caught.value.message_dict["diagnoses.0.icd10"][0]


def test_blood_pressure_needs_both_values_and_plausible_vitals(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        draft_visit(clinic_a, patient, bp_systolic=120)
    assert "bp_diastolic" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        draft_visit(clinic_a, patient, bp_systolic=80, bp_diastolic=120)
    assert "lower than systolic" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        draft_visit(clinic_a, patient, spo2=130, pulse=5)
    assert {"spo2", "pulse"} <= set(caught.value.message_dict)


def test_signed_visit_cannot_be_edited_and_changes_become_addenda(clinic_a):
    visit = draft_visit(clinic_a, make_patient(clinic_a), notes={"plan": "Paracetamol"})
    _sign(clinic_a, visit)
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError, match="Add an addendum"):
            clinical.visit_update(visit=visit, actor=doctor, notes={"plan": "Ibuprofen instead"})
        with pytest.raises(ValidationError, match="Add an addendum"):
            clinical.visit_update(visit=visit, actor=doctor, chief_complaint="Changed")
        addendum = clinical.visit_addendum_add(visit=visit, actor=doctor, text="Switched to ibuprofen on review.")
        stored = Visit.objects.get(pk=visit.pk)
        assert clinical.visit_notes(stored) == {"plan": "Paracetamol"}  # the original is kept
        assert stored.status == Visit.Status.SIGNED and stored.signed_by_id == doctor.pk
        assert list(VisitAddendum.objects.filter(visit=visit)) == [addendum]
        assert VisitAddendum.objects.get(pk=addendum.pk).text == "Switched to ibuprofen on review."
        assert raw_value(clinic_a.schema, "clinical_visitaddendum", "text", addendum.pk) != b"Switched"
        actions = set(AuditEvent.objects.filter(object_id=str(visit.pk)).values_list("action", flat=True))
        assert {"visit.create", "visit.sign", "visit.addendum"} <= actions


def test_draft_visit_takes_edits_but_no_addenda(clinic_a):
    visit = draft_visit(clinic_a, make_patient(clinic_a))
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        changed = clinical.visit_update(
            visit=visit, actor=doctor, chief_complaint="Fever and cough", notes={"plan": "Rest"}
        )
        assert "chief_complaint" in changed and "notes.plan" in changed and "notes.history" in changed
        with pytest.raises(ValidationError, match="still a draft"):
            clinical.visit_addendum_add(visit=visit, actor=doctor, text="Too early")


def test_signing_twice_or_signing_an_empty_visit_is_refused(clinic_a):
    patient = make_patient(clinic_a)
    empty = draft_visit(clinic_a, patient, chief_complaint="", notes={}, diagnoses=[])
    with pytest.raises(ValidationError, match="nothing to sign"):
        _sign(clinic_a, empty)
    visit = draft_visit(clinic_a, patient)
    _sign(clinic_a, visit)
    with pytest.raises(ValidationError, match="already signed"):
        _sign(clinic_a, visit)


def test_nurse_can_write_but_not_sign_visits(clinic_a, client_for):
    visit = draft_visit(clinic_a, make_patient(clinic_a))
    with pytest.raises(PermissionDenied):
        _sign(clinic_a, visit, role="nurse")
    assert client_for(clinic_a, "nurse").post(f"/visits/{visit.pk}/sign").status_code == 403
    nurse = staff(clinic_a, "nurse")
    with tenant_context(clinic_a.clinic):
        clinical.visit_update(visit=visit, actor=nurse, pulse=88)
        assert Visit.objects.get(pk=visit.pk).status == Visit.Status.DRAFT


def test_front_desk_cannot_read_or_write_visits(clinic_a, client_for):
    patient = make_patient(clinic_a)
    visit = draft_visit(clinic_a, patient)
    client = client_for(clinic_a, "front_desk")
    for url in (f"/visits/{visit.pk}/", "/visits/", f"/patients/{patient.pk}/visits", f"/visits/{visit.pk}/edit"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/patients/{patient.pk}/visits/new", {}).status_code == 403
    assert client.post(f"/visits/{visit.pk}/addenda", {"text": "x"}).status_code == 403
    with pytest.raises(PermissionDenied):
        with tenant_context(clinic_a.clinic):
            clinical.visit_update(visit=visit, actor=staff(clinic_a, "front_desk"), pulse=80)


def test_visit_at_another_location_is_404_for_a_restricted_user(clinic_a, client_for):
    patient = make_patient(clinic_a)
    here = draft_visit(clinic_a, patient, location=0)
    there = draft_visit(clinic_a, patient, location=1)
    restrict(clinic_a, "doctor", 0)
    client = client_for(clinic_a, "doctor")
    assert client.get(f"/visits/{here.pk}/").status_code == 200
    missing = client.get("/visits/00000000-0000-4000-8000-000000000000/")
    other = client.get(f"/visits/{there.pk}/")
    assert other.status_code == missing.status_code == 404
    listing = client.get(f"/patients/{patient.pk}/visits").content.decode()
    assert f"/visits/{here.pk}/" in listing and f"/visits/{there.pk}/" not in listing
    assert client.post(f"/visits/{there.pk}/sign").status_code == 404


def test_restricted_user_cannot_record_a_visit_at_another_location(clinic_a):
    doctor = restrict(clinic_a, "doctor", 0)
    with tenant_context(clinic_a.clinic):
        doctor = type(doctor).objects.get(pk=doctor.pk)
        with pytest.raises(ValidationError, match="do not work at"):
            clinical.visit_create(
                patient=make_patient(clinic_a), actor=doctor, location=clinic_a.locations[1], chief_complaint="x"
            )


def test_another_clinics_visit_is_404(clinic_a, clinic_b, client_for):
    visit = draft_visit(clinic_b, make_patient(clinic_b))
    client = client_for(clinic_a, "owner")
    assert client.get(f"/visits/{visit.pk}/").status_code == 404
    assert client.post(f"/visits/{visit.pk}/sign").status_code == 404


def test_visit_form_creates_a_draft_with_diagnoses(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    page = client.get(f"/patients/{patient.pk}/visits/new")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<script>" not in body.split("</header>", 1)[1].replace('<script src="/static/js/clinical.js" defer>', "")
    response = client.post(
        f"/patients/{patient.pk}/visits/new",
        {
            "visit_at": "2026-01-15T10:30",
            "location": str(clinic_a.locations[0].pk),
            "chief_complaint": "Sore throat",
            "bp_systolic": "130",
            "bp_diastolic": "85",
            "weight_kg": "64.5",
            "height_cm": "160",
            "assessment": "Pharyngitis",
            "diagnoses-TOTAL_FORMS": "2",
            "diagnoses-INITIAL_FORMS": "0",
            "diagnoses-MIN_NUM_FORMS": "0",
            "diagnoses-MAX_NUM_FORMS": "20",
            "diagnoses-0-text": "Acute pharyngitis",
            "diagnoses-0-icd10": "j02.9",
            "diagnoses-1-text": "",
            "diagnoses-1-icd10": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(clinic_a.clinic):
        visit = Visit.objects.get(patient=patient)
        assert visit.diagnoses == [{"text": "Acute pharyngitis", "icd10": "J02.9"}]
        assert clinical.visit_notes(visit) == {"assessment": "Pharyngitis"}
        assert visit.clinician_id == clinic_a.users["doctor"].pk
    detail = client.get(response["Location"]).content.decode()
    assert "Acute pharyngitis" in detail and "25.2" in detail  # BMI


def test_visit_form_shows_field_errors(clinic_a, client_for):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "doctor").post(
        f"/patients/{patient.pk}/visits/new",
        {
            "visit_at": "2026-01-15T10:30",
            "location": str(clinic_a.locations[0].pk),
            "spo2": "140",
            "diagnoses-TOTAL_FORMS": "1",
            "diagnoses-INITIAL_FORMS": "0",
            "diagnoses-0-text": "Cough",
            "diagnoses-0-icd10": "XYZ",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "not an ICD-10 code" in body
    assert "less than or equal to 100" in body


def test_signed_visit_page_shows_original_and_addenda_and_edit_redirects(clinic_a, client_for):
    visit = draft_visit(clinic_a, make_patient(clinic_a), notes={"plan": "Original plan"})
    client = client_for(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic):
        type(clinic_a.users["doctor"]).objects.filter(pk=clinic_a.users["doctor"].pk).update(registration_number="X-1")
    assert client.post(f"/visits/{visit.pk}/sign").status_code == 302
    assert client.post(f"/visits/{visit.pk}/addenda", {"text": "Later <b>note</b>"}).status_code == 302
    edit = client.get(f"/visits/{visit.pk}/edit")
    assert edit.status_code == 302 and edit["Location"] == f"/visits/{visit.pk}/"
    refused = client.post(f"/visits/{visit.pk}/edit", {"chief_complaint": "sneaky"})
    assert refused.status_code == 302
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "Original plan" in page
    assert "Later &lt;b&gt;note&lt;/b&gt;" in page
    assert "Add addendum" in page and f'action="/visits/{visit.pk}/sign"' not in page


def test_patient_name_with_script_is_escaped_on_visit_pages(clinic_a, client_for):
    patient = make_patient(clinic_a, given_name="<script>alert(1)</script>")
    visit = draft_visit(clinic_a, patient, chief_complaint="<img src=x onerror=alert(2)>")
    client = client_for(clinic_a, "doctor")
    for url in (f"/visits/{visit.pk}/", f"/patients/{patient.pk}/visits", "/visits/", f"/visits/{visit.pk}/edit"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body, url
        assert "<img src=x" not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url


def test_visit_list_is_paginated_by_fifty(clinic_a, client_for):
    patient = make_patient(clinic_a)
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        Visit.objects.bulk_create(
            [
                Visit(patient=patient, location=clinic_a.locations[0], clinician=doctor, chief_complaint=f"c{i}")
                for i in range(55)
            ]
        )
    client = client_for(clinic_a, "doctor")
    first = client.get(f"/patients/{patient.pk}/visits").content.decode()
    assert first.count("/visits/") >= 50 and "Page 1 of 2" in first
    second = client.get(f"/patients/{patient.pk}/visits?page=2").content.decode()
    assert "Page 2 of 2" in second
