"""Visits over the API: list/create per patient, read, PATCH while draft, sign, addenda; access."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from accounts.models import User
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.clinical.clinical_helpers import draft_visit, make_patient, restrict


def _visit_body(seeded, **extra):
    body = {
        "location": str(seeded.locations[0].pk),
        "chief_complaint": "Headache",
        "bp_systolic": 124,
        "bp_diastolic": 82,
        "weight_kg": "80.0",
        "height_cm": "180.0",
        "notes": {"history": "Two weeks of headaches", "plan": "Review in a week"},
        "diagnoses": [{"text": "Tension headache", "icd10": "g44.2"}],
    }
    body.update(extra)
    return body


def test_doctor_creates_reads_patches_and_signs_a_visit(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    created = client.post(
        f"/api/v1/patients/{patient.pk}/visits", _visit_body(clinic_a), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    visit = created.json()
    assert visit["status"] == "draft"
    assert visit["notes"]["history"] == "Two weeks of headaches" and visit["notes"]["examination"] == ""
    assert visit["diagnoses"] == [{"text": "Tension headache", "icd10": "G44.2"}]
    assert visit["bmi"] == "24.7"
    assert visit["clinician"]["id"] == str(clinic_a.users["doctor"].pk)

    patched = client.patch(
        f"/api/v1/visits/{visit['id']}", {"chief_complaint": "Headache and nausea"}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["chief_complaint"] == "Headache and nausea"
    assert patched.json()["notes"]["history"] == "Two weeks of headaches"  # notes left out stay as they were

    signed = client.post(f"/api/v1/visits/{visit['id']}/sign")
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    assert signed.json()["signed_by"]["id"] == str(clinic_a.users["doctor"].pk)

    refused = client.patch(f"/api/v1/visits/{visit['id']}", {"advice": "x"}, content_type="application/json")
    error = assert_error(refused, 400, "invalid")
    assert "addendum" in str(error["fields"])

    added = client.post(
        f"/api/v1/visits/{visit['id']}/addenda", {"text": "MRI normal."}, content_type="application/json"
    )
    assert added.status_code == 201 and added.json()["text"] == "MRI normal."
    again = client.get(f"/api/v1/visits/{visit['id']}").json()
    assert [a["text"] for a in again["addenda"]] == ["MRI normal."]
    assert again["chief_complaint"] == "Headache and nausea"

    listing = client.get(f"/api/v1/patients/{patient.pk}/visits").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == visit["id"]
    assert "notes" not in listing["results"][0]


def test_api_validation_errors_name_the_fields(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    response = client.post(
        f"/api/v1/patients/{patient.pk}/visits",
        _visit_body(clinic_a, diagnoses=[{"text": "x", "icd10": "99"}], spo2=20),
        content_type="application/json",
    )
    error = assert_error(response, 400, "invalid")
    assert "diagnoses.0.icd10" in error["fields"] and "spo2" in error["fields"]
    missing_location = client.post(
        f"/api/v1/patients/{patient.pk}/visits", {"chief_complaint": "x"}, content_type="application/json"
    )
    assert "location" in assert_error(missing_location, 400, "invalid")["fields"]


def test_front_desk_gets_403_on_every_visit_endpoint(clinic_a, client_for):
    patient = make_patient(clinic_a)
    visit = draft_visit(clinic_a, patient)
    secret = make_token(clinic_a, clinic_a.users["front_desk"])
    client = client_for(clinic_a)
    assert_error(client.get(f"/api/v1/patients/{patient.pk}/visits", **bearer(secret)), 403)
    assert_error(client.get(f"/api/v1/visits/{visit.pk}", **bearer(secret)), 403)
    assert_error(
        client.post(
            f"/api/v1/patients/{patient.pk}/visits",
            _visit_body(clinic_a),
            content_type="application/json",
            **bearer(secret),
        ),
        403,
    )
    assert_error(client.post(f"/api/v1/visits/{visit.pk}/sign", **bearer(secret)), 403)


def test_nurse_cannot_sign_a_visit_over_the_api(clinic_a, client_for):
    visit = draft_visit(clinic_a, make_patient(clinic_a))
    assert_error(client_for(clinic_a, "nurse").post(f"/api/v1/visits/{visit.pk}/sign"), 403, "permission_denied")


def test_other_location_and_other_clinic_give_the_same_404(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    there = draft_visit(clinic_a, patient, location=1)
    foreign = draft_visit(clinic_b, make_patient(clinic_b))
    restrict(clinic_a, "doctor", 0)
    client = client_for(clinic_a, "doctor")
    for visit_id in (there.pk, foreign.pk, "00000000-0000-4000-8000-000000000000"):
        assert_error(client.get(f"/api/v1/visits/{visit_id}"), 404, "not_found")
        assert_error(client.post(f"/api/v1/visits/{visit_id}/sign"), 404, "not_found")
    assert client.get(f"/api/v1/patients/{patient.pk}/visits").json()["count"] == 0
    outside = client.post(
        f"/api/v1/patients/{patient.pk}/visits",
        _visit_body(clinic_a, location=str(clinic_a.locations[1].pk)),
        content_type="application/json",
    )
    assert "location" in assert_error(outside, 400, "invalid")["fields"]


def test_visit_endpoints_are_in_the_api_schema(clinic_a, client_for):
    schema = client_for(clinic_a, "owner").get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/patients/{id}/visits", "/api/v1/visits/{id}", "/api/v1/visits/{id}/sign"):
        assert path in schema["paths"], path
    with tenant_context(clinic_a.clinic):
        assert User.objects.filter(pk=clinic_a.users["doctor"].pk).exists()
