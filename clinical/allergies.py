"""A patient's recorded allergies: record, mark resolved, read (for the chart, the API and the
prescription safety check).

Allergies belong to the patient, not to a branch: whoever may open the patient (patients.access)
sees them, like the free-text allergies field they complement. Writing needs `clinical.edit` and a
writable patient. The allergen's class (penicillins, sulfonamides, NSAIDs...) is taken from the text
when the recorder does not choose one ("Sulpha" -> sulfonamides), so the check works from day one.
Each write is audited with ids and field names only.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from clinical import rx_safety
from clinical.models import PatientAllergy
from docos.ids import parse_uuid
from patients.access import patient_access, patient_check_writable
from patients.models import Patient

ALLERGEN_MAX = 120
REACTION_MAX = 200


def patient_allergies(patient: Patient, *, include_resolved: bool = True) -> QuerySet[PatientAllergy]:
    """The patient's recorded allergies, active first, newest first."""
    rows = PatientAllergy.objects.filter(patient=patient).select_related("noted_by", "resolved_by")
    if not include_resolved:
        rows = rows.filter(status=PatientAllergy.Status.ACTIVE)
    return rows.order_by("status", "-noted_at")


def allergy_access(*, user: Any, allergy_id: Any) -> PatientAllergy:
    """An allergy of a patient the user may open (patients.access), or the same Http404 for a
    missing, malformed or not-visible id."""
    key = parse_uuid(allergy_id)
    allergy = PatientAllergy.objects.filter(pk=key).first() if key is not None else None
    if allergy is None:
        raise Http404("No such allergy")
    allergy.patient = patient_access(user=user, patient_id=allergy.patient_id, what="allergies")
    return allergy


def allergies_for_check(patient: Patient) -> list[rx_safety.Allergy]:
    """What the prescription check reads: active recorded allergies and the free-text field's lines."""
    recorded = [
        rx_safety.Allergy(
            allergen=row.allergen,
            class_key=row.allergen_class,
            reaction=row.reaction,
            severity=row.severity,
        )
        for row in patient_allergies(patient, include_resolved=False)
    ]
    return recorded + rx_safety.free_text_allergies(patient.allergies)


def allergy_label(key: str) -> str:
    item = rx_safety.allergy_classes().get(key)
    return item.label if item else ""


@transaction.atomic
def allergy_record(
    *,
    patient: Patient,
    actor: User,
    allergen: str,
    allergen_class: str = "",
    reaction: str = "",
    severity: str = PatientAllergy.Severity.UNKNOWN,
    context: AuditContext | None = None,
) -> PatientAllergy:
    """Record an allergy. Without a class, the class the allergen's text names is used (or none)."""
    require_capability(actor, "clinical.edit", "record allergies")
    patient_check_writable(actor=actor, patient=patient)
    errors: dict[str, str] = {}
    allergen = " ".join((allergen or "").split())
    reaction = " ".join((reaction or "").split())
    if not allergen:
        errors["allergen"] = "Name what the patient is allergic to, e.g. Penicillin, Sulpha drugs, Peanuts."
    elif len(allergen) > ALLERGEN_MAX:
        errors["allergen"] = f"Keep the allergen under {ALLERGEN_MAX} characters."
    if len(reaction) > REACTION_MAX:
        errors["reaction"] = f"Keep the reaction under {REACTION_MAX} characters."
    if allergen_class and allergen_class not in rx_safety.allergy_classes():
        errors["allergen_class"] = "Not a known allergy class."
    if severity not in PatientAllergy.Severity.values:
        errors["severity"] = "Choose mild, moderate, severe or not known."
    if errors:
        raise ValidationError(errors)
    allergy = PatientAllergy.objects.create(
        patient=patient,
        allergen=allergen,
        allergen_class=allergen_class or rx_safety.allergen_class_for(allergen),
        reaction=reaction,
        severity=severity,
        noted_by=actor,
    )
    audit_record(
        actor=actor,
        action="allergy.record",
        obj=allergy,
        location_id=patient.registered_location_id,
        context=context,
        changed_fields=["allergen", "allergen_class", "reaction", "severity"],
        metadata={"patient": str(patient.pk)},
    )
    return allergy


@transaction.atomic
def allergy_resolve(*, allergy: PatientAllergy, actor: User, context: AuditContext | None = None) -> PatientAllergy:
    """Mark an allergy resolved (e.g. disproved by testing). It stays on the record."""
    require_capability(actor, "clinical.edit", "record allergies")
    locked = PatientAllergy.objects.select_for_update().select_related("patient").get(pk=allergy.pk)
    patient_check_writable(actor=actor, patient=locked.patient)
    if locked.status == PatientAllergy.Status.RESOLVED:
        raise ValidationError("This allergy is already marked resolved.", code="resolved")
    locked.status = PatientAllergy.Status.RESOLVED
    locked.resolved_by = actor
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        action="allergy.resolve",
        obj=locked,
        location_id=locked.patient.registered_location_id,
        context=context,
        changed_fields=["status", "resolved_by", "resolved_at"],
        metadata={"patient": str(locked.patient_id)},
    )
    allergy.refresh_from_db()
    return allergy
