"""Document pages: who may upload, list and download; downloads stream, are audited and fail clearly
once the clinic's data key is destroyed; other clinics' and locations' documents are 404."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinics.models import Clinic
from clinics.services import clinic_destroy_data_key
from documents import services as documents
from documents.models import PatientDocument
from tests.clinical.clinical_helpers import clinic_files, make_patient, restrict, staff  # noqa: F401
from tests.documents.documents_helpers import PDF_BYTES, jpeg_bytes, zip_bytes

pytestmark = pytest.mark.usefixtures("clinic_files")


def _document(seeded, patient, *, data=PDF_BYTES, name="cbc.pdf", location=0, **kwargs) -> PatientDocument:
    with tenant_context(seeded.clinic):
        return documents.document_upload(
            patient=patient,
            actor=staff(seeded, "owner"),
            file=SimpleUploadedFile(name, data),
            location=seeded.locations[location],
            **kwargs,
        )


def test_front_desk_uploads_but_cannot_list_or_download(clinic_a, client_for):
    patient = make_patient(clinic_a)
    web = client_for(clinic_a, "front_desk")

    page = web.get(f"/patients/{patient.pk}/documents/upload")
    assert page.status_code == 200
    response = web.post(
        f"/patients/{patient.pk}/documents/upload",
        {"file": SimpleUploadedFile("referral.pdf", PDF_BYTES), "title": "Referral", "category": "referral"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/documents/upload"  # not the list it cannot see
    with tenant_context(clinic_a.clinic):
        document = PatientDocument.objects.get(patient=patient)
    assert document.uploaded_by_id == clinic_a.users["front_desk"].pk

    assert web.get(f"/patients/{patient.pk}/documents").status_code == 403
    assert web.get(f"/documents/{document.pk}/").status_code == 403
    assert web.get(f"/documents/{document.pk}/download").status_code == 403


@pytest.mark.parametrize("role", ["pharmacist", "no_role"])
def test_roles_without_documents_upload_get_403_on_the_upload_page(clinic_a, client_for, role):
    patient = make_patient(clinic_a)
    assert client_for(clinic_a, role).get(f"/patients/{patient.pk}/documents/upload").status_code == 403


def test_doctor_lists_and_downloads_a_streamed_attachment_and_the_download_is_audited(clinic_a, client_for):
    patient = make_patient(clinic_a)
    document = _document(clinic_a, patient, data=jpeg_bytes(), name="IMG.jpg", title="Wound, day 3", category="image")
    web = client_for(clinic_a, "doctor")

    listing = web.get(f"/patients/{patient.pk}/documents")
    assert listing.status_code == 200
    assert "Wound, day 3" in listing.content.decode()

    response = web.get(f"/documents/{document.pk}/download")
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == jpeg_bytes()
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'attachment; filename="wound-day-3.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(jpeg_bytes()))
    assert "no-store" in response["Cache-Control"]

    with tenant_context(clinic_a.clinic):
        event = AuditEvent.objects.get(action="document.download", object_id=str(document.pk))
    assert event.actor_id == clinic_a.users["doctor"].pk
    assert event.metadata == {"patient": str(patient.pk), "content_type": "image/jpeg", "size": len(jpeg_bytes())}


def test_large_download_is_sent_in_chunks(clinic_a, client_for):
    patient = make_patient(clinic_a)
    big = PDF_BYTES + b"%" + b"x" * (300 * 1024)
    document = _document(clinic_a, patient, data=big)
    response = client_for(clinic_a, "nurse").get(f"/documents/{document.pk}/download")
    chunks = list(response.streaming_content)
    assert len(chunks) > 1 and max(len(chunk) for chunk in chunks) <= 64 * 1024
    assert b"".join(chunks) == big


def test_another_clinics_document_and_patient_are_404(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    document = _document(clinic_a, patient)
    web = client_for(clinic_b, "owner")
    assert web.get(f"/documents/{document.pk}/").status_code == 404
    assert web.get(f"/documents/{document.pk}/download").status_code == 404
    assert web.get(f"/patients/{patient.pk}/documents").status_code == 404
    assert web.get(f"/patients/{patient.pk}/documents/upload").status_code == 404


def test_documents_filed_at_another_location_are_404_for_restricted_staff(clinic_a, client_for):
    patient = make_patient(clinic_a)
    here = _document(clinic_a, patient, location=0, title="Here")
    there = _document(clinic_a, patient, location=1, title="There")
    restrict(clinic_a, "nurse", 0)
    web = client_for(clinic_a, "nurse")
    assert web.get(f"/documents/{there.pk}/download").status_code == 404
    assert web.get(f"/documents/{here.pk}/download").status_code == 200
    listing = web.get(f"/patients/{patient.pk}/documents").content.decode()
    assert "Here" in listing and "There" not in listing


def test_after_crypto_shredding_the_download_fails_with_a_clear_error(clinic_a, client_for):
    patient = make_patient(clinic_a)
    document = _document(clinic_a, patient)
    clinic_destroy_data_key(clinic=Clinic.objects.get(pk=clinic_a.clinic.pk))

    response = client_for(clinic_a, "doctor").get(f"/documents/{document.pk}/download")
    assert response.status_code == 410
    page = response.content.decode()
    assert "encryption key was destroyed" in page and "can no longer be opened" in page
    with tenant_context(clinic_a.clinic):
        assert not AuditEvent.objects.filter(action="document.download").exists()


def test_upload_page_shows_the_type_error_next_to_the_file(clinic_a, client_for):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "nurse").post(
        f"/patients/{patient.pk}/documents/upload", {"file": SimpleUploadedFile("report.pdf", zip_bytes())}
    )
    assert response.status_code == 400
    assert "This file is a ZIP archive" in response.content.decode()
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_upload_page_states_the_size_limit_and_refuses_larger_files(clinic_a, client_for, settings):
    settings.DOCOS_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    patient = make_patient(clinic_a)
    web = client_for(clinic_a, "nurse")
    assert "Up to 2 MB" in web.get(f"/patients/{patient.pk}/documents/upload").content.decode()
    big = SimpleUploadedFile("scan.pdf", PDF_BYTES + b"0" * (3 * 1024 * 1024))
    response = web.post(f"/patients/{patient.pk}/documents/upload", {"file": big})
    assert response.status_code == 400
    assert "the limit is 2 MB" in response.content.decode()


def test_empty_document_list_says_so(clinic_a, client_for):
    patient = make_patient(clinic_a)
    page = client_for(clinic_a, "doctor").get(f"/patients/{patient.pk}/documents").content.decode()
    assert "No documents for Asha Verma yet." in page


def test_document_pages_have_no_inline_script_or_style(clinic_a, client_for):
    patient = make_patient(clinic_a)
    document = _document(clinic_a, patient)
    web = client_for(clinic_a, "owner")
    for url in (
        f"/patients/{patient.pk}/documents",
        f"/patients/{patient.pk}/documents/upload",
        f"/documents/{document.pk}/",
    ):
        html = web.get(url).content.decode()
        assert "<style" not in html and " style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "csrfmiddlewaretoken" in html or '<form method="post"' not in html, url


def test_patient_chart_links_to_documents_consents_and_certificates_by_capability(clinic_a, client_for):
    patient = make_patient(clinic_a)
    doctor = client_for(clinic_a, "doctor").get(f"/patients/{patient.pk}/").content.decode()
    assert f"/patients/{patient.pk}/documents" in doctor
    assert f"/patients/{patient.pk}/consents" in doctor
    assert f"/patients/{patient.pk}/certificates/new" in doctor
    desk = client_for(clinic_a, "front_desk").get(f"/patients/{patient.pk}/").content.decode()
    assert f"/patients/{patient.pk}/documents/upload" in desk
    assert f'/patients/{patient.pk}/documents"' not in desk and "/consents" not in desk
