"""Re-encrypt every encrypted column and clinic data key under the primary key of the key ring.

Rotation: put a new key first in DOCOS_ENCRYPTION_KEYS (keep the old ones after it), deploy, then
run this command. Each batch is its own transaction and only rows whose ciphertext does not use the
column's current key are selected, so an interrupted run resumes where it stopped and a finished
run finds nothing to do. Once it reports 0, and `audit_rekey` has re-sealed the audit chains
(their MAC keys are derived from the same ring), the old keys may be removed from the ring.

Columns of clinic-keyed fields (`clinic_key=True`) hold values under their clinic's data key, which
the ring only wraps: re-wrapping the data key is their whole rotation. The command still visits
them, to move any value that is not under the clinic key yet (written before the column switched
keys) onto it; a clinic whose data key was destroyed reports such values as failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django_tenants.utils import get_public_schema_name, get_tenant_model

from docos import crypto
from docos.fields import EncryptedFieldMixin

MAX_FAILURES_SHOWN = 20


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[models.Model]
    field: EncryptedFieldMixin

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def column(self) -> str:
        return str(self.field.column)

    @property
    def pk_column(self) -> str:
        pk = self.model._meta.pk
        assert pk is not None
        return str(pk.column)

    def pk_value(self, raw: Any) -> Any:
        pk = self.model._meta.pk
        assert pk is not None
        return pk.to_python(raw)

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


@dataclass
class Tally:
    done: int = 0
    failures: list[str] = field(default_factory=list)


def encrypted_columns() -> list[EncryptedColumn]:
    """Every EncryptedFieldMixin column of every installed model, once per (table, column)."""
    found: dict[tuple[str, str], EncryptedColumn] = {}
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for model_field in model._meta.local_concrete_fields:
            if isinstance(model_field, EncryptedFieldMixin):
                col = EncryptedColumn(model, model_field)
                found.setdefault((col.table, col.column), col)
    return sorted(found.values(), key=lambda c: (c.table, c.column))


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def existing_columns(schema: str, tables: list[str]) -> set[tuple[str, str]]:
    """(table, column) pairs that exist in `schema` (tenant-only tables are absent from public, etc.)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = ANY(%s)",
            [schema, tables],
        )
        return {(str(t), str(c)) for t, c in cursor.fetchall()}


class Command(BaseCommand):
    help = (
        "Re-encrypt encrypted fields (every tenant schema and public) and re-wrap clinic data keys "
        "under the primary key of DOCOS_ENCRYPTION_KEYS. Resumable; a second run reports 0 to do."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument("--clinic", metavar="SLUG", help="Only this clinic's schema and data key.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = int(options["batch_size"])
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.verbosity = int(options["verbosity"])
        self.dry_run = bool(options["dry_run"])
        try:
            ring = crypto.key_ring()
        except crypto.KeyRingError as exc:
            raise CommandError(str(exc)) from exc

        Clinic = get_tenant_model()
        clinics = Clinic.objects.order_by("schema_name")
        if options["clinic"]:
            clinics = clinics.filter(slug=options["clinic"])
            if not clinics.exists():
                raise CommandError(f"No clinic with the address {options['clinic']!r}.")
            schemas = [c.schema_name for c in clinics]
        else:
            schemas = [get_public_schema_name(), *(c.schema_name for c in clinics)]

        columns = encrypted_columns()
        tally = Tally()
        for schema in schemas:
            present = existing_columns(schema, sorted({c.table for c in columns}))
            for col in columns:
                if (col.table, col.column) in present:
                    self.rotate_column(schema, col, ring, batch_size, tally)
        keys = Tally()
        self.rotate_data_keys(ring, batch_size, keys, slug=options["clinic"])

        verb = "to re-encrypt" if self.dry_run else "re-encrypted"
        self.stdout.write(
            f"{tally.done} value(s) {verb} in {len(schemas)} schema(s); "
            f"{keys.done} clinic data key(s) {'to re-wrap' if self.dry_run else 're-wrapped'}; "
            f"primary key id {ring.primary_kid!r}."
        )
        failures = tally.failures + keys.failures
        if failures:
            for line in failures[:MAX_FAILURES_SHOWN]:
                self.stderr.write(f"  cannot decrypt: {line}")
            raise CommandError(
                f"{len(failures)} ciphertext(s) could not be re-encrypted (unknown key id, a destroyed clinic "
                "data key, or the value does not belong to its row); they were left unchanged."
            )
        if not self.dry_run and tally.done + keys.done == 0:
            self.stdout.write(self.style.SUCCESS("Nothing to do: 0 values use an old key."))

    # --- field values ------------------------------------------------------------------------------

    def rotate_column(
        self, schema: str, col: EncryptedColumn, ring: crypto.KeyRing, batch_size: int, tally: Tally
    ) -> None:
        # The bytes a current value starts with: the ring's primary key id, or the clinic-key layout.
        prefix = crypto.CLINIC_FIELD_PREFIX if col.field.clinic_key else ring.primary_prefix
        table = f"{_q(schema)}.{_q(col.table)}"
        stale = f"{_q(col.column)} IS NOT NULL AND substring({_q(col.column)} from 1 for {len(prefix)}) <> %s"
        if self.dry_run:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {table} WHERE {stale}", [prefix])
                count = int(cursor.fetchone()[0])
            tally.done += count
            if count and self.verbosity >= 1:
                self.stdout.write(f"{schema}: {col.label}: {count} to re-encrypt")
            return

        done_here = 0
        last_pk: Any = None
        while True:
            with transaction.atomic():
                rows = self._select_batch(table, col, stale, prefix, last_pk, batch_size)
                if not rows:
                    break
                done, failed = self.rotate_batch(schema, col, table, rows)
            last_pk = rows[-1][0]
            done_here += done
            tally.done += done
            tally.failures.extend(f"{schema}.{col.table}.{col.column} pk={pk}" for pk in failed)
            if self.verbosity >= 1:
                self.stdout.write(f"{schema}: {col.label}: {done_here} re-encrypted")

    def _select_batch(
        self, table: str, col: EncryptedColumn, stale: str, prefix: bytes, last_pk: Any, batch_size: int
    ) -> list[tuple[Any, bytes]]:
        pk = _q(col.pk_column)
        after = f" AND {pk} > %s" if last_pk is not None else ""
        params: list[Any] = [prefix] + ([last_pk] if last_pk is not None else []) + [batch_size]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {pk}, {_q(col.column)} FROM {table} WHERE {stale}{after} ORDER BY {pk} LIMIT %s FOR UPDATE",
                params,
            )
            return [(row[0], bytes(row[1])) for row in cursor.fetchall()]

    def rotate_batch(
        self, schema: str, col: EncryptedColumn, table: str, rows: list[tuple[Any, bytes]]
    ) -> tuple[int, list[Any]]:
        """Re-encrypt one locked batch (inside its transaction) under the column's current key.
        Returns (re-encrypted, failed pks)."""
        updates: list[tuple[bytes, Any]] = []
        failed: list[Any] = []
        for pk, blob in rows:
            aad = crypto.field_aad(schema, col.table, col.column, col.pk_value(pk))
            try:
                plaintext = crypto.decrypt_field(blob, aad, schema)
                updates.append((col.field.encrypt_plaintext(plaintext, aad, schema), pk))
            except crypto.CryptoError:
                failed.append(pk)
        if updates:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET {_q(col.column)} = %s WHERE {_q(col.pk_column)} = %s",
                    updates,
                )
        return len(updates), failed

    # --- clinic data keys (public schema) ------------------------------------------------------------

    def rotate_data_keys(self, ring: crypto.KeyRing, batch_size: int, tally: Tally, slug: str | None) -> None:
        prefix = ring.primary_prefix
        table = f"{_q(get_public_schema_name())}.{_q(get_tenant_model()._meta.db_table)}"
        where = "wrapped_data_key IS NOT NULL AND substring(wrapped_data_key from 1 for %s) <> %s"
        params: list[Any] = [len(prefix), prefix]
        if slug:
            where += " AND slug = %s"
            params.append(slug)
        if self.dry_run:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", params)
                tally.done += int(cursor.fetchone()[0])
            return
        last_id = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, schema_name, wrapped_data_key FROM {table} WHERE {where} AND id > %s "
                    "ORDER BY id LIMIT %s FOR UPDATE",
                    [*params, last_id, batch_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                updates: list[tuple[bytes, int]] = []
                for clinic_id, schema_name, wrapped in rows:
                    try:
                        updates.append((ring.reencrypt(bytes(wrapped), crypto.data_key_aad(schema_name)), clinic_id))
                    except crypto.CryptoError:
                        tally.failures.append(f"data key of clinic schema {schema_name}")
                if updates:
                    cursor.executemany(f"UPDATE {table} SET wrapped_data_key = %s WHERE id = %s", updates)
            last_id = rows[-1][0]
            tally.done += len(updates)
            if self.verbosity >= 1:
                self.stdout.write(f"clinic data keys: {tally.done} re-wrapped")
