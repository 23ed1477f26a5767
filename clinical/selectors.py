"""Reads of the clinical record, scoped to the acting user's locations.

Scoped by patients.access: a user restricted to some branches sees visits and prescriptions made
at them, or all of a patient's they opened at their branch; the same Http404 for missing and
forbidden ids.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import User
from clinical.models import FormularyDrug, Prescription, PrescriptionSafetyOverride, Visit, VisitAddendum
from patients.access import record_access, scope_patient_records
from patients.models import Patient

FORMULARY_RESULTS = 10


def _visits() -> QuerySet[Visit]:
    return Visit.objects.select_related("patient", "location", "clinician", "signed_by")


def visits_visible_to(user: User) -> QuerySet[Visit]:
    return scope_patient_records(_visits(), user)


def visit_access(*, user: User, visit_id: Any, what: str = "visit") -> Visit:
    """The visit, or Http404 (see patients.access for the rule)."""
    return record_access(_visits(), user=user, record_id=visit_id, label="visit", what=what)


def visit_list(*, user: User, patient: Patient | None = None, status: str = "") -> QuerySet[Visit]:
    visits = visits_visible_to(user)
    if patient is not None:
        visits = visits.filter(patient=patient)
    if status in Visit.Status.values:
        visits = visits.filter(status=status)
    return visits.order_by("-visit_at", "-created_at")


def visit_addenda(visit: Visit) -> QuerySet[VisitAddendum]:
    return VisitAddendum.objects.filter(visit=visit).select_related("author").order_by("created_at")


def _prescriptions() -> QuerySet[Prescription]:
    return Prescription.objects.select_related("patient", "location", "prescriber", "document", "visit", "previous")


def prescriptions_visible_to(user: User) -> QuerySet[Prescription]:
    return scope_patient_records(_prescriptions(), user)


def prescription_access(*, user: User, prescription_id: Any, what: str = "prescription") -> Prescription:
    """The prescription, or Http404 (see patients.access for the rule)."""
    return record_access(_prescriptions(), user=user, record_id=prescription_id, label="prescription", what=what)


def prescription_list(*, user: User, patient: Patient | None = None, status: str = "") -> QuerySet[Prescription]:
    prescriptions = prescriptions_visible_to(user)
    if patient is not None:
        prescriptions = prescriptions.filter(patient=patient)
    if status in Prescription.Status.values:
        prescriptions = prescriptions.filter(status=status)
    return prescriptions.order_by("-created_at")


def prescription_versions(prescription: Prescription, *, user: User) -> list[Prescription]:
    """Every version of this prescription the user may open, oldest first (follows `previous` both ways)."""
    first = prescription
    seen = {first.pk}
    while first.previous_id is not None and first.previous_id not in seen:
        earlier = Prescription.objects.select_related("document").filter(pk=first.previous_id).first()
        if earlier is None:
            break
        seen.add(earlier.pk)
        first = earlier
    chain = [first]
    while True:
        later = Prescription.objects.select_related("document").filter(previous=chain[-1]).first()
        if later is None or later.pk in {p.pk for p in chain}:
            break
        chain.append(later)
    visible = set(prescriptions_visible_to(user).filter(pk__in=[p.pk for p in chain]).values_list("pk", flat=True))
    return [p for p in chain if p.pk in visible]


def formulary_search(query: str, *, limit: int = FORMULARY_RESULTS) -> list[FormularyDrug]:
    """Drugs of the clinic's formulary matching `query`: names starting with it first, then the
    most used. The trigram index serves the `icontains`."""
    text = " ".join((query or "").split())[:60]
    if len(text) < 2:
        return []
    drugs = (
        FormularyDrug.objects.filter(Q(name__icontains=text))
        .annotate(
            starts=Case(When(name__istartswith=text, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("starts", "-use_count", "name")
    )
    return list(drugs[:limit])


def prescription_overrides(prescription: Prescription) -> QuerySet[PrescriptionSafetyOverride]:
    """The safety warnings signed despite, with who, when and why (shown on the page, never printed)."""
    return PrescriptionSafetyOverride.objects.filter(prescription=prescription).select_related("overridden_by")
