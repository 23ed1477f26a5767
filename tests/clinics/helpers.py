"""Catalog queries the tenancy tests use to compare schemas."""

from __future__ import annotations

from django.db import connection


def schema_exists_exact(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def applied(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return {(app, name) for app, name in cursor.fetchall()}


def fingerprint(schema: str) -> dict[str, list[tuple[str, ...]]]:
    """Columns, indexes, constraints and sequences of a schema, with its own name replaced by `@`,
    so two schemas with the same structure compare equal."""
    connection.set_schema_to_public()  # neither schema on the search path: definitions come out qualified
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::text, "
            "a.attidentity::text, coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY 1, 2",
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1, 2",
            [schema],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1, 2, 3, 4",
            [schema],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT sequencename, start_value::text, increment_by::text FROM pg_sequences "
            "WHERE schemaname = %s ORDER BY 1",
            [schema],
        )
        sequences = cursor.fetchall()

    def norm(rows: list[tuple[object, ...]]) -> list[tuple[str, ...]]:
        return sorted(tuple(str(v).replace(f'"{schema}".', "@.").replace(f"{schema}.", "@.") for v in r) for r in rows)

    return {
        "columns": norm(columns),
        "indexes": norm(indexes),
        "constraints": norm(constraints),
        "sequences": norm(sequences),
    }
