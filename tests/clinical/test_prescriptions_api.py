"""Prescriptions over the API: create with items, list by patient, read, PATCH drafts, sign, revise, PDF."""

from __future__ import annotations

import pytest

from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.clinical.clinical_helpers import (
    HINDI,
    ITEM,
    REG_NO,
    draft_prescription,
    make_patient,
    pdf_text,
    restrict,
    signed_prescription,
    staff,
)

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)


def _body(seeded, patient, **extra):
    body = {
        "patient": str(patient.pk),
        "location": str(seeded.locations[0].pk),
        "items": [ITEM, {**ITEM, "drug_name": "Cetirizine", "strength": "10 mg", "frequency": "HS"}],
        "general_advice": "Fluids",
        "print_hindi": True,
    }
    body.update(extra)
    return body


def test_doctor_creates_patches_signs_and_downloads_with_a_token(clinic_a, client_for):
    staff(clinic_a, "doctor", registration_number=REG_NO)
    patient = make_patient(clinic_a, given_name="Farida")
    auth = bearer(make_token(clinic_a, clinic_a.users["doctor"]))
    client = client_for(clinic_a)
    created = client.post("/api/v1/prescriptions", _body(clinic_a, patient), content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    rx = created.json()
    assert rx["status"] == "draft" and rx["version"] == 1 and rx["verification_code"] is None
    assert [item["drug_name"] for item in rx["items"]] == ["Paracetamol", "Cetirizine"]
    assert rx["items"][0]["instructions_hi"] == HINDI

    patched = client.patch(
        f"/api/v1/prescriptions/{rx['id']}",
        {"items": [ITEM], "general_advice": "Rest"},
        content_type="application/json",
        **auth,
    )
    assert patched.status_code == 200 and len(patched.json()["items"]) == 1
    assert patched.json()["general_advice"] == "Rest"

    signed = client.post(f"/api/v1/prescriptions/{rx['id']}/sign", **auth)
    assert signed.status_code == 200, signed.content
    code = signed.json()["verification_code"]
    assert signed.json()["status"] == "signed" and code.startswith("RX-")

    pdf = client.get(f"/api/v1/prescriptions/{rx['id']}/pdf", **auth)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Farida" in text and code in text and REG_NO in text

    refused = client.patch(
        f"/api/v1/prescriptions/{rx['id']}", {"general_advice": "x"}, content_type="application/json", **auth
    )
    assert_error(refused, 400, "invalid")

    revised = client.post(f"/api/v1/prescriptions/{rx['id']}/revise", **auth)
    assert revised.status_code == 201 and revised.json()["previous"] == rx["id"] and revised.json()["version"] == 2
    client.post(f"/api/v1/prescriptions/{revised.json()['id']}/sign", **auth)
    assert client.get(f"/api/v1/prescriptions/{rx['id']}", **auth).json()["status"] == "superseded"

    listing = client.get("/api/v1/prescriptions", {"patient": str(patient.pk)}, **auth).json()
    assert listing["count"] == 2
    assert client.get("/api/v1/prescriptions", {"patient": str(make_patient(clinic_a).pk)}, **auth).json()["count"] == 0


def test_item_errors_are_reported_per_row(clinic_a, client_for):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "doctor").post(
        "/api/v1/prescriptions",
        _body(clinic_a, patient, items=[ITEM, {**ITEM, "frequency": "whenever"}]),
        content_type="application/json",
    )
    assert "items.1.frequency" in assert_error(response, 400, "invalid")["fields"]


def test_signing_without_registration_number_is_a_clear_400(clinic_a, client_for):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    staff(clinic_a, "doctor", registration_number="")
    error = assert_error(client_for(clinic_a, "doctor").post(f"/api/v1/prescriptions/{prescription.pk}/sign"), 400)
    assert "registration number is missing" in str(error["fields"])


def test_capabilities_on_the_prescription_api(clinic_a, client_for):
    prescription = signed_prescription(clinic_a, make_patient(clinic_a))
    nurse = client_for(clinic_a, "nurse")
    assert nurse.get(f"/api/v1/prescriptions/{prescription.pk}").status_code == 200
    assert_error(nurse.post(f"/api/v1/prescriptions/{prescription.pk}/sign"), 403, "permission_denied")
    assert_error(
        nurse.post("/api/v1/prescriptions", _body(clinic_a, make_patient(clinic_a)), content_type="application/json"),
        403,
    )
    front = client_for(clinic_a, "front_desk")
    assert_error(front.get("/api/v1/prescriptions"), 403)
    assert_error(front.get(f"/api/v1/prescriptions/{prescription.pk}/pdf"), 403)
    assert client_for(clinic_a).get("/api/v1/prescriptions").status_code == 401


def test_other_location_and_other_clinic_prescriptions_are_404(clinic_a, clinic_b, client_for):
    there = signed_prescription(clinic_a, make_patient(clinic_a), location=1)
    foreign = signed_prescription(clinic_b, make_patient(clinic_b))
    restrict(clinic_a, "pharmacist", 0)
    client = client_for(clinic_a, "pharmacist")
    for prescription in (there, foreign):
        assert_error(client.get(f"/api/v1/prescriptions/{prescription.pk}"), 404, "not_found")
        assert_error(client.get(f"/api/v1/prescriptions/{prescription.pk}/pdf"), 404, "not_found")
    assert client.get("/api/v1/prescriptions").json()["count"] == 0


def test_draft_pdf_is_404(clinic_a, client_for):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    assert_error(client_for(clinic_a, "doctor").get(f"/api/v1/prescriptions/{prescription.pk}/pdf"), 404)


def test_prescription_endpoints_are_in_the_api_schema(clinic_a, client_for):
    schema = client_for(clinic_a, "owner").get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/prescriptions",
        "/api/v1/prescriptions/{id}",
        "/api/v1/prescriptions/{id}/sign",
        "/api/v1/prescriptions/{id}/pdf",
    ):
        assert path in schema["paths"], path
    assert "application/pdf" in schema["paths"]["/api/v1/prescriptions/{id}/pdf"]["get"]["responses"]["200"]["content"]
