"""Shared helpers for the encryption tests: raw column reads and key rings."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django_tenants.utils import tenant_context

from docos.crypto import DecryptionError, generate_key_spec, is_clinic_keyed, key_prefix
from docos.devkeys import TEST_ENCRYPTION_KEYS


def raw_value(schema: str, table: str, column: str, pk: Any) -> bytes | None:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{schema}"."{table}" WHERE id = %s', [pk])
        row = cursor.fetchone()
    assert row is not None, f"no row {pk} in {schema}.{table}"
    return None if row[0] is None else bytes(row[0])


def set_raw_value(schema: str, table: str, column: str, pk: Any, value: bytes | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{schema}"."{table}" SET "{column}" = %s WHERE id = %s', [value, pk])
        assert cursor.rowcount == 1


def rotated_ring(kid: str = "k2") -> str:
    """A ring whose primary is a fresh key `kid`, keeping the test key for reading old values."""
    return f"{generate_key_spec(kid)},{TEST_ENCRYPTION_KEYS}"


def made_with(blob: bytes | None, kid: str) -> bool:
    return blob is not None and blob.startswith(key_prefix(kid))


def assert_clinic_encrypted(schema: str, table: str, pk: Any, columns: dict[str, list[str]]) -> None:
    """Each column of the row holds a clinic-key ciphertext in which none of its plaintext pieces appear."""
    for column, pieces in columns.items():
        raw = raw_value(schema, table, column, pk)
        assert raw is not None and is_clinic_keyed(raw), f"{table}.{column} is not under the clinic key"
        for piece in pieces:
            assert piece.encode() not in raw, f"{table}.{column} holds {piece!r} in the clear"


def assert_copies_fail(
    seeded: Any, model: type[Model], table: str, columns: list[str], source: Any, target: Any
) -> None:
    """Each column's ciphertext copied from row `source` to row `target` raises DecryptionError on access."""
    schema = seeded.clinic.schema_name
    for column in columns:
        set_raw_value(schema, table, column, target, raw_value(schema, table, column, source))
    with tenant_context(seeded.clinic):
        victim = model._default_manager.get(pk=target)
        for column in columns:
            with pytest.raises(DecryptionError, match="belongs to another row"):
                getattr(victim, column)
        original = model._default_manager.get(pk=source)
        for column in columns:
            getattr(original, column)  # the source row still reads
