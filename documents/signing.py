"""Signed clinical documents: render a PDF through docos.pdf, store it encrypted, make it verifiable.

`sign_document` is shared by every signed document kind (prescriptions, consent forms and
certificates): it picks the verification code, renders with it, stores the
PDF encrypted with the clinic's data key, and writes the tenant's `SignedDocument` and the public
`DocumentVerification` row in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from accounts.selectors import is_sole_location
from audit.context import AuditContext
from audit.services import audit_record
from clinics.models import Clinic
from clinics.verification import new_code, verification_register, verification_url
from docos.storage import delete_stored, store_encrypted
from docos.tenancy import tenant_connection
from documents.models import SignedDocument
from patients.files import stored_file_read
from patients.models import Patient

if TYPE_CHECKING:
    from docos.pdf import Letterhead, Verification


def age_sex(patient: Patient) -> str:
    age = patient.age_years()
    parts = []
    if age is not None:
        parts.append(f"{'~' if patient.dob_is_estimated else ''}{age} y")
    if patient.sex in ("F", "M", "O"):
        parts.append(patient.sex)
    return " / ".join(parts)


def local_time(value: dt.datetime, location: Location) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(location.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("Asia/Kolkata")
    return timezone.localtime(value, zone)


def current_clinic() -> Clinic:
    clinic = getattr(tenant_connection(), "tenant", None)
    if not isinstance(clinic, Clinic) or clinic.schema_name == "public":
        raise RuntimeError("Signed documents are made inside a clinic's schema")
    return clinic


def issuing_letterhead(location: Location) -> Letterhead:
    """The letterhead of a document issued at `location`: its own address, phone, GSTIN and
    registration (an Indiranagar prescription never prints the Koramangala address)."""
    from docos.pdf import letterhead_for  # lazily: WeasyPrint is slow to import

    return letterhead_for(current_clinic(), location, sole_location=is_sole_location(location))


@transaction.atomic
def sign_document(
    *,
    kind: str,
    patient: Patient,
    location: Location,
    signer: User,
    signed_at: dt.datetime,
    render: Callable[[Verification], bytes],
) -> SignedDocument:
    """Render (given the verification code), store encrypted, record and publish the document's hash.

    Rendering is synchronous: a one-page document takes tens of milliseconds (see
    benchmarks/pdf_prescription.py), and signing then hands the doctor a finished, verifiable PDF
    in the same request, with no half-signed state to show or recover from.
    """
    from docos.pdf import Verification

    clinic = current_clinic()
    code = new_code(kind)
    pdf = render(Verification(code=code, url=verification_url(code)))
    stored = store_encrypted(clinic, data=pdf, folder=f"signed/{kind}", suffix=".pdf", subject=patient.pk)
    # The file is written before the rows: a failure below removes it again. (Should the caller's
    # transaction roll back later, an unreferenced ciphertext stays behind: unreadable without the
    # rows and harmless; never the other way round, a row naming a file that was not written.)
    try:
        document = SignedDocument.objects.create(
            kind=kind,
            patient=patient,
            location=location,
            verification_code=code,
            storage_name=stored.name,
            sha256=stored.sha256,
            size=stored.size,
            signed_by=signer,
            signed_at=signed_at,
        )
        verification_register(clinic=clinic, code=code, kind=kind, issued_at=signed_at, sha256=stored.sha256)
    except Exception:
        delete_stored(stored.name)
        raise
    return document


def signed_document_read(
    *,
    document: SignedDocument,
    actor: User | None,
    context: AuditContext | None = None,
    action: str = "document.download",
) -> bytes:
    """The decrypted PDF, checked against the SHA-256 recorded at signing (FileAltered, audited as
    `file.integrity_failed`, when it is not the signed file); each read is audited (who, which
    document, from where; never its content)."""
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
            action=action,
            obj=document,
            location_id=document.location_id,
            context=context,
            metadata={"kind": document.kind, "code": document.verification_code, "patient": str(document.patient_id)},
        )
    return data
