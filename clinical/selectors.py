"""Reads of the clinical record, scoped to the acting user's locations.

A user restricted to some locations sees visits and prescriptions only at those locations (no
assigned locations = all). A missing id, another clinic's id (another schema: simply absent) and
another location's id all raise the same Http404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404

from accounts.models import User
from accounts.selectors import scope_to_user_locations
from clinical.models import FormularyDrug, Prescription, Visit, VisitAddendum
from docos.ids import parse_uuid
from patients.models import Patient

FORMULARY_RESULTS = 10


def patient_for_clinical(patient_id: Any) -> Patient:
    """The patient a clinical record is written for (404 if unknown in this clinic)."""
    pk = parse_uuid(patient_id)
    patient = Patient.objects.filter(pk=pk).first() if pk else None
    if patient is None:
        raise Http404("No such patient")
    return patient


def visits_visible_to(user: User) -> QuerySet[Visit]:
    visits = Visit.objects.select_related("patient", "location", "clinician", "signed_by")
    return scope_to_user_locations(visits, user)


def visit_get(*, user: User, visit_id: Any) -> Visit:
    pk = parse_uuid(visit_id)
    visit = visits_visible_to(user).filter(pk=pk).first() if pk else None
    if visit is None:
        raise Http404("No such visit")
    return visit


def visit_list(*, user: User, patient: Patient | None = None, status: str = "") -> QuerySet[Visit]:
    visits = visits_visible_to(user)
    if patient is not None:
        visits = visits.filter(patient=patient)
    if status in Visit.Status.values:
        visits = visits.filter(status=status)
    return visits.order_by("-visit_at", "-created_at")


def visit_addenda(visit: Visit) -> QuerySet[VisitAddendum]:
    return VisitAddendum.objects.filter(visit=visit).select_related("author").order_by("created_at")


def prescriptions_visible_to(user: User) -> QuerySet[Prescription]:
    prescriptions = Prescription.objects.select_related(
        "patient", "location", "prescriber", "document", "visit", "previous"
    )
    return scope_to_user_locations(prescriptions, user)


def prescription_get(*, user: User, prescription_id: Any) -> Prescription:
    pk = parse_uuid(prescription_id)
    prescription = prescriptions_visible_to(user).filter(pk=pk).first() if pk else None
    if prescription is None:
        raise Http404("No such prescription")
    return prescription


def prescription_list(*, user: User, patient: Patient | None = None, status: str = "") -> QuerySet[Prescription]:
    prescriptions = prescriptions_visible_to(user)
    if patient is not None:
        prescriptions = prescriptions.filter(patient=patient)
    if status in Prescription.Status.values:
        prescriptions = prescriptions.filter(status=status)
    return prescriptions.order_by("-created_at")


def prescription_versions(prescription: Prescription) -> list[Prescription]:
    """Every version of this prescription, oldest first (follows `previous` both ways)."""
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
    return chain


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
