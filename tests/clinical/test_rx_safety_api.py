"""Prescription safety over the API: per-line 400s, the findings endpoint, 422 `safety_findings` at
signing until each finding has an override with a reason, and the patient's allergies endpoints."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from clinical.models import PatientAllergy, PrescriptionSafetyOverride
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.clinical.clinical_helpers import ITEM, REG_NO, draft_prescription, make_patient, restrict, staff

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)


def _doctor_api(seeded, client_for):
    staff(seeded, "doctor", registration_number=REG_NO)
    return client_for(seeded), bearer(make_token(seeded, seeded.users["doctor"]))


def test_an_incomplete_line_is_a_400_naming_each_missing_field(clinic_a, client_for):
    client, auth = _doctor_api(clinic_a, client_for)
    patient = make_patient(clinic_a)
    body = {
        "patient": str(patient.pk),
        "location": str(clinic_a.locations[0].pk),
        "items": [ITEM, {"drug_name": "amox"}],
    }
    error = assert_error(client.post("/api/v1/prescriptions", body, content_type="application/json", **auth), 400)
    assert set(error["fields"]) == {"items.1.drug_name", "items.1.dose", "items.1.frequency", "items.1.duration"}
    body["items"][1] = {**ITEM, "drug_name": "Kadha herbal syrup", "free_text": True, "frequency": "As directed"}
    created = client.post("/api/v1/prescriptions", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    assert created.json()["items"][1]["free_text"] is True and created.json()["items"][1]["frequency"] == "AS DIRECTED"


def test_signing_over_an_allergy_needs_an_override_with_a_reason(clinic_a, client_for):
    client, auth = _doctor_api(clinic_a, client_for)
    patient = make_patient(clinic_a)
    recorded = client.post(
        f"/api/v1/patients/{patient.pk}/allergies",
        {"allergen": "Penicillin", "reaction": "Anaphylaxis", "severity": "severe"},
        content_type="application/json",
        **auth,
    )
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["allergen_class"] == "penicillins" and recorded.json()["status"] == "active"
    rx = draft_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "Augmentin", "strength": "625 mg"}])

    safety = client.get(f"/api/v1/prescriptions/{rx.pk}/safety", **auth)
    assert safety.status_code == 200
    (finding,) = safety.json()["findings"]
    assert finding["code"] == "allergy:penicillins" and finding["lines"] == [0] and finding["source"]
    assert safety.json()["incomplete"] == {}

    url = f"/api/v1/prescriptions/{rx.pk}/sign"
    error = assert_error(client.post(url, **auth), 422, "safety_findings")
    assert list(error["fields"]) == ["overrides.allergy:penicillins"]
    blank = {"overrides": [{"code": "allergy:penicillins", "reason": " "}]}
    assert assert_error(client.post(url, blank, content_type="application/json", **auth), 400)["fields"]
    stale = {"overrides": [{"code": "interaction:warfarin-nsaid", "reason": "Because I say so, really"}]}
    error = assert_error(client.post(url, stale, content_type="application/json", **auth), 400)
    assert list(error["fields"]) == ["overrides.interaction:warfarin-nsaid"]

    good = {"overrides": [{"code": "allergy:penicillins", "reason": "Allergist cleared after negative skin test"}]}
    signed = client.post(url, good, content_type="application/json", **auth)
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"
    with tenant_context(clinic_a.clinic):
        assert PrescriptionSafetyOverride.objects.get(prescription=rx).reason.startswith("Allergist cleared")
    assert client.get(f"/api/v1/prescriptions/{rx.pk}/safety", **auth).json() == {"findings": [], "incomplete": {}}


def test_allergies_list_and_resolve_follow_patient_access(clinic_a, client_for):
    client, auth = _doctor_api(clinic_a, client_for)
    patient = make_patient(clinic_a)
    created = client.post(
        f"/api/v1/patients/{patient.pk}/allergies", {"allergen": "Aspirin"}, content_type="application/json", **auth
    ).json()
    listed = client.get(f"/api/v1/patients/{patient.pk}/allergies", **auth).json()
    assert listed["count"] == 1 and listed["results"][0]["allergen_class_label"] == "NSAIDs (including aspirin)"
    resolved = client.post(f"/api/v1/allergies/{created['id']}/resolve", **auth)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert_error(client.post(f"/api/v1/allergies/{created['id']}/resolve", **auth), 400)

    front = bearer(make_token(clinic_a, clinic_a.users["front_desk"]))
    assert client.get(f"/api/v1/patients/{patient.pk}/allergies", **front).status_code == 200
    body = {"allergen": "Dust"}
    assert_error(
        client.post(f"/api/v1/patients/{patient.pk}/allergies", body, content_type="application/json", **front), 403
    )

    restrict(clinic_a, "doctor", 1)  # the patient is registered at location 0
    assert_error(client.get(f"/api/v1/patients/{patient.pk}/allergies", **auth), 404)
    assert_error(client.post(f"/api/v1/allergies/{created['id']}/resolve", **auth), 404)
    with tenant_context(clinic_a.clinic):
        assert PatientAllergy.objects.filter(patient=patient).count() == 1
