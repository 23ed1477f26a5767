"""What a prescription prints: frequencies in words (English and Hindi) and the PDF's context."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from clinical import drug_reference
from clinical.models import Prescription, PrescriptionItem
from documents.models import SignedDocument
from documents.signing import age_sex, local_time

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
    "AS DIRECTED": ("as directed", "बताए अनुसार"),
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
    generic: str  # a brand's molecules and strengths, printed under it (generic names, as NMC asks)
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


def _name_and_generic(item: PrescriptionItem) -> tuple[str, str]:
    """ "Dolo 650", "650 mg", "Tablet" prints "Dolo 650 Tablet" over "Paracetamol 650 mg": the brand's
    generic line carries the strength. Names not in the reference formulary print as typed."""
    brand = drug_reference.brand_named(item.drug_name)
    strength = item.strength
    if brand is not None and strength.replace(" ", "").lower() == brand.strength.replace(" ", "").lower():
        strength = ""
    name = " ".join(part for part in (item.drug_name, strength, item.form) if part)
    return name, brand.generic if brand is not None else ""


def printed_item(item: PrescriptionItem) -> PrintedItem:
    english, hindi = frequency_text(item.frequency)
    name, generic = _name_and_generic(item)
    food_hi = FOOD_HINDI.get(item.food_relation, "")  # type: ignore[call-overload]
    if food_hi and food_hi in item.instructions_hi:
        food_hi = ""  # the doctor already wrote it in the Hindi instructions
    return PrintedItem(
        name=name,
        generic=generic,
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
