"""Consents over the API: create and sign with a base64 signature, list by patient, read, PDF."""

from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import clinic_files, make_patient, pdf_text  # noqa: F401
from tests.documents.documents_helpers import consent_template, signature_png

pytestmark = pytest.mark.usefixtures("clinic_files")

PLAIN_BASE64 = base64.b64encode(signature_png()).decode()


def _auth(seeded, role):
    return bearer(make_token(seeded, seeded.users[role]))


def test_create_sign_list_read_and_download_a_consent(clinic_a, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    auth = _auth(clinic_a, "nurse")
    client = client_for(clinic_a)

    templates = client.get("/api/v1/consent-templates", **auth).json()
    assert templates["results"][0]["id"] == str(template.pk) and templates["results"][0]["needs_procedure"] is True

    created = client.post(
        "/api/v1/consents",
        {
            "patient": str(patient.pk),
            "template": str(template.pk),
            "procedure": "Mole removal",
            "witness_name": "Ravi Kumar",
            "location": str(clinic_a.locations[0].pk),
            "signature": PLAIN_BASE64,
        },
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["signer_name"] == "Asha Verma" and body["signer_relation"] == "self"
    assert body["verification_code"].startswith("CF-") and len(body["sha256"]) == 64
    assert "agree to Mole removal" in body["rendered_text"]
    assert body["template"] == {"id": str(template.pk), "name": "Procedure consent", "kind": "procedure", "version": 1}

    listed = client.get(f"/api/v1/consents?patient={patient.pk}", **auth).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert client.get(f"/api/v1/consents/{body['id']}", **auth).json()["witness_name"] == "Ravi Kumar"

    pdf = client.get(body["pdf_url"], **auth)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert body["verification_code"] in pdf_text(b"".join(pdf.streaming_content))


def test_signature_and_guardian_errors_are_field_errors(clinic_a, client_for, clock):
    today = timezone.localdate()  # pinned (tests/clock.py): never 29 February, which other years lack
    child = make_patient(clinic_a, given_name="Riya", date_of_birth=today.replace(year=today.year - 4))
    template = consent_template(clinic_a, kind="photography", body="Photos of {{ patient_name }}.")
    response = client_for(clinic_a).post(
        "/api/v1/consents",
        {"patient": str(child.pk), "template": str(template.pk), "signature": "data:image/png;base64,%%%"},
        content_type="application/json",
        **_auth(clinic_a, "doctor"),
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["signature"] == ["The signature is not valid base64 data."]
    assert fields["signer_relation"] == ["Riya Verma is 4 years old: a parent or guardian signs for a minor."]
    assert set(fields) == {"signature", "signer_relation"}


def test_front_desk_cannot_use_the_consents_api(clinic_a, client_for):
    auth = _auth(clinic_a, "front_desk")
    client = client_for(clinic_a)
    assert client.get("/api/v1/consents", **auth).status_code == 403
    assert client.post("/api/v1/consents", {}, content_type="application/json", **auth).status_code == 403


def test_consents_are_immutable_over_the_api(clinic_a, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a, kind="data", body="{{ patient_name }} agrees to WhatsApp messages.")
    auth = _auth(clinic_a, "owner")
    client = client_for(clinic_a)
    consent_id = client.post(
        "/api/v1/consents",
        {"patient": str(patient.pk), "template": str(template.pk), "signature": PLAIN_BASE64},
        content_type="application/json",
        **auth,
    ).json()["id"]
    for method in (client.patch, client.put, client.delete):
        response = method(f"/api/v1/consents/{consent_id}", {}, content_type="application/json", **auth)
        assert response.status_code == 405


def test_another_clinics_patient_or_consent_is_404(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    template_b = consent_template(clinic_b, kind="data", body="{{ patient_name }} agrees.")
    response = client_for(clinic_b).post(
        "/api/v1/consents",
        {"patient": str(patient.pk), "template": str(template_b.pk), "signature": PLAIN_BASE64},
        content_type="application/json",
        **_auth(clinic_b, "owner"),
    )
    assert response.status_code == 404
