"""What the breach register holds about a patient, in the patient-data registry: that they were on
an incident's affected list and how they were told. Exported with the rest of their data; erased
with it (the incident keeps its counts in the audit log)."""

from __future__ import annotations

from django.db.models import QuerySet

from patients import registry
from patients.models import Patient
from patients.registry import Erased, Records
from privacy.models import AffectedPatient


def _rows(patient: Patient) -> QuerySet[AffectedPatient]:
    return AffectedPatient.objects.filter(patient_id__in=registry.patient_ids(patient), excluded=False)


def _export(patient: Patient) -> Records:
    return {
        "breach_notices": [
            {
                "incident": row.incident.reference,
                "title": row.incident.title,
                "discovered_at": registry.jsonable(row.incident.discovered_at),
                "notified_by": row.notice_channel,
                "notified_at": registry.jsonable(row.noticed_at),
            }
            for row in _rows(patient).select_related("incident").order_by("added_at")
        ]
    }


def _erase(patient: Patient) -> Erased:
    rows = AffectedPatient.objects.filter(patient_id__in=registry.patient_ids(patient)).delete()[0]
    return Erased(rows=rows)


def register_breach_source() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="privacy.breaches",
            label="Personal data breaches that affected the patient, and their notices",
            category=registry.CONTACT,
            export=_export,
            erase=_erase,
            erase_order=10,
        )
    )
