"""What the clinical app holds about a patient, registered in the patient-data registry: visits
(notes, vitals, diagnoses, procedures, addenda), prescriptions (with their items and safety
overrides) and recorded allergies. Clinical records: kept RETENTION_CLINICAL_YEARS after the last
encounter (minors: that long after they turn 18). The prescriptions' signed PDFs belong to the
documents app's source."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Greatest

from clinical.models import PatientAllergy, Prescription, PrescriptionSafetyOverride, Visit, VisitAddendum
from patients import registry
from patients.models import Patient
from patients.registry import Erased, Records, record_of

VISIT_FIELDS = (
    "visit_at", "status", "chief_complaint", "bp_systolic", "bp_diastolic", "pulse", "temperature_c", "spo2",
    "weight_kg", "height_cm", "notes", "diagnoses", "procedures_performed", "advice", "follow_up_date", "signed_at",
)  # fmt: skip
ITEM_FIELDS = (
    "drug_name", "strength", "form", "dose", "frequency", "route", "duration", "food_relation", "instructions",
)  # fmt: skip


def _export(patient: Patient) -> Records:
    ids = registry.patient_ids(patient)
    visits = Visit.objects.filter(patient_id__in=ids).select_related("location", "clinician").order_by("visit_at")
    prescriptions = (
        Prescription.objects.filter(patient_id__in=ids)
        .select_related("prescriber", "location")
        .prefetch_related("items")
        .order_by("created_at")
    )
    return {
        "visits": [
            {
                **record_of(v, VISIT_FIELDS),
                "location": v.location.name,
                "clinician": v.clinician.full_name,
                "addenda": [record_of(a, ("text", "created_at")) for a in v.addenda.all()],
            }
            for v in visits
        ],
        "prescriptions": [
            {
                **record_of(p, ("status", "version", "general_advice", "follow_up_date", "signed_at", "created_at")),
                "visit": str(p.visit_id) if p.visit_id else None,
                "prescriber": p.prescriber.full_name,
                "location": p.location.name,
                "items": [record_of(i, ITEM_FIELDS) for i in p.items.all()],
            }
            for p in prescriptions
        ],
        "allergies": [
            record_of(a, ("allergen", "allergen_class", "reaction", "severity", "status", "noted_at", "resolved_at"))
            for a in PatientAllergy.objects.filter(patient_id__in=ids).order_by("noted_at")
        ],
    }


def _erase(patient: Patient) -> Erased:
    ids = registry.patient_ids(patient)
    rows = 0
    prescriptions = Prescription.objects.filter(patient_id__in=ids)
    rows += PrescriptionSafetyOverride.objects.filter(prescription__in=prescriptions).delete()[0]
    # Versions point at their predecessors (PROTECT): unlink them, then delete (items cascade).
    prescriptions.update(previous=None)
    rows += prescriptions.delete()[0]
    rows += PatientAllergy.objects.filter(patient_id__in=ids).delete()[0]
    visits = Visit.objects.filter(patient_id__in=ids)
    rows += VisitAddendum.objects.filter(visit__in=visits).delete()[0]
    rows += visits.delete()[0]
    return Erased(rows=rows)


def _last_encounter(patient: Patient) -> dt.datetime | None:
    ids = registry.patient_ids(patient)
    moments = [
        Visit.objects.filter(patient_id__in=ids).order_by("-visit_at").values_list("visit_at", flat=True).first(),
        Prescription.objects.filter(patient_id__in=ids)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first(),
    ]
    found = [m for m in moments if m is not None]
    return max(found) if found else None


def _last_encounter_sql() -> Greatest:
    """The newest visit or prescription of the patient row (PostgreSQL's GREATEST skips NULLs)."""
    return Greatest(
        Subquery(Visit.objects.filter(patient=OuterRef("pk")).order_by("-visit_at").values("visit_at")[:1]),
        Subquery(Prescription.objects.filter(patient=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]),
    )


def register() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="clinical",
            label="Visits, notes, vitals, diagnoses, prescriptions and allergies",
            category=registry.CLINICAL,
            export=_export,
            erase=_erase,
            retain_until=lambda patient: registry.clinical_retain_until(patient),
            last_encounter=_last_encounter,
            last_encounter_sql=_last_encounter_sql,
            erase_order=40,
        )
    )
