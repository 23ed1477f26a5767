"""Starting a prescription from an earlier one: "repeat the last prescription" copies the lines of
the patient's latest signed prescription into a new draft form, for the doctor to check and sign.

Nothing is written here: the copy is the new form's initial data, saved only when the doctor saves.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from clinical import selectors
from clinical.models import Prescription
from patients.models import Patient

REPEATED_FIELDS = (
    "drug_name",
    "strength",
    "form",
    "dose",
    "frequency",
    "route",
    "duration",
    "food_relation",
    "instructions",
    "instructions_hi",
)


def last_signed_prescription(*, user: User, patient: Patient) -> Prescription | None:
    """The patient's most recent signed (current) prescription that the user may open."""
    return (
        selectors.prescription_list(user=user, patient=patient, status=Prescription.Status.SIGNED)
        .order_by("-signed_at", "-created_at")
        .first()
    )


def repeat_rows(prescription: Prescription) -> list[dict[str, Any]]:
    """The prescription's lines as new-form rows (the clinic formulary link kept)."""
    return [
        {**{name: getattr(item, name) for name in REPEATED_FIELDS}, "drug": item.drug_id}
        for item in prescription.items.all()
    ]


def summary(prescription: Prescription, *, names: int = 3) -> str:
    """ "Dolo 650, Electral" (the first few medicine names), to say what a repeat would copy."""
    drugs = [item.drug_name for item in prescription.items.all()]
    more = len(drugs) - names
    return ", ".join(drugs[:names]) + (f" and {more} more" if more > 0 else "")
