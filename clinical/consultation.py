"""The doctor's consultation screen, as services: today's draft visit of a patient with a clinician,
the chart summary shown above it, and saving or signing the visit and its prescription together.

The rules stay in clinical.services (visit_create/update/sign, prescription_create/update/sign with
its complete-line and safety checks); this module only decides which records the one screen writes.
Saving and signing are separate transactions on purpose: a sign refused by a safety finding leaves
the draft just saved intact, and signs nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Location, User
from audit.context import AuditContext
from clinical import rx_templates, selectors
from clinical import services as clinical
from clinical.allergies import patient_allergies
from clinical.models import PatientAllergy, Prescription, Visit
from patients.models import Patient


def _local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def consultation_visit(
    *, user: User, patient: Patient, location: Location | None = None, today: dt.date | None = None
) -> Visit | None:
    """Today's draft visit of the patient with this clinician (at `location`, when given): the one
    the screen resumes, so a second call-in or a reload never opens a second visit."""
    start, end = _local_day_bounds(today or timezone.localdate())
    visits = selectors.visits_visible_to(user).filter(
        patient=patient, clinician=user, status=Visit.Status.DRAFT, visit_at__gte=start, visit_at__lt=end
    )
    if location is not None:
        visits = visits.filter(location=location)
    return visits.select_related("location").order_by("-visit_at").first()


def consultation_prescription(visit: Visit | None) -> Prescription | None:
    """The visit's draft prescription (the screen's prescription lines), if one was saved."""
    if visit is None or visit.pk is None:
        return None
    return visit.prescriptions.filter(status=Prescription.Status.DRAFT).order_by("-created_at").first()


@dataclass
class ChartSummary:
    """What the doctor reads before the patient sits down."""

    allergies: list[PatientAllergy]
    allergy_note: str
    chronic_conditions: str
    last_visit: Visit | None
    last_prescription: Prescription | None
    last_prescription_lines: list[Any] = field(default_factory=list)


def chart_summary(*, user: User, patient: Patient, current: Visit | None = None) -> ChartSummary:
    """Allergies (recorded, with severity, and the free-text note), chronic conditions, the last
    signed visit (diagnoses and date) and the last signed prescription with its lines."""
    last_visit = None
    if user.has_capability("clinical.view"):
        visits = selectors.visit_list(user=user, patient=patient, status=Visit.Status.SIGNED)
        if current is not None and current.pk is not None:
            visits = visits.exclude(pk=current.pk)
        last_visit = visits.select_related("clinician", "location").order_by("-visit_at").first()
    last_rx = None
    if user.has_capability("prescriptions.view"):
        last_rx = rx_templates.last_signed_prescription(user=user, patient=patient)
    return ChartSummary(
        allergies=list(patient_allergies(patient, include_resolved=False)),
        allergy_note=str(patient.allergies or ""),
        chronic_conditions=str(patient.chronic_conditions or ""),
        last_visit=last_visit,
        last_prescription=last_rx,
        last_prescription_lines=list(last_rx.items.all()) if last_rx is not None else [],
    )


def _has_lines(items: Iterable[Mapping[str, Any]]) -> bool:
    return any(str(row.get("drug_name") or "").strip() for row in items)


@transaction.atomic
def consultation_save(
    *,
    patient: Patient,
    actor: User,
    visit: Visit | None,
    visit_fields: Mapping[str, Any],
    notes: Mapping[str, Any],
    diagnoses: Iterable[Mapping[str, Any]],
    items: Sequence[Mapping[str, Any]] | None,
    print_hindi: bool = False,
    context: AuditContext | None = None,
) -> tuple[Visit, Prescription | None]:
    """Save the screen as drafts: the visit (created on the first save), and its prescription when
    it has lines (created on the first line; emptied, not deleted, when the lines are removed).
    `items` None: the actor does not write prescriptions, leave it alone. The prescription follows
    the visit's location, follow-up date and advice. All or nothing: errors keep their keys
    (`items.<n>.<field>`, `diagnoses.<n>.icd10`, field names) for the form."""
    fields = dict(visit_fields)
    if visit is None:
        visit = clinical.visit_create(
            patient=patient, actor=actor, notes=notes, diagnoses=diagnoses, context=context, **fields
        )
    else:
        clinical.visit_update(visit=visit, actor=actor, notes=notes, diagnoses=diagnoses, context=context, **fields)
    prescription = consultation_prescription(visit)
    if items is None:
        return visit, prescription
    rx_fields: dict[str, Any] = {
        "location": visit.location,
        "follow_up_date": visit.follow_up_date,
        "general_advice": visit.advice,
        "print_hindi": print_hindi,
    }
    if prescription is None and _has_lines(items):
        prescription = clinical.prescription_create(
            patient=patient, actor=actor, visit=visit, items=items, context=context, **rx_fields
        )
    elif prescription is not None:
        clinical.prescription_update(prescription=prescription, actor=actor, items=items, context=context, **rx_fields)
    return visit, prescription


@transaction.atomic
def consultation_sign(
    *,
    visit: Visit,
    actor: User,
    overrides: Mapping[str, str] | None = None,
    context: AuditContext | None = None,
    then: Callable[[Visit], Any] | None = None,
) -> tuple[Visit, Prescription | None]:
    """Sign the visit and its draft prescription (only if it has lines) together: if the
    prescription cannot be signed (an incomplete line, a safety finding without a reason), the visit
    is not signed either. `then` runs inside the same transaction (the queue's "done")."""
    prescription = consultation_prescription(visit)
    clinical.visit_sign(visit=visit, actor=actor, context=context)
    if prescription is not None and prescription.items.exists():
        clinical.prescription_sign(prescription=prescription, actor=actor, overrides=overrides, context=context)
    if then is not None:
        then(visit)
    return visit, prescription
