"""The clinical-records retention rule (registered with audit.retention): a patient's clinical
records (every CLINICAL source of the patient-data registry: visits, prescriptions, documents,
appointments, and whatever app registers later) are erased once the law no longer makes the clinic
keep them: RETENTION_CLINICAL_YEARS (or the clinic's longer period) after the last encounter, and
for a patient seen as a minor not before that many years after their 18th birthday.

Patients under legal hold are skipped. Each batch handles up to `limit` patients in one
transaction; an erased patient has no clinical records left, so is no longer due: a crashed run
resumes where it stopped. The registration itself stays (billing may still need it).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.db.models.functions import Greatest

from audit.retention import Cursor, RetentionRule, register_rule
from patients import registry
from patients.models import Patient


def _due(now: dt.datetime) -> QuerySet[Patient]:
    sources = [s for s in registry.data_sources() if s.category == registry.CLINICAL and s.last_encounter_sql]
    if not sources:
        return Patient.objects.none()
    expressions = [s.last_encounter_sql() for s in sources if s.last_encounter_sql is not None]
    last = expressions[0] if len(expressions) == 1 else Greatest(*expressions)
    years = registry.retention_years(registry.CLINICAL)
    today = now.date()
    # Kept until `years` after the last encounter: due when that day has passed.
    latest_encounter = registry.add_years(today, -years)
    # A minor's records: until `years` after the 18th birthday.
    latest_birth = registry.add_years(today, -(18 + years))
    return (
        Patient.objects.filter(legal_hold_at__isnull=True, merged_into__isnull=True)
        .alias(last_encounter=last)
        .filter(last_encounter__date__lt=latest_encounter)
        .filter(Q(date_of_birth__isnull=True) | Q(date_of_birth__lt=latest_birth))
    )


def purge_clinical(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    patients = list(_due(now).order_by("pk")[:limit])
    sources = [s for s in registry.data_sources() if s.category == registry.CLINICAL]
    files: list[str] = []
    for patient in patients:
        for source in sources:
            files += source.erase(patient).files
    registry.delete_files_on_commit(files)
    return len(patients)


def register_clinical_rule() -> None:
    register_rule(
        RetentionRule(
            key="patients.clinical_records",
            label="Clinical records of patients last seen more than the clinical retention period ago "
            "(minors: that period after they turn 18); patients under legal hold are kept",
            count_due=lambda now: _due(now).count(),
            purge_batch=purge_clinical,
        )
    )
