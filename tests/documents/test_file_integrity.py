"""Every stored file is checked against its recorded SHA-256 on read: uploads, every signed PDF, imports.

Each kind of file is altered three ways: its object overwritten with other bytes (fails the
ciphertext's authentication), re-encrypted with other content under the same name (a valid
ciphertext: only the recorded hash catches it), and its row pointed at another row's file (also
a valid ciphertext). Each read is refused with the same "altered" error, on the page and in the
API, and the refusal is audited as `file.integrity_failed`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinical import services as clinical
from clinical.models import Prescription
from docos import crypto, storage
from documents import consents
from documents import services as documents
from documents.models import Certificate, ConsentForm, PatientDocument
from patients import importer
from patients.models import PatientImport
from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import (  # noqa: F401  (clinic_files is a fixture)
    clinic_files,
    make_patient,
    signed_prescription,
    signing_doctor,
    staff,
)
from tests.documents.documents_helpers import PDF_BYTES, SIGNATURE, consent_template
from tests.patients.import_helpers import GOOD_ROWS, csv_bytes

pytestmark = pytest.mark.usefixtures("clinic_files")

TODAY = timezone.localdate()


@dataclass(frozen=True)
class Kind:
    """One kind of stored file: how to make one, the row that records it, and how a user reads it."""

    make: Callable[[Any], models.Model]  # the owning object (document, prescription, consent, ...)
    file_row: Callable[[models.Model], models.Model]  # the row with storage_name and sha256
    read: Callable[[Any, models.Model], bytes]  # the service a page or the API calls
    reader: str  # the role that reads it
    download_action: str  # the audit action of a successful read ("" when reads are not audited)
    page: Callable[[models.Model], str]
    api: Callable[[models.Model], str] | None


def _upload(seeded: Any) -> models.Model:
    with tenant_context(seeded.clinic):
        return documents.document_upload(
            patient=make_patient(seeded),
            actor=staff(seeded, "doctor"),
            file=SimpleUploadedFile("cbc.pdf", PDF_BYTES + f"% {uuid.uuid4()}\n".encode()),  # each file its own
            title="CBC report",
        )


def _read_upload(seeded: Any, document: models.Model) -> bytes:
    return documents.document_read(document=PatientDocument.objects.get(pk=document.pk), actor=staff(seeded, "doctor"))


def _prescription(seeded: Any) -> models.Model:
    return signed_prescription(seeded, make_patient(seeded))


def _read_prescription(seeded: Any, prescription: models.Model) -> bytes:
    return clinical.prescription_pdf_read(
        prescription=Prescription.objects.get(pk=prescription.pk), actor=signing_doctor(seeded)
    )


def _consent(seeded: Any) -> models.Model:
    template = consent_template(seeded)
    with tenant_context(seeded.clinic):
        return consents.consent_sign(
            patient=make_patient(seeded),
            template=template,
            actor=staff(seeded, "nurse"),
            signature=SIGNATURE,
            procedure="Excision of sebaceous cyst",
        )


def _read_consent(seeded: Any, consent: models.Model) -> bytes:
    return consents.consent_pdf_read(consent=ConsentForm.objects.get(pk=consent.pk), actor=staff(seeded, "nurse"))


def _certificate(seeded: Any) -> models.Model:
    patient = make_patient(seeded)
    doctor = signing_doctor(seeded)
    with tenant_context(seeded.clinic):
        return consents.certificate_sign(
            patient=patient,
            actor=doctor,
            kind="fitness",
            body="Fit to resume work from {{ from_date }}.",
            from_date=TODAY,
        )


def _read_certificate(seeded: Any, certificate: models.Model) -> bytes:
    return consents.certificate_pdf_read(
        certificate=Certificate.objects.get(pk=certificate.pk), actor=signing_doctor(seeded)
    )


def _unique(rows: list[list[str]]) -> list[list[str]]:
    first, *rest = rows
    return [[f"OLD-{uuid.uuid4().hex[:8]}", *first[1:]], *rest]  # each file its own "Patient ID"


def _import(seeded: Any) -> models.Model:
    owner = staff(seeded, "owner")
    with tenant_context(seeded.clinic):
        return importer.patient_import_upload(
            actor=owner,
            data=csv_bytes(_unique(GOOD_ROWS)),
            original_name="old-system.csv",
            location=seeded.locations[0],
        )


def _read_import(seeded: Any, patient_import: models.Model) -> bytes:
    parsed = importer.import_rows(PatientImport.objects.get(pk=patient_import.pk), actor=staff(seeded, "owner"))
    return repr(parsed.rows).encode()


def _same(obj: models.Model) -> models.Model:
    return obj


def _document_of(obj: models.Model) -> models.Model:
    return obj.document


KINDS = {
    "upload": Kind(
        _upload,
        _same,
        _read_upload,
        "doctor",
        "document.download",
        lambda d: f"/documents/{d.pk}/download",
        lambda d: f"/api/v1/documents/{d.pk}/download",
    ),
    "prescription": Kind(
        _prescription,
        _document_of,
        _read_prescription,
        "doctor",
        "prescription.download",
        lambda p: f"/prescriptions/{p.pk}/pdf",
        lambda p: f"/api/v1/prescriptions/{p.pk}/pdf",
    ),
    "consent": Kind(
        _consent,
        _document_of,
        _read_consent,
        "nurse",
        "consent.download",
        lambda c: f"/consents/{c.pk}/pdf",
        lambda c: f"/api/v1/consents/{c.pk}/pdf",
    ),
    "certificate": Kind(
        _certificate,
        _document_of,
        _read_certificate,
        "doctor",
        "certificate.download",
        lambda c: f"/certificates/{c.pk}/pdf",
        lambda c: f"/api/v1/certificates/{c.pk}/pdf",
    ),
    "import": Kind(_import, _same, _read_import, "owner", "", lambda i: f"/patients/import/{i.pk}/", None),
}


# --- ways to alter a stored file (each runs inside the clinic's schema) -----------------------------------


def _overwrite(name: str, blob: bytes) -> None:
    files = storage.file_storage()
    files.delete(name)
    assert files.save(name, ContentFile(blob)) == name


def other_bytes(seeded: Any, row: models.Model, other: models.Model) -> str:
    raw = storage.read_raw(row.storage_name)
    _overwrite(row.storage_name, raw[:5] + os.urandom(len(raw) - 5))
    return "ciphertext"


def reencrypted(seeded: Any, row: models.Model, other: models.Model) -> str:
    name = row.storage_name
    _overwrite(name, crypto.encrypt_file(seeded.clinic, b"%PDF-1.4 some other document\n", name))
    return "checksum"


def pointed_at_another_rows_file(seeded: Any, row: models.Model, other: models.Model) -> str:
    type(row).objects.filter(pk=row.pk).update(storage_name=other.storage_name)
    return "checksum"


TAMPERS = {"other_bytes": other_bytes, "reencrypted": reencrypted, "pointed": pointed_at_another_rows_file}


def _altered(seeded: Any, kind: Kind, tamper: str = "reencrypted") -> tuple[models.Model, models.Model, str]:
    """A fresh file of `kind`, altered by `tamper`: (owning object, file row, the check that should catch it)."""
    obj, other = kind.make(seeded), kind.make(seeded)
    row = kind.file_row(obj)
    with tenant_context(seeded.clinic):
        check = TAMPERS[tamper](seeded, row, kind.file_row(other))
    return obj, row, check


def _integrity_events(seeded: Any, row: models.Model) -> list[AuditEvent]:
    with tenant_context(seeded.clinic):
        return list(AuditEvent.objects.filter(action="file.integrity_failed", object_id=str(row.pk)).order_by("seq"))


def _downloads(seeded: Any, kind: Kind, row: models.Model) -> int:
    with tenant_context(seeded.clinic):
        return AuditEvent.objects.filter(action=kind.download_action, object_id=str(row.pk)).count()


# --- the service reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind_name", KINDS)
def test_an_untouched_file_reads_back(clinic_a, kind_name):
    kind = KINDS[kind_name]
    obj = kind.make(clinic_a)
    with tenant_context(clinic_a.clinic):
        data = kind.read(clinic_a, obj)
    assert data.startswith(b"%PDF") or b"Lakshmi Iyer" in data
    assert not _integrity_events(clinic_a, kind.file_row(obj))


@pytest.mark.parametrize("tamper", TAMPERS)
@pytest.mark.parametrize("kind_name", KINDS)
def test_an_altered_file_is_refused_and_the_refusal_is_audited(clinic_a, kind_name, tamper):
    kind = KINDS[kind_name]
    obj, row, check = _altered(clinic_a, kind, tamper)
    with tenant_context(clinic_a.clinic), pytest.raises(storage.FileAltered) as refused:
        kind.read(clinic_a, obj)
    assert refused.value.reason == "altered"
    assert refused.value.check == check
    assert str(refused.value) == storage.ALTERED_MESSAGE
    (event,) = _integrity_events(clinic_a, row)
    reader = clinic_a.users[kind.reader]
    assert (event.object_type, event.actor_id) == (row._meta.label_lower, reader.pk)
    assert event.metadata["check"] == check
    assert event.location_id == row.location_id
    if kind.download_action:
        assert _downloads(clinic_a, kind, row) == 0


def test_an_import_whose_file_was_altered_fails_and_is_audited(clinic_a):
    obj, row, _ = _altered(clinic_a, KINDS["import"])
    with tenant_context(clinic_a.clinic):
        PatientImport.objects.filter(pk=obj.pk).update(status=PatientImport.Status.RUNNING)
        with pytest.raises(storage.FileAltered):
            importer.patient_import_run(import_id=obj.pk)
        status = PatientImport.objects.get(pk=obj.pk).status
        imported = PatientImport.objects.get(pk=obj.pk).created_count
    (event,) = _integrity_events(clinic_a, row)
    assert status == PatientImport.Status.FAILED and imported == 0
    assert event.actor_id is None  # the worker read it


def test_setting_the_mapping_of_an_altered_import_is_refused_and_audited(clinic_a):
    obj, row, _ = _altered(clinic_a, KINDS["import"])
    with tenant_context(clinic_a.clinic), pytest.raises(storage.FileAltered):
        importer.patient_import_set_mapping(
            patient_import=PatientImport.objects.get(pk=obj.pk),
            mapping={"Name": "full_name"},
            actor=staff(clinic_a, "owner"),
        )
    assert len(_integrity_events(clinic_a, row)) == 1


# --- what the user sees ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind_name", KINDS)
def test_the_page_refuses_an_altered_file_with_a_clear_message(clinic_a, client_for, kind_name):
    kind = KINDS[kind_name]
    obj, row, _ = _altered(clinic_a, kind)
    response = client_for(clinic_a, kind.reader).get(kind.page(obj))
    assert response.status_code == 410
    assert storage.ALTERED_MESSAGE.replace("'", "&#x27;") in response.content.decode()
    assert len(_integrity_events(clinic_a, row)) == 1


@pytest.mark.parametrize("kind_name", [name for name, kind in KINDS.items() if kind.api is not None])
def test_the_api_refuses_an_altered_file_with_410(clinic_a, client_for, kind_name):
    kind = KINDS[kind_name]
    assert kind.api is not None
    obj, row, _ = _altered(clinic_a, kind)
    auth = bearer(make_token(clinic_a, clinic_a.users[kind.reader]))
    response = client_for(clinic_a).get(kind.api(obj), **auth)
    assert response.status_code == 410
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("file_unavailable", storage.ALTERED_MESSAGE)
    assert len(_integrity_events(clinic_a, row)) == 1


def test_a_checksum_mismatch_is_caught_by_read_verified_itself(clinic_a):
    with tenant_context(clinic_a.clinic):
        stored = storage.store_encrypted(clinic_a.clinic, data=PDF_BYTES, folder="documents", suffix=".pdf")
        assert storage.read_verified(clinic_a.clinic, name=stored.name, sha256=stored.sha256.upper()) == PDF_BYTES
        for wrong in ("0" * 64, "", stored.sha256[:-1] + ("0" if stored.sha256[-1] != "0" else "1")):
            with pytest.raises(storage.FileAltered) as refused:
                storage.read_verified(clinic_a.clinic, name=stored.name, sha256=wrong)
            assert refused.value.check == "checksum"
