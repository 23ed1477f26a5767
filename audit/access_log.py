"""The record-access log: reads of a patient's record, one row per user, patient and ten minutes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import RecordAccess


def record_read(*, user: Any, patient_id: uuid.UUID, what: str, location_id: Any = None) -> None:
    """Note that `user` read `patient_id`'s record. Cheap: one INSERT that does nothing when this
    user already read this patient in the current window (and nothing at all within one request)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return
    now = timezone.now()
    window = int(now.timestamp()) // RecordAccess.WINDOW_SECONDS
    seen: set[tuple[Any, int]] = user.__dict__.setdefault("_docos_reads", set())
    if (patient_id, window) in seen:
        return
    seen.add((patient_id, window))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {RecordAccess._meta.db_table} (user_id, patient_id, "window", first_at, what, location_id) '
            'VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, patient_id, "window") DO NOTHING',
            [user.pk, patient_id, window, now, what[:40], location_id],
        )


def record_reads(*, user: Any, patient_ids: Iterable[uuid.UUID | None], what: str) -> None:
    """`record_read` for every patient a list showed, in one statement."""
    for patient_id in dict.fromkeys(pid for pid in patient_ids if pid is not None):
        record_read(user=user, patient_id=patient_id, what=what)


def reads_of(patient_id: uuid.UUID) -> QuerySet[RecordAccess]:
    """Who read this patient's record, newest first."""
    return RecordAccess.objects.filter(patient_id=patient_id).order_by("-first_at")
