"""`EncryptField`: a migration operation that turns a plain column into an encrypted one (or moves an
encrypted column to another key) and rewrites the rows it already holds.

Use it where `makemigrations` wrote `AlterField` for such a change, with the same arguments. The
model state changes exactly as with AlterField; in the database, per schema the migration runs in:

- plain -> encrypted: the column becomes bytea (holding each value's UTF-8 text for a moment, inside
  the migration's transaction), then every row is encrypted, bound to its schema, table, column and
  primary key, under the new field's key (the key ring, or the data key of the clinic owning the
  schema: a clinic schema whose rows need encrypting must belong to a clinic with a live key);
- encrypted -> encrypted with another key (e.g. `clinic_key=True` added): rows not yet under the new
  key are decrypted and encrypted again;
- backwards, encrypted -> plain: every row is decrypted and the column gets its old type back.

A plain NULL stays NULL. Rows are rewritten in primary-key order, `BATCH` at a time. JSON values are
stored in the field's canonical form (what saving the model would write).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState

from docos import crypto
from docos.fields import EncryptedFieldMixin, EncryptedJSONField

BATCH = 500


class EncryptField(migrations.AlterField):
    """AlterField for a change to or between encrypted fields, rewriting existing rows (see module docstring)."""

    def describe(self) -> str:
        return f"Encrypt field {self.name} on {self.model_name} (rewriting existing rows)"

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        self._rewrite(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        # Django passes the later state as `from_state` when unapplying, so this goes from the
        # encrypted field back to the earlier one, like AlterField.database_backwards.
        self._rewrite(app_label, schema_editor, from_state, to_state)

    def _rewrite(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, to_model):
            return
        from_model = from_state.apps.get_model(app_label, self.model_name)
        old = from_model._meta.get_field(self.name)
        new = to_model._meta.get_field(self.name)
        old_encrypted, new_encrypted = isinstance(old, EncryptedFieldMixin), isinstance(new, EncryptedFieldMixin)
        if not old_encrypted and not new_encrypted:
            raise ValueError(f"EncryptField {self.model_name}.{self.name}: neither side is an encrypted field.")
        table = _Table(schema_editor, to_model, new)
        if not old_encrypted:
            assert isinstance(new, EncryptedFieldMixin)
            table.set_type("bytea", f"convert_to({table.column}::text, 'UTF8')")
            table.set_null(old, new)
            table.rewrite(lambda pk, value: table.encrypt(new, pk, _plaintext(new, bytes(value))))
        elif not new_encrypted:
            assert isinstance(old, EncryptedFieldMixin)
            table.rewrite(lambda pk, blob: table.decrypt(pk, blob))
            target = new.db_type(schema_editor.connection)
            cast = "" if target == "text" else f"::{target}"
            table.set_null(old, new)
            table.set_type(str(target), f"convert_from({table.column}, 'UTF8'){cast}")
        else:
            assert isinstance(old, EncryptedFieldMixin) and isinstance(new, EncryptedFieldMixin)
            table.set_null(old, new)
            ring = crypto.key_ring()
            table.rewrite(
                lambda pk, blob: None if new.is_current(blob, ring) else table.encrypt(new, pk, table.decrypt(pk, blob))
            )


def _plaintext(field: EncryptedFieldMixin, data: bytes) -> bytes:
    """What saving the model would encrypt for a value stored as `data` (text, or JSON text)."""
    if isinstance(field, EncryptedJSONField):
        return field.to_plaintext(json.loads(data))
    return data


class _Table:
    def __init__(self, schema_editor: BaseDatabaseSchemaEditor, model: type[models.Model], field: models.Field) -> None:
        self.editor = schema_editor
        self.connection = schema_editor.connection
        quote = self.connection.ops.quote_name
        self.schema = str(getattr(self.connection, "schema_name", "public"))
        self.table_name = model._meta.db_table
        self.column_name = str(field.column)
        pk = model._meta.pk
        assert pk is not None
        self.pk_field = pk
        self.table, self.column, self.pk = quote(self.table_name), quote(self.column_name), quote(str(pk.column))

    def set_type(self, sql_type: str, using: str) -> None:
        self.editor.execute(f"ALTER TABLE {self.table} ALTER COLUMN {self.column} TYPE {sql_type} USING {using}")

    def set_null(self, old: models.Field, new: models.Field) -> None:
        if old.null != new.null:
            self.editor.execute(
                f"ALTER TABLE {self.table} ALTER COLUMN {self.column} {'DROP' if new.null else 'SET'} NOT NULL"
            )

    def aad(self, pk: Any) -> bytes:
        return crypto.field_aad(self.schema, self.table_name, self.column_name, self.pk_field.to_python(pk))

    def encrypt(self, field: EncryptedFieldMixin, pk: Any, plaintext: bytes) -> bytes:
        return field.encrypt_plaintext(plaintext, self.aad(pk), self.schema)

    def decrypt(self, pk: Any, blob: Any) -> bytes:
        return crypto.decrypt_field(bytes(blob), self.aad(pk), self.schema)

    def _batches(self) -> Iterator[list[tuple[Any, Any]]]:
        last: Any = None
        while True:
            after = "" if last is None else f" AND {self.pk} > %s"
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {self.pk}, {self.column} FROM {self.table} WHERE {self.column} IS NOT NULL{after} "
                    f"ORDER BY {self.pk} LIMIT %s",
                    ([] if last is None else [last]) + [BATCH],
                )
                rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def rewrite(self, change: Any) -> None:
        """Replace each non-NULL value by `change(pk, value)` (None: leave the row as it is)."""
        updated = False
        for rows in self._batches():
            updates = [(new, pk) for pk, value in rows if (new := change(pk, value)) is not None]
            if updates:
                updated = True
                with self.connection.cursor() as cursor:
                    cursor.executemany(f"UPDATE {self.table} SET {self.column} = %s WHERE {self.pk} = %s", updates)
        if updated:
            # Updating rows this transaction already wrote queues their deferred foreign-key checks, and
            # PostgreSQL refuses to ALTER a table with pending trigger events (the next EncryptField on
            # this table would fail): run the checks now, as Django's check_constraints() does.
            self.connection.check_constraints()
