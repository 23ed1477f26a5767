"""What the clinical app adds to a patient's chart: visits and prescriptions on the timeline, and tab counts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef

from clinical.models import Prescription, Visit
from patients.access import scope_patient_records
from patients.models import Patient
from patients.selectors import TIMELINE_SOURCE_LIMIT, TimelineEntry, url_for


def _visits(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    if not user.has_capability("clinical.view"):
        return []
    visits = scope_patient_records(Visit.objects.filter(patient=patient), user).select_related("clinician", "location")
    return [
        TimelineEntry(
            kind="visit",
            at=visit.visit_at,
            title=f"Visit: {visit.chief_complaint}" if visit.chief_complaint else "Visit",
            detail=f"{visit.clinician.full_name} · {visit.location.name}",
            url=url_for(["clinical-visit-detail"], f"/visits/{visit.pk}/", visit_id=visit.pk),
            badge=visit.get_status_display(),
            clinical=True,
        )
        for visit in visits.order_by("-visit_at")[:TIMELINE_SOURCE_LIMIT]
    ]


def _prescriptions(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    if not user.has_capability("prescriptions.view"):
        return []
    rows = (
        scope_patient_records(Prescription.objects.filter(patient=patient), user)
        .select_related("prescriber")
        .order_by("-created_at")
    )
    entries = []
    for rx in rows[:TIMELINE_SOURCE_LIMIT]:
        entries.append(
            TimelineEntry(
                kind="prescription",
                at=rx.signed_at or rx.created_at,
                title=f"Prescription (version {rx.version})",
                detail=rx.prescriber.full_name,
                url=url_for(["clinical-prescription-detail"], f"/prescriptions/{rx.pk}/", prescription_id=rx.pk),
                badge=rx.get_status_display(),
                clinical=True,
            )
        )
    return entries


def _counts(patient: Patient, user: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    if user.has_capability("clinical.view"):
        counts["visits"] = scope_patient_records(Visit.objects.filter(patient=patient), user).count()
    if user.has_capability("prescriptions.view"):
        counts["prescriptions"] = scope_patient_records(Prescription.objects.filter(patient=patient), user).count()
    return counts


def _allergies(patient: Patient, user: Any) -> dict[str, Any] | None:
    """The chart's allergies panel: recorded allergies (the free text shows above it), and for
    clinical staff the form to record one and the buttons to mark one resolved."""
    from clinical.allergies import allergy_label, patient_allergies
    from clinical.models import PatientAllergy
    from clinical.rx_safety import class_choices

    rows = list(patient_allergies(patient))
    can_edit = user.has_capability("clinical.edit") and patient.is_active and patient.merged_into_id is None
    if not rows and not can_edit:
        return None
    return {
        "template": "clinical/_chart_allergies.html",
        "active": [(row, allergy_label(row.allergen_class)) for row in rows if row.status == "active"],
        "resolved": [(row, allergy_label(row.allergen_class)) for row in rows if row.status == "resolved"],
        "can_edit": can_edit,
        "classes": class_choices(),
        "severities": PatientAllergy.Severity.choices,
    }


def _visited_at(location_ids: list[Any]) -> Exists:
    """A visit at one of these locations makes the patient visible there."""
    return Exists(Visit.objects.filter(patient_id=OuterRef("pk"), location_id__in=location_ids))


def _prescription_superseded(code: str) -> bool:
    return Prescription.objects.filter(document__verification_code=code, status=Prescription.Status.SUPERSEDED).exists()


def register() -> None:
    from clinics.verify_views import register_superseded_check
    from patients.access import register_location_link
    from patients.selectors import register_chart_counter, register_chart_section, register_timeline_source

    register_location_link(_visited_at)
    register_superseded_check("prescription", _prescription_superseded)

    register_timeline_source("visits", _visits)
    register_timeline_source("prescriptions", _prescriptions)
    register_chart_counter(_counts)
    register_chart_section(_allergies)
