"""Expired access archives (retention rule, registered with audit.retention): a patient's export ZIP
holds every record decrypted, so the stored file goes when its download link expires, not years later
with the patient's records. The row stays (who asked, when, its hash and downloads) as the request's
history."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from audit.retention import Cursor, RetentionRule, register_rule
from patients.registry import delete_files_on_commit
from privacy.models import PatientExport


def _due(now: dt.datetime) -> QuerySet[PatientExport]:
    return PatientExport.objects.filter(expires_at__lte=now).exclude(storage_name="")


def purge_expired_exports(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    exports = list(_due(now).select_for_update(skip_locked=True).order_by("pk")[:limit])
    delete_files_on_commit([export.storage_name for export in exports])
    PatientExport.objects.filter(pk__in=[export.pk for export in exports]).update(storage_name="")
    return len(exports)


def register_export_rule() -> None:
    register_rule(
        RetentionRule(
            key="privacy.expired_exports",
            label="Patients' access archives whose download link has expired (the file; the request keeps its record)",
            count_due=lambda now: _due(now).count(),
            purge_batch=purge_expired_exports,
        )
    )
