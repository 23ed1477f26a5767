"""Shared helpers for the encryption tests: raw column reads and key rings."""

from __future__ import annotations

from typing import Any

from django.db import connection

from docos.crypto import generate_key_spec, key_prefix
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
