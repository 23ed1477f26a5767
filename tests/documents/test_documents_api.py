"""Documents over the API: multipart upload, list, details, streamed download, errors."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinics.models import Clinic
from clinics.services import clinic_destroy_data_key
from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import clinic_files, make_patient  # noqa: F401
from tests.documents.documents_helpers import PDF_BYTES, heic_bytes, zip_bytes

pytestmark = pytest.mark.usefixtures("clinic_files")


def _auth(seeded, role):
    return bearer(make_token(seeded, seeded.users[role]))


def test_upload_list_read_and_download_with_a_token(clinic_a, client_for):
    patient = make_patient(clinic_a)
    auth = _auth(clinic_a, "nurse")
    client = client_for(clinic_a)
    created = client.post(
        f"/api/v1/patients/{patient.pk}/documents",
        {"file": SimpleUploadedFile("IMG_7.HEIC", heic_bytes()), "title": "Rash", "category": "image"},
        **auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["content_type"] == "image/heic" and body["category"] == "image" and body["title"] == "Rash"
    assert body["download_url"] == f"/api/v1/documents/{body['id']}/download"

    listed = client.get(f"/api/v1/patients/{patient.pk}/documents", **auth).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert client.get(f"/api/v1/patients/{patient.pk}/documents?category=report", **auth).json()["count"] == 0

    assert client.get(f"/api/v1/documents/{body['id']}", **auth).json()["sha256"] == body["sha256"]
    download = client.get(body["download_url"], **auth)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == heic_bytes()
    assert download["Content-Disposition"] == 'attachment; filename="rash.heic"'
    assert download["X-Content-Type-Options"] == "nosniff"
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="document.download", object_id=body["id"]).count() == 1


def test_zip_posing_as_pdf_gets_a_field_error(clinic_a, client_for):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a).post(
        f"/api/v1/patients/{patient.pk}/documents",
        {"file": SimpleUploadedFile("report.pdf", zip_bytes())},
        **_auth(clinic_a, "doctor"),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["file"][0].startswith("This file is a ZIP archive")


def test_front_desk_token_uploads_but_cannot_list_or_download(clinic_a, client_for):
    patient = make_patient(clinic_a)
    auth = _auth(clinic_a, "front_desk")
    client = client_for(clinic_a)
    created = client.post(
        f"/api/v1/patients/{patient.pk}/documents", {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)}, **auth
    )
    assert created.status_code == 201
    assert client.get(f"/api/v1/patients/{patient.pk}/documents", **auth).status_code == 403
    assert client.get(f"/api/v1/documents/{created.json()['id']}/download", **auth).status_code == 403


def test_another_clinics_ids_are_404(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    doc_id = (
        client_for(clinic_a)
        .post(
            f"/api/v1/patients/{patient.pk}/documents",
            {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)},
            **_auth(clinic_a, "doctor"),
        )
        .json()["id"]
    )
    other = _auth(clinic_b, "owner")
    client = client_for(clinic_b)
    assert client.get(f"/api/v1/documents/{doc_id}", **other).status_code == 404
    assert client.get(f"/api/v1/documents/{doc_id}/download", **other).status_code == 404
    assert client.get(f"/api/v1/patients/{patient.pk}/documents", **other).status_code == 404


def test_documents_cannot_be_changed_or_deleted(clinic_a, client_for):
    patient = make_patient(clinic_a)
    auth = _auth(clinic_a, "owner")
    client = client_for(clinic_a)
    doc_id = client.post(
        f"/api/v1/patients/{patient.pk}/documents", {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)}, **auth
    ).json()["id"]
    for method in (client.patch, client.put, client.delete):
        assert method(f"/api/v1/documents/{doc_id}", **auth).status_code == 405


def test_download_after_the_key_is_destroyed_answers_410(clinic_a, client_for):
    patient = make_patient(clinic_a)
    auth = _auth(clinic_a, "doctor")
    client = client_for(clinic_a)
    doc_id = client.post(
        f"/api/v1/patients/{patient.pk}/documents", {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)}, **auth
    ).json()["id"]
    clinic_destroy_data_key(clinic=Clinic.objects.get(pk=clinic_a.clinic.pk))
    response = client.get(f"/api/v1/documents/{doc_id}/download", **auth)
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "file_unavailable"
    assert "encryption key was destroyed" in error["message"]


def test_documents_consents_and_certificates_are_in_the_api_schema(clinic_a, client_for):
    schema = client_for(clinic_a).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/patients/{id}/documents",
        "/api/v1/documents/{id}",
        "/api/v1/documents/{id}/download",
        "/api/v1/consents",
        "/api/v1/consents/{id}/pdf",
        "/api/v1/consent-templates",
        "/api/v1/certificates",
        "/api/v1/certificates/{id}/pdf",
        "/api/v1/certificate-templates",
    ):
        assert path in schema["paths"], path
    upload = schema["paths"]["/api/v1/patients/{id}/documents"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "410" in schema["paths"]["/api/v1/documents/{id}/download"]["get"]["responses"]
    assert "application/pdf" in schema["paths"]["/api/v1/consents/{id}/pdf"]["get"]["responses"]["200"]["content"]
    assert {"ConsentKindEnum", "CertificateKindEnum"} <= set(schema["components"]["schemas"])
