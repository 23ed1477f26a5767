"""Patient documents: uploaded reports and images, encrypted before they reach storage.

Rules kept here, whatever the caller (HTML view, API, demo seed):
- only PDF, JPEG, PNG and HEIC files are accepted, and the type is read from the file's bytes
  (magic numbers, via `filetype`), never from its name or the browser's claimed content type;
- files larger than settings.DOCOS_UPLOAD_MAX_BYTES (25 MB by default) are refused before they
  are read into memory; empty files are refused;
- the bytes are encrypted with the clinic's data key (docos.storage) and only the ciphertext is
  stored; the row keeps the plaintext's SHA-256, which every read checks again;
- `documents.upload` uploads and `documents.view` reads; each upload and each download is audited
  (category, type and size; never the title, the file name or the contents).
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from typing import IO, Any

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.guards import require_capability
from accounts.models import Location, User
from accounts.selectors import locations_for, user_can_access_location
from audit.context import AuditContext
from audit.services import audit_record
from docos.storage import delete_stored, store_encrypted
from documents.models import PatientDocument
from documents.signing import current_clinic
from patients.access import patient_check_writable
from patients.files import stored_file_read
from patients.models import Patient

ACCEPTED_TEXT = "a PDF, JPEG, PNG or HEIC"
TITLE_MAX = 200
NAME_MAX = 200


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str
    label: str


ACCEPTED: dict[str, FileKind] = {
    kind.content_type: kind
    for kind in (
        FileKind("application/pdf", "pdf", "PDF"),
        FileKind("image/jpeg", "jpg", "JPEG image"),
        FileKind("image/png", "png", "PNG image"),
        FileKind("image/heic", "heic", "HEIC photo"),
    )
}
# What people call the files we refuse, so the message says what was actually chosen.
REFUSED_LABELS = {
    "application/zip": "a ZIP archive",
    "application/x-rar-compressed": "a RAR archive",
    "application/x-7z-compressed": "a 7-Zip archive",
    "application/gzip": "a GZIP archive",
    "application/x-tar": "a TAR archive",
    "application/x-msdownload": "a Windows program (EXE)",
    "application/x-executable": "a program (ELF executable)",
    "application/x-shockwave-flash": "a Flash file",
    "application/msword": "a Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a Word document",
    "application/vnd.ms-excel": "an Excel spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "an Excel spreadsheet",
    "application/vnd.ms-powerpoint": "a PowerPoint presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "a PowerPoint presentation",
    "application/rtf": "an RTF document",
    "application/postscript": "a PostScript file",
    "application/dicom": "a DICOM image (upload it to imaging instead)",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "image/tiff": "a TIFF image",
    "image/bmp": "a BMP image",
    "image/avif": "an AVIF image",
    "image/vnd.adobe.photoshop": "a Photoshop file",
}
# HEIC photos are ISO-BMFF files whose `ftyp` box names an HEVC image brand (iPhones write "heic";
# 10-bit and burst photos use "heix", "heim", "heis", "hevc", "hevx"); some write the generic
# "mif1"/"msf1" as major brand and list an HEVC brand as compatible. (AVIF uses "avif"; refused.)
HEIC_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx"})
GENERIC_HEIF_BRANDS = frozenset({"mif1", "msf1"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def max_upload_bytes() -> int:
    return int(getattr(settings, "DOCOS_UPLOAD_MAX_BYTES", 25 * 1024 * 1024))


def _heic_brand(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16 or box_size > 4096:
        return False
    box = head[8 : min(box_size, len(head))]
    major = box[0:4].decode("latin-1")
    compatible = {box[i : i + 4].decode("latin-1") for i in range(8, len(box) - 3, 4)}
    return major in HEIC_BRANDS or (major in GENERIC_HEIF_BRANDS and bool(compatible & HEIC_BRANDS))


def detect_kind(data: bytes) -> FileKind | None:
    """The accepted kind of `data`, judged by its bytes only; None if it is not one we accept."""
    head = data[:8192]
    if _heic_brand(head):
        return ACCEPTED["image/heic"]
    guess = filetype.guess(head)
    if guess is None:
        return None
    return ACCEPTED.get(guess.mime)


def _refusal(data: bytes, name: str) -> str:
    guess = filetype.guess(data[:8192])
    if guess is None:
        what = "We could not recognise this file's type from its contents"
    else:
        what = "This file is " + REFUSED_LABELS.get(guess.mime, f"a {guess.extension.upper()} file")
    extension = os.path.splitext(name)[1].lower().lstrip(".")
    claimed = {"pdf": "a PDF", "jpg": "a JPEG", "jpeg": "a JPEG", "png": "a PNG", "heic": "a HEIC"}.get(extension)
    note = f" (its name ends in .{extension}, but its contents are not {claimed})" if claimed else ""
    return f"{what}{note}; upload {ACCEPTED_TEXT} file."


def clean_file_name(name: str) -> str:
    """The file's own name without folders or control characters (kept for display only)."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = _CONTROL.sub("", unicodedata.normalize("NFC", base)).strip()
    if len(base) > NAME_MAX:
        stem, extension = os.path.splitext(base)
        base = stem[: NAME_MAX - len(extension)] + extension
    return base


def read_upload(file: Any) -> tuple[bytes, str]:
    """The bytes and file name of an uploaded file (Django UploadedFile, a file object, or bytes),
    refusing anything over the size limit before reading it into memory."""
    limit = max_upload_bytes()
    name = clean_file_name(str(getattr(file, "name", "") or ""))
    if isinstance(file, bytes | bytearray):
        data = bytes(file)
    else:
        size = getattr(file, "size", None)
        if isinstance(size, int) and size > limit:
            raise ValidationError(
                {
                    "file": ValidationError(
                        f"This file is {human_size(size)}; the limit is {human_size(limit)}.", code="file_size"
                    )
                }
            )
        if hasattr(file, "seek"):
            file.seek(0)
        stream: IO[bytes] = file
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(
            {
                "file": ValidationError(
                    f"This file is larger than {human_size(limit)}, the limit for one upload.", code="file_size"
                )
            }
        )
    if not data:
        raise ValidationError({"file": ValidationError("This file is empty. Choose the file again.", code="empty")})
    return data, name


def check_file(data: bytes, name: str) -> FileKind:
    kind = detect_kind(data)
    if kind is None:
        raise ValidationError({"file": ValidationError(_refusal(data, name), code="file_type")})
    return kind


def default_location(actor: User, patient: Patient) -> Location | None:
    """The patient's registration location if the actor works there, else the actor's first location."""
    mine = locations_for(actor)
    return mine.filter(pk=patient.registered_location_id).first() or mine.first()


def _title_from(name: str) -> str:
    stem = os.path.splitext(name)[0]
    return " ".join(re.sub(r"[_]+", " ", stem).split())[:TITLE_MAX]


@transaction.atomic
def document_upload(
    *,
    patient: Patient,
    actor: User,
    file: Any,
    title: str = "",
    category: str = PatientDocument.Category.REPORT,
    location: Location | None = None,
    context: AuditContext | None = None,
) -> PatientDocument:
    """Check, encrypt and store an uploaded file for `patient`. Raises ValidationError with a
    message per field ("file", "title", "category", "location")."""
    require_capability(actor, "documents.upload", "upload documents")
    patient_check_writable(actor=actor, patient=patient)
    if location is None:
        location = default_location(actor, patient)
    errors: dict[str, list[Any]] = {}
    if location is None or not location.is_active:
        errors["location"] = ["Choose an active location."]
    elif not user_can_access_location(actor, location):
        errors["location"] = [f"You do not work at {location.name}."]
    if category not in PatientDocument.Category.values:
        errors["category"] = [f"Choose one of: {', '.join(PatientDocument.Category.labels)}."]
    data = b""
    name = ""
    kind: FileKind | None = None
    try:
        data, name = read_upload(file)
        kind = check_file(data, name)
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)
    clean_title = " ".join((title or "").split()) or _title_from(name)
    if not clean_title:
        errors.setdefault("title", []).append("Give the document a title, e.g. \u201cCBC report, March\u201d.")
    elif len(clean_title) > TITLE_MAX:
        errors.setdefault("title", []).append(f"Keep the title under {TITLE_MAX} characters.")
    if errors:
        raise ValidationError(errors)
    assert kind is not None and location is not None
    stored = store_encrypted(
        current_clinic(), data=data, folder="documents", suffix=f".{kind.extension}", subject=patient.pk
    )
    try:
        document = PatientDocument.objects.create(
            patient=patient,
            title=clean_title,
            category=category,
            content_type=kind.content_type,
            original_name=name,
            size=stored.size,
            sha256=stored.sha256,
            storage_name=stored.name,
            uploaded_by=actor,
            location=location,
        )
        audit_record(
            actor=actor,
            action="document.upload",
            obj=document,
            location_id=location.pk,
            context=context,
            changed_fields=["file", "title", "category"],
            metadata={
                "patient": str(patient.pk),
                "category": category,
                "content_type": kind.content_type,
                "size": stored.size,
            },
        )
    except Exception:
        delete_stored(stored.name)
        raise
    return document


def document_read(*, document: PatientDocument, actor: User, context: AuditContext | None = None) -> bytes:
    """The decrypted file, checked against the SHA-256 taken at upload; the download is audited.

    Raises FileUnavailable (docos.storage) with a clear message when the file cannot be given back
    (the clinic's data key was destroyed, the object is missing, or it fails its checks: FileAltered,
    audited as `file.integrity_failed`)."""
    require_capability(actor, "documents.view", "view documents")
    data = stored_file_read(
        clinic=current_clinic(),
        name=document.storage_name,
        sha256=document.sha256,
        obj=document,
        location_id=document.location_id,
        actor=actor,
        context=context,
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="document.download",
            obj=document,
            location_id=document.location_id,
            context=context,
            metadata={
                "patient": str(document.patient_id),
                "content_type": document.content_type,
                "size": document.size,
            },
        )
    return data


def download_name(document: PatientDocument) -> str:
    """A safe ASCII file name for Content-Disposition: the title, slugged, with the real extension."""
    from django.utils.text import slugify

    kind = ACCEPTED.get(document.content_type)
    extension = kind.extension if kind else "bin"
    stem = slugify(document.title)[:80].strip("-") or "document"
    return f"{stem}.{extension}"
