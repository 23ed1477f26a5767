"""Uploading documents: the type comes from the bytes, the size is bounded, the file is encrypted at rest."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from docos import storage
from documents import services as documents
from documents.models import PatientDocument
from tests.clinical.clinical_helpers import clinic_files, make_patient, restrict, staff  # noqa: F401
from tests.documents.documents_helpers import (
    PDF_BYTES,
    exe_bytes,
    heic_bytes,
    jpeg_bytes,
    png_bytes,
    zip_bytes,
)

pytestmark = pytest.mark.usefixtures("clinic_files")


def _upload(seeded, patient, data, name, role="nurse", **kwargs):
    with tenant_context(seeded.clinic):
        return documents.document_upload(
            patient=patient, actor=staff(seeded, role), file=SimpleUploadedFile(name, data), **kwargs
        )


def _file_error(excinfo) -> str:
    return " ".join(excinfo.value.message_dict["file"])


@pytest.mark.parametrize(
    ("data", "name", "content_type", "extension"),
    [
        (PDF_BYTES, "discharge.pdf", "application/pdf", ".pdf.enc"),
        (jpeg_bytes(), "wound.jpeg", "image/jpeg", ".jpg.enc"),
        (png_bytes(), "xray.png", "image/png", ".png.enc"),
        (heic_bytes(), "IMG_0042.HEIC", "image/heic", ".heic.enc"),
    ],
)
def test_pdf_jpeg_png_and_heic_are_accepted(clinic_a, data, name, content_type, extension):
    patient = make_patient(clinic_a)
    document = _upload(clinic_a, patient, data, name)
    assert document.content_type == content_type
    assert document.storage_name.endswith(extension)
    assert document.size == len(data) and document.original_name == name


@pytest.mark.parametrize(
    "data",
    [
        heic_bytes(),
        heic_bytes(major=b"heix", compatible=b"mif1heix"),
        heic_bytes(major=b"mif1", compatible=b"mif1heic"),
    ],
    ids=["heic", "heix-10-bit", "mif1-with-heic-brand"],
)
def test_heic_is_recognised_by_its_content_whatever_the_name(clinic_a, data):
    patient = make_patient(clinic_a)
    document = _upload(clinic_a, patient, data, "photo-from-whatsapp.bin", title="Rash photo")
    assert document.content_type == "image/heic"


def test_pdf_named_file_that_is_really_a_zip_is_refused_with_a_clear_message(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, patient, zip_bytes(), "report.pdf")
    assert _file_error(caught) == (
        "This file is a ZIP archive (its name ends in .pdf, but its contents are not a PDF); "
        "upload a PDF, JPEG, PNG or HEIC file."
    )


def test_pdf_named_program_is_refused(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, patient, exe_bytes(), "lab-report.pdf")
    assert _file_error(caught).startswith("This file is a Windows program (EXE) (its name ends in .pdf")


def test_avif_with_a_heif_container_is_not_taken_for_heic(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, patient, heic_bytes(major=b"avif", compatible=b"mif1avif"), "photo.heic")
    assert "AVIF image" in _file_error(caught)


def test_unrecognisable_contents_are_refused(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, patient, b"name,phone\nAsha,98100\n", "patients.csv")
    assert _file_error(caught) == (
        "We could not recognise this file's type from its contents; upload a PDF, JPEG, PNG or HEIC file."
    )


def test_nothing_is_stored_when_an_upload_is_refused(clinic_a):
    patient = make_patient(clinic_a)
    before = len(storage.file_storage()._files) if hasattr(storage.file_storage(), "_files") else None
    with pytest.raises(ValidationError):
        _upload(clinic_a, patient, zip_bytes(), "report.pdf")
    with tenant_context(clinic_a.clinic):
        assert not PatientDocument.objects.filter(patient=patient).exists()
    if before is not None:
        assert len(storage.file_storage()._files) == before


def test_size_limit_comes_from_settings_and_is_checked_before_reading(clinic_a, settings):
    settings.DOCOS_UPLOAD_MAX_BYTES = 1024 * 1024
    patient = make_patient(clinic_a)
    big = PDF_BYTES + b"%" + b"0" * (1536 * 1024)
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, patient, big, "scan.pdf")
    assert _file_error(caught) == f"This file is {documents.human_size(len(big))}; the limit is 1 MB."
    assert caught.value.error_dict["file"][0].code == "file_size"

    class Unsized(io.BytesIO):
        name = "scan.pdf"

    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError) as caught:
        documents.document_upload(patient=patient, actor=staff(clinic_a, "nurse"), file=Unsized(big))
    assert _file_error(caught) == "This file is larger than 1 MB, the limit for one upload."

    exactly = PDF_BYTES + b"%" * (1024 * 1024 - len(PDF_BYTES))
    assert _upload(clinic_a, patient, exactly, "scan.pdf").size == 1024 * 1024


def test_empty_file_is_refused(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError) as caught:
        documents.document_upload(patient=patient, actor=staff(clinic_a, "nurse"), file=b"")
    assert _file_error(caught) == "This file is empty. Choose the file again."


def test_file_is_encrypted_at_rest_and_reads_back(clinic_a):
    patient = make_patient(clinic_a)
    image = png_bytes()
    document = _upload(clinic_a, patient, image, "scan.png")
    raw = storage.read_raw(document.storage_name)
    assert raw.startswith(b"DOCF2" + patient.pk.bytes)  # under the patient's own key
    assert b"\x89PNG" not in raw and b"IHDR" not in raw
    with tenant_context(clinic_a.clinic):
        assert documents.document_read(document=document, actor=staff(clinic_a, "doctor")) == image


def test_title_defaults_to_the_file_name_and_names_are_cleaned(clinic_a):
    patient = make_patient(clinic_a)
    document = _upload(clinic_a, patient, PDF_BYTES, "C:\\Users\\scan\\CBC_report_march.pdf")
    assert document.title == "CBC report march"
    assert document.original_name == "CBC_report_march.pdf"


def test_upload_is_audited_without_names_or_contents(clinic_a):
    patient = make_patient(clinic_a)
    document = _upload(clinic_a, patient, PDF_BYTES, "hiv-test-result.pdf", title="HIV test result")
    with tenant_context(clinic_a.clinic):
        event = AuditEvent.objects.get(action="document.upload", object_id=str(document.pk))
    assert event.metadata == {
        "patient": str(patient.pk),
        "category": "report",
        "content_type": "application/pdf",
        "size": len(PDF_BYTES),
    }
    assert "HIV" not in str(event.metadata) and "hiv" not in str(event.metadata)


def test_roles_without_documents_upload_cannot_upload(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(PermissionDenied):
        _upload(clinic_a, patient, PDF_BYTES, "a.pdf", role="pharmacist")


def test_staff_restricted_to_one_location_cannot_file_at_another(clinic_a):
    patient = make_patient(clinic_a)
    restrict(clinic_a, "nurse", 0)
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, patient, PDF_BYTES, "a.pdf", location=clinic_a.locations[1])
    assert caught.value.message_dict["location"] == [f"You do not work at {clinic_a.locations[1].name}."]


def test_merged_patient_records_take_no_uploads(clinic_a):
    survivor = make_patient(clinic_a)
    merged = make_patient(clinic_a, merged_into=survivor, is_active=False)
    with pytest.raises(ValidationError, match="merged into another"):
        _upload(clinic_a, merged, PDF_BYTES, "a.pdf")


def test_download_name_is_a_safe_slug_with_the_real_extension(clinic_a):
    patient = make_patient(clinic_a)
    document = _upload(clinic_a, patient, heic_bytes(), "x.pdf", title='Report "final"\r\n<script>.exe')
    assert documents.download_name(document) == "report-final-scriptexe.heic"
