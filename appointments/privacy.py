"""What the appointments app holds about a patient, registered in the patient-data registry:
appointments, walk-in queue entries and reminders. Part of the clinical record for retention (an
attended appointment is an encounter)."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from appointments.models import Appointment, QueueEntry, Reminder
from patients import registry
from patients.models import Patient
from patients.registry import Erased, Records, record_of

APPOINTMENT_FIELDS = (
    "starts_at", "ends_at", "status", "source", "confirmed_at", "checked_in_at", "completed_at", "no_show_at",
    "cancelled_at", "cancel_reason", "created_at",
)  # fmt: skip


def _export(patient: Patient) -> Records:
    ids = registry.patient_ids(patient)
    return {
        "appointments": [
            {
                **record_of(a, APPOINTMENT_FIELDS),
                "type": a.appointment_type.name,
                "clinician": a.clinician.full_name,
                "location": a.location.name,
            }
            for a in Appointment.objects.filter(patient_id__in=ids)
            .select_related("appointment_type", "clinician", "location")
            .order_by("starts_at")
        ],
        "queue": [
            record_of(q, ("day", "token", "status", "created_at", "called_at", "finished_at"))
            for q in QueueEntry.objects.filter(patient_id__in=ids).order_by("created_at")
        ],
        "reminders": [
            {**record_of(r, ("due_at", "status", "reason")), "rule": r.rule.name}
            for r in Reminder.objects.filter(patient_id__in=ids).select_related("rule").order_by("due_at")
        ],
    }


def _erase(patient: Patient) -> Erased:
    ids = registry.patient_ids(patient)
    rows = Reminder.objects.filter(patient_id__in=ids).delete()[0]
    rows += QueueEntry.objects.filter(patient_id__in=ids).delete()[0]
    rows += Appointment.objects.filter(patient_id__in=ids).delete()[0]
    return Erased(rows=rows)


def _last_encounter(patient: Patient) -> dt.datetime | None:
    return (
        Appointment.objects.filter(patient_id__in=registry.patient_ids(patient), starts_at__lte=timezone.now())
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )


def _last_encounter_sql() -> Subquery:
    return Subquery(Appointment.objects.filter(patient=OuterRef("pk")).order_by("-starts_at").values("starts_at")[:1])


def register() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="appointments",
            label="Appointments, queue entries and reminders",
            category=registry.CLINICAL,
            export=_export,
            erase=_erase,
            retain_until=lambda patient: registry.clinical_retain_until(patient),
            last_encounter=_last_encounter,
            last_encounter_sql=_last_encounter_sql,
            erase_order=10,
        )
    )
