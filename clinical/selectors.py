"""Reads of the clinical record, scoped to the acting user's locations.

Scoped by patients.access: a user restricted to some branches sees visits and prescriptions made
at them, or all of a patient's they opened at their branch; the same Http404 for missing and
forbidden ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from clinical import dosing, drug_reference
from clinical.models import FormularyDrug, Prescription, PrescriptionSafetyOverride, Visit, VisitAddendum
from patients.access import record_access, scope_patient_records
from patients.models import Patient

FORMULARY_RESULTS = 10
MEDICINE_RESULTS = 12
CLINIC_MEDICINES_FIRST = 6
CHILD_WEIGHT_MAX_AGE_DAYS = 90  # an older weight is no basis for a child's dose


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


@dataclass(frozen=True)
class MedicineOption:
    """One answer of the prescription line's medicine search: a drug of the clinic's own formulary
    (`source="clinic"`, `id` set, the clinic's usual dose and timing) or of the reference formulary
    (`source="reference"`, `verified` says whether the entry was checked against its source)."""

    source: str
    id: str
    key: str
    kind: str
    name: str
    strength: str
    form: str
    generic: str
    label: str
    maker: str = ""
    dose: str = ""
    frequency: str = ""
    route: str = ""
    duration: str = ""
    verified: bool | None = None
    nlem: bool = False
    dose_note: str = ""  # how a child's dose was worked out from the weight
    favourite: bool = False  # starred by the doctor searching (clinical.favourites)


def clinic_option(drug: FormularyDrug) -> MedicineOption:
    generic = " + ".join(m.name for m in drug_reference.molecules_for(drug.name))
    return MedicineOption(
        source="clinic",
        id=str(drug.pk),
        key=f"clinic:{drug.pk}",
        kind="clinic",
        name=drug.name,
        strength=drug.strength,
        form=drug.form,
        generic=generic,
        label=str(drug),
        dose=drug.default_dose,
        frequency=drug.default_frequency,
        route=drug.default_route,
        duration=drug.default_duration,
    )


def reference_option(product: drug_reference.Product, child_weight_kg: Decimal | None) -> MedicineOption:
    suggestion = dosing.child_dose(product, child_weight_kg) if child_weight_kg else None
    return MedicineOption(
        source="reference",
        id="",
        key=product.key,
        kind=product.kind,
        name=product.name,
        strength=product.strength,
        form=product.form,
        generic=product.generic,
        label=product.label,
        maker=product.maker,
        route=product.route,
        verified=product.verified,
        nlem=product.nlem,
        dose=suggestion.dose if suggestion else "",
        frequency=suggestion.frequency if suggestion else "",
        dose_note=suggestion.explanation if suggestion else "",
    )


def medicine_search(
    query: str, *, limit: int = MEDICINE_RESULTS, child_weight_kg: Decimal | None = None
) -> list[MedicineOption]:
    """The clinic's own formulary first (what its doctors prescribe, with their usual dose), then
    the reference formulary's brands and generics (prefix and typo tolerant), without repeating a
    drug the clinic already has under the same name, strength and form. With a child's weight,
    reference products with a standard paediatric dose carry the dose worked out for it."""
    clinic = [clinic_option(drug) for drug in formulary_search(query, limit=min(limit, CLINIC_MEDICINES_FIRST))]
    have = {(o.name.lower(), o.strength.lower(), o.form.lower()) for o in clinic}
    reference = [
        reference_option(product, child_weight_kg)
        for product in drug_reference.search(query, limit=limit)
        if (product.name.lower(), product.strength.lower(), product.form.lower()) not in have
    ]
    return (clinic + reference)[:limit]


def child_weight(*, user: User, patient: Patient, visit: Visit | None = None) -> tuple[Decimal, Visit] | None:
    """For a child (under 18 by the recorded birth date): the weight to dose by and the visit it was
    measured at, this visit's or the latest one the user may see from the last 90 days; else None."""
    age = patient.age_years()
    if age is None or age > dosing.CHILD_MAX_AGE_YEARS:
        return None
    if visit is not None and visit.weight_kg:
        return Decimal(visit.weight_kg), visit
    since = timezone.now() - dt.timedelta(days=CHILD_WEIGHT_MAX_AGE_DAYS)
    latest = (
        visits_visible_to(user)
        .filter(patient=patient, weight_kg__isnull=False, visit_at__gte=since)
        .order_by("-visit_at")
        .first()
    )
    return (Decimal(latest.weight_kg), latest) if latest is not None and latest.weight_kg else None


def prescription_overrides(prescription: Prescription) -> QuerySet[PrescriptionSafetyOverride]:
    """The safety warnings signed despite, with who, when and why (shown on the page, never printed)."""
    return PrescriptionSafetyOverride.objects.filter(prescription=prescription).select_related("overridden_by")
