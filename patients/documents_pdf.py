"""Signed clinical documents: render a PDF through docos.pdf, store it encrypted, make it verifiable.

`sign_document` is shared by every signed document kind (prescriptions now; consent forms and
certificates use the same steps): it picks the verification code, renders with it, stores the
PDF encrypted with the clinic's data key, and writes the tenant's `SignedDocument` and the public
`DocumentVerification` row in the caller's transaction. `prescription_pdf_context` holds what a
prescription prints.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Location, User
from clinics.models import Clinic
from clinics.verification import new_code, verification_register, verification_url
from docos.storage import delete_stored, store_encrypted
from docos.tenancy import tenant_connection
from patients.files import stored_file_read
from patients.models import Patient, Prescription, PrescriptionItem, SignedDocument

if TYPE_CHECKING:
    from docos.pdf import Verification

FOOD_HINDI = {
    PrescriptionItem.FoodRelation.BEFORE: "खाना खाने से पहले",
    PrescriptionItem.FoodRelation.AFTER: "खाना खाने के बाद",
    PrescriptionItem.FoodRelation.WITH: "खाने के साथ",
    PrescriptionItem.FoodRelation.EMPTY: "खाली पेट",
}
_SLOTS_EN = {3: ("morning", "afternoon", "night"), 4: ("morning", "afternoon", "evening", "night")}
_SLOTS_HI = {3: ("सुबह", "दोपहर", "रात"), 4: ("सुबह", "दोपहर", "शाम", "रात")}
_ABBREVIATIONS = {
    "OD": ("once a day", "दिन में एक बार"),
    "BD": ("twice a day", "दिन में दो बार"),
    "BID": ("twice a day", "दिन में दो बार"),
    "TDS": ("three times a day", "दिन में तीन बार"),
    "TID": ("three times a day", "दिन में तीन बार"),
    "QID": ("four times a day", "दिन में चार बार"),
    "HS": ("at bedtime", "सोते समय"),
    "SOS": ("only when needed", "ज़रूरत पड़ने पर"),
    "PRN": ("only when needed", "ज़रूरत पड़ने पर"),
    "STAT": ("at once", "तुरंत"),
}
_SLOT_RE = re.compile(r"^(?:\d{1,2}(?:\.\d)?|½|1/2)$")


def frequency_text(frequency: str) -> tuple[str, str]:
    """Plain words for a frequency, in English and Hindi: "1-0-1" -> ("morning, night", "सुबह, रात")."""
    value = frequency.strip().upper()
    if value in _ABBREVIATIONS:
        return _ABBREVIATIONS[value]
    slots = value.split("-")
    if len(slots) in _SLOTS_EN and all(_SLOT_RE.match(slot) for slot in slots):
        taken = [i for i, slot in enumerate(slots) if slot not in ("0", "0.0")]
        english = ", ".join(_SLOTS_EN[len(slots)][i] for i in taken)
        hindi = ", ".join(_SLOTS_HI[len(slots)][i] for i in taken)
        return english, hindi
    return "", ""


@dataclass(frozen=True)
class PrintedItem:
    name: str
    dose: str
    frequency: str
    frequency_text: str
    frequency_text_hi: str
    route: str
    duration: str
    food: str
    food_hi: str
    instructions: str
    instructions_hi: str


def printed_item(item: PrescriptionItem) -> PrintedItem:
    english, hindi = frequency_text(item.frequency)
    food_hi = FOOD_HINDI.get(item.food_relation, "")  # type: ignore[call-overload]
    if food_hi and food_hi in item.instructions_hi:
        food_hi = ""  # the doctor already wrote it in the Hindi instructions
    return PrintedItem(
        name=" ".join(part for part in (item.drug_name, item.strength, item.form) if part),
        dose=item.dose,
        frequency=item.frequency,
        frequency_text=english,
        frequency_text_hi=hindi,
        route=item.route,
        duration=item.duration,
        food=item.get_food_relation_display() if item.food_relation else "",
        food_hi=food_hi,
        instructions=item.instructions,
        instructions_hi=item.instructions_hi,
    )


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


def prescription_pdf_context(prescription: Prescription) -> dict[str, Any]:
    """Everything pdf/prescription.html prints. The prescription must carry its signer and time."""
    signed_at = prescription.signed_at or timezone.now()
    local = local_time(signed_at, prescription.location)
    visit = prescription.visit
    previous = prescription.previous
    previous_code = ""
    if previous is not None and previous.document_id is not None:
        previous_code = SignedDocument.objects.values_list("verification_code", flat=True).get(pk=previous.document_id)
    return {
        "rx": prescription,
        "patient": prescription.patient,
        "prescriber": prescription.prescriber,
        "age_sex": age_sex(prescription.patient),
        "issued_on": local.strftime("%d %b %Y"),
        "signed_at_text": local.strftime("%d %b %Y, %H:%M"),
        "follow_up_on": prescription.follow_up_date.strftime("%d %b %Y") if prescription.follow_up_date else "",
        "weight": visit.weight_kg if visit is not None else None,
        "diagnoses": [d for d in (visit.diagnoses if visit is not None else []) if isinstance(d, dict)],
        "items": [printed_item(item) for item in prescription.items.all()],
        "print_hindi": prescription.print_hindi,
        "previous_code": previous_code,
    }


def current_clinic() -> Clinic:
    clinic = getattr(tenant_connection(), "tenant", None)
    if not isinstance(clinic, Clinic) or clinic.schema_name == "public":
        raise RuntimeError("Signed documents are made inside a clinic's schema")
    return clinic


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
    stored = store_encrypted(clinic, data=pdf, folder=f"signed/{kind}", suffix=".pdf")
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
    *, document: SignedDocument, actor: User, request: Any = None, action: str = "document.download"
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
        request=request,
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=action,
            obj=document,
            location_id=document.location_id,
            request=request,
            metadata={"kind": document.kind, "code": document.verification_code},
        )
    return data
