"""Starting a prescription from an earlier one or from a doctor's template.

- "Repeat the last prescription" copies the lines of the patient's latest signed prescription into
  a new draft form; nothing is written until the doctor saves.
- Templates ("URTI adult", "Fever child by weight") are each doctor's own (`PrescriptionTemplate`):
  saved from a prescription, listed on the new-prescription form, deleted by their owner. A template
  line without a dose is dosed by weight for a weighed child (clinical.dosing) when applied.
Writes are audited with field names only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from clinical import dosing, drug_reference, selectors
from clinical.models import Prescription, PrescriptionItem, PrescriptionTemplate
from clinical.services import normalize_frequency
from patients.models import Patient

TEMPLATE_NAME_MAX = 80
TEMPLATES_PER_DOCTOR = 100
TEMPLATE_LINES_MAX = 30

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


# --- templates -----------------------------------------------------------------------------------


_LIMITS = {name: getattr(PrescriptionItem._meta.get_field(name), "max_length", None) for name in REPEATED_FIELDS}


def templates_of(user: User) -> QuerySet[PrescriptionTemplate]:
    return PrescriptionTemplate.objects.filter(owner=user).order_by("name")


def template_access(*, user: User, template_id: Any) -> PrescriptionTemplate:
    """The user's own template, or Http404 (another doctor's, a missing or a malformed id alike)."""
    try:
        return PrescriptionTemplate.objects.get(pk=template_id, owner=user)
    except (PrescriptionTemplate.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such template") from exc


def _clean_lines(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    lines: list[dict[str, str]] = []
    for row in rows:
        line = {name: " ".join(str(row.get(name) or "").split()) for name in REPEATED_FIELDS}
        if not line["drug_name"]:
            continue
        for name, value in line.items():
            limit = _LIMITS[name]
            if limit and len(value) > limit:
                raise ValidationError(
                    {"items": f"{line['drug_name']}: keep {name.replace('_', ' ')} under {limit} characters."}
                )
        line["frequency"] = normalize_frequency(line["frequency"]) if line["frequency"] else ""
        lines.append(line)
    if not lines:
        raise ValidationError({"items": "A template needs at least one medicine."})
    if len(lines) > TEMPLATE_LINES_MAX:
        raise ValidationError({"items": f"At most {TEMPLATE_LINES_MAX} medicines in a template."})
    return lines


@transaction.atomic
def template_save_from_prescription(
    *,
    actor: User,
    prescription: Prescription,
    name: str,
    dose_by_weight: bool = False,
    context: AuditContext | None = None,
) -> PrescriptionTemplate:
    """Save the prescription's lines and advice as the actor's template `name`. With
    `dose_by_weight`, doses of lines whose medicine has a standard paediatric dose are left blank,
    to be worked out from each child's weight when the template is used."""
    require_capability(actor, "prescriptions.write", "write prescriptions")
    title = " ".join((name or "").split())
    if not title:
        raise ValidationError({"name": "Name the template, e.g. URTI adult."})
    if len(title) > TEMPLATE_NAME_MAX:
        raise ValidationError({"name": f"Keep the name under {TEMPLATE_NAME_MAX} characters."})
    if templates_of(actor).count() >= TEMPLATES_PER_DOCTOR:
        raise ValidationError({"name": f"You have {TEMPLATES_PER_DOCTOR} templates; delete one you no longer use."})
    lines = _clean_lines(repeat_rows(prescription))
    if dose_by_weight:
        for line in lines:
            if any(m.paediatric_dose for m in drug_reference.molecules_for(line["drug_name"])):
                line["dose"] = ""
    try:
        with transaction.atomic():
            template = PrescriptionTemplate.objects.create(
                owner=actor, name=title, items=lines, general_advice=prescription.general_advice
            )
    except IntegrityError as exc:
        raise ValidationError({"name": f"You already have a template called {title!r}; choose another name."}) from exc
    audit_record(
        actor=actor,
        action="prescription_template.create",
        obj=template,
        context=context,
        changed_fields=["name", "items", *(["general_advice"] if template.general_advice else [])],
        metadata={"lines": len(lines)},
    )
    return template


@transaction.atomic
def template_delete(*, actor: User, template: PrescriptionTemplate, context: AuditContext | None = None) -> None:
    require_capability(actor, "prescriptions.write", "write prescriptions")
    if template.owner_id != actor.pk:
        raise Http404("No such template")
    audit_record(actor=actor, action="prescription_template.delete", obj=template, context=context)
    template.delete()


def template_rows(template: PrescriptionTemplate, *, child_weight_kg: Decimal | None = None) -> list[dict[str, Any]]:
    """The template's lines as new-form rows; for a weighed child, a line without a dose gets the
    dose worked out from the weight (and its timing, if the line has none)."""
    rows: list[dict[str, Any]] = []
    for line in template.items or []:
        row = {name: str(line.get(name) or "") for name in REPEATED_FIELDS}
        if child_weight_kg and not row["dose"]:
            product = _product_for(row)
            suggestion = dosing.child_dose(product, child_weight_kg) if product else None
            if suggestion is not None:
                row["dose"] = suggestion.dose
                row["frequency"] = row["frequency"] or suggestion.frequency
                row["instructions"] = (row["instructions"] + " " if row["instructions"] else "") + (
                    f"({suggestion.explanation})"
                )[: _LIMITS["instructions"] or 300]
        rows.append(row)
    return rows


def _product_for(row: dict[str, Any]) -> drug_reference.Product | None:
    """The reference product a line names: the brand, else the generic product of that strength and form."""
    brand = drug_reference.brand_named(row["drug_name"])
    if brand is not None:
        return brand
    for product in drug_reference.search(f"{row['drug_name']} {row['strength']}", limit=20):
        if product.kind == "generic" and product.strength.lower() == row["strength"].lower():
            if not row["form"] or product.form.lower() == row["form"].lower():
                return product
    return None
