"""The store of patients' file keys (docos.crypto's subject keys): registered in PatientsConfig.ready,
so the kernel encrypts a patient's files with their own key without importing this app."""

from __future__ import annotations

import uuid

from django.db import connection
from django.utils import timezone

from patients.models import PatientFileKey


class PatientFileKeyStore:
    def load(self, subject: uuid.UUID) -> bytes | None:
        wrapped = PatientFileKey.objects.filter(subject=subject).values_list("wrapped_key", flat=True).first()
        return bytes(wrapped) if wrapped is not None else None

    def was_destroyed(self, subject: uuid.UUID) -> bool:
        return PatientFileKey.objects.filter(subject=subject, destroyed_at__isnull=False).exists()

    def add(self, subject: uuid.UUID, wrapped: bytes) -> bytes:
        # One statement, so two first files of a patient at once keep one key and neither aborts its
        # transaction; a live key is never replaced (files are encrypted with it), a destroyed one is.
        table = connection.ops.quote_name(PatientFileKey._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (subject, wrapped_key, created_at, destroyed_at) VALUES (%s, %s, %s, NULL)
                ON CONFLICT (subject) DO UPDATE
                    SET wrapped_key = EXCLUDED.wrapped_key, created_at = EXCLUDED.created_at, destroyed_at = NULL
                    WHERE {table}.wrapped_key IS NULL
                """,
                [subject, wrapped, timezone.now()],
            )
        kept = self.load(subject)
        assert kept is not None
        return kept


def destroy_file_keys(patient_ids: list[uuid.UUID]) -> int:
    """Crypto-shredding of these patients' files; returns how many keys were destroyed."""
    return PatientFileKey.objects.filter(subject__in=patient_ids, wrapped_key__isnull=False).update(
        wrapped_key=None, destroyed_at=timezone.now()
    )
