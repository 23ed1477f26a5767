"""A clinic's complete export (off-boarding) and its restore into a new clinic (`clinic_import`).

The ZIP (`archive_build`) holds, all in plaintext for the clinic to keep:
- `manifest.json`: format and version, the clinic's profile, every table's row count and every
  file's SHA-256, size and subject (the patient whose own key encrypted it, if any);
- `tables/<table>.json` and `tables/<table>.csv`: every row of every table of the clinic's schema
  (except sign-in sessions and staff's authenticator secrets, see EXCLUDED_TABLES), with encrypted
  fields decrypted (JSON keeps types: bytes as {"$bytes": base64}; the CSV is for
  spreadsheets, formula-like cells escaped by docos.csv_cells);
- `files/<path>`: every stored file of the clinic's storage prefix, decrypted (a file that cannot
  be read, e.g. an erased patient's, is listed in `files/UNREADABLE.txt` instead);
- `patients/<id>/...`: per-patient sections that higher apps register (`register_patient_sections`;
  privacy adds each patient's records JSON and FHIR bundle). They are derived, not restored.

`archive_import` loads such a ZIP into a new clinic: it checks every file's hash and every table's
row count first, then creates the clinic (cloned schema, new data key), inserts the rows through the
ORM (so every encrypted field is encrypted again under the new clinic's key, bound to the new
schema) and stores every file again under the new clinic's prefix and keys, rewriting the storage
names the rows hold. Any failure rolls the database back and deletes the files already written.
Columns that hold keys wrapped by the old clinic's key are registered by their app
(`register_regenerated_column`) and imported empty; the app makes them again on first use.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from clinics.models import Clinic, Domain, schema_name_for_slug
from docos import crypto
from docos.csv_cells import safe_cell
from docos.fields import EncryptedFieldMixin
from docos.storage import delete_stored, file_storage, read_raw, store_encrypted_as
from docos.tenancy import clinic_host, use_public_schema

ARCHIVE_FORMAT = "docos-clinic-export"
ARCHIVE_VERSION = 1
PROFILE_FIELDS = (
    "name",
    "contact_email",
    "gstin",
    "billing_address",
    "billing_state",
    "timezone",
    "default_language",
    "idle_timeout_minutes",
    "require_2fa_for_admins",
)
# Tables every new clinic's schema already holds, cloned from the template (bookkeeping, not data).
TEMPLATE_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})
# Tables left out of the export: sign-in sessions would let whoever holds the ZIP act as a signed-in
# member of staff while the clinic still runs (cooling-off), and a restore signs everyone in afresh.
EXCLUDED_TABLES = frozenset({"django_session"})
MANIFEST_MAX_BYTES = 256 * 1024 * 1024  # a manifest lists tables and files: far below this

Progress = Callable[[int, str], None]
PatientSections = Callable[[Any], Iterator[tuple[str, bytes]]]

_patient_sections: dict[str, PatientSections] = {}
# Staff's authenticator secrets are left out too (they would let the holder make anyone's sign-in
# codes); after a restore, staff set up their authenticator app again.
_regenerated: dict[str, set[str]] = {"accounts_user": {"totp_secret", "totp_confirmed_at"}}
# Columns that are never set in a clinic's schema (platform staff live in the public schema only,
# and the staff directory hides such rows): an export with one set was tampered with, and is refused.
_never_set: dict[str, set[str]] = {"accounts_user": {"is_platform_staff"}}


def register_patient_sections(key: str, provider: PatientSections) -> None:
    """`provider(clinic)` yields (path inside `patients/`, bytes) for every patient, run in the clinic's schema."""
    _patient_sections[key] = provider


def register_regenerated_column(db_table: str, column: str) -> None:
    """A column holding a key wrapped by the clinic's data key, or a secret that must not travel in
    the ZIP (vendor credentials): exported empty (null) and imported empty (NULL, or the field's default)."""
    _regenerated.setdefault(db_table, set()).add(column)


def _noop(percent: int, step: str) -> None:
    return None


# --- reading the clinic's schema ----------------------------------------------------------------


def _tenant_app_labels() -> set[str]:
    return {config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS}


def schema_tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
            "ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in cursor.fetchall()]


def _models_by_table() -> dict[str, type[models.Model]]:
    labels = _tenant_app_labels()
    return {
        model._meta.db_table: model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in labels and model._meta.managed and not model._meta.proxy
    }


def table_row_counts(schema: str) -> dict[str, int]:
    """Rows per table of `schema` (for the manifest, the restore drill and the deletion record)."""
    qn = connection.ops.quote_name
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in schema_tables(schema):
            cursor.execute(f"SELECT count(*) FROM {qn(schema)}.{qn(table)}")
            counts[table] = int(cursor.fetchone()[0])
    return counts


def storage_names(prefix: str) -> list[str]:
    """Every object under `prefix/` in the clinic file storage, sorted."""
    storage = file_storage()
    found: list[str] = []
    pending = [prefix]
    while pending:
        folder = pending.pop()
        try:
            folders, files = storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError, OSError):
            continue
        pending.extend(f"{folder}/{name}" for name in folders)
        found.extend(f"{folder}/{name}" for name in files)
    return sorted(found)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    return value


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return safe_cell(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return safe_cell(value)


def _model_rows(model: type[models.Model]) -> tuple[list[str], Iterator[list[Any]]]:
    fields = list(model._meta.local_concrete_fields)
    skipped = _regenerated.get(model._meta.db_table, set())
    columns = [f.attname for f in fields]

    def rows() -> Iterator[list[Any]]:
        for obj in model._base_manager.order_by("pk").iterator(chunk_size=500):
            yield [None if f.column in skipped else _jsonable(getattr(obj, f.attname)) for f in fields]

    return columns, rows()


def _raw_rows(schema: str, table: str) -> tuple[list[str], Iterator[list[Any]]]:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {qn(schema)}.{qn(table)}")
        columns = [c.name for c in cursor.description or ()]
        data = [[_jsonable(v) for v in row] for row in cursor.fetchall()]
    return columns, iter(data)


# --- building the archive -----------------------------------------------------------------------


@dataclass
class BuiltArchive:
    sha256: str
    size: int
    tables: dict[str, int]
    files: int
    unreadable: int
    patients: int


def archive_build(clinic: Clinic, out: IO[bytes], *, progress: Progress = _noop) -> BuiltArchive:
    """Write the clinic's complete export as a ZIP to `out` (see the module docstring). Runs in the clinic's schema."""
    schema = clinic.schema_name
    by_table = _models_by_table()
    manifest: dict[str, Any] = {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "created_at": timezone.now().isoformat(),
        "clinic": {"slug": clinic.slug, "schema": schema, **{f: getattr(clinic, f) for f in PROFILE_FIELDS}},
        "tables": {},
        "files": {},
        "unreadable_files": [],
        "patient_sections": sorted(_patient_sections),
    }
    patients = 0
    with tenant_context(clinic), zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        tables = schema_tables(schema)
        for index, table in enumerate(tables, start=1):
            progress(2 + int(38 * index / max(1, len(tables))), f"Table {index} of {len(tables)}")
            model = by_table.get(table)
            if table in EXCLUDED_TABLES:
                manifest["tables"][table] = {"rows": 0, "model": None, "excluded": True}
                zf.writestr(f"tables/{table}.json", json.dumps({"columns": [], "rows": [], "excluded": True}))
                continue
            columns, rows = _model_rows(model) if model is not None else _raw_rows(schema, table)
            data = list(rows)
            zf.writestr(
                f"tables/{table}.json",
                json.dumps({"columns": columns, "rows": data}, cls=DjangoJSONEncoder, ensure_ascii=False),
            )
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(columns)
            writer.writerows([_csv_text(v) for v in row] for row in data)
            zf.writestr(f"tables/{table}.csv", text.getvalue())
            manifest["tables"][table] = {"rows": len(data), "model": model._meta.label if model else None}
        names = storage_names(schema)
        unreadable: list[str] = []
        for index, name in enumerate(names, start=1):
            if index % 10 == 1:
                progress(40 + int(40 * index / max(1, len(names))), f"File {index} of {len(names)}")
            relative = name[len(schema) + 1 :]
            try:
                blob = read_raw(name)
                data_bytes = crypto.decrypt_file(clinic, blob, name)
            except (crypto.CryptoError, OSError) as exc:
                unreadable.append(f"{relative}: {type(exc).__name__}")
                continue
            subject = crypto.file_subject(blob)
            zf.writestr(f"files/{relative}", data_bytes)
            manifest["files"][relative] = {
                "sha256": hashlib.sha256(data_bytes).hexdigest(),
                "size": len(data_bytes),
                "subject": str(subject) if subject else None,
            }
        if unreadable:
            zf.writestr("files/UNREADABLE.txt", "\n".join(unreadable) + "\n")
        manifest["unreadable_files"] = unreadable
        progress(82, "Patients' records and FHIR bundles")
        seen: set[str] = set()
        for provider in _patient_sections.values():
            for path, content in provider(clinic):
                zf.writestr(f"patients/{path}", content)
                seen.add(path.split("/", 1)[0])
        patients = len(seen)
        manifest["patients"] = patients
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, cls=DjangoJSONEncoder, ensure_ascii=False))
        zf.writestr("README.txt", _README)
    use_public_schema()
    out.seek(0)
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: out.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    out.seek(0)
    return BuiltArchive(
        sha256=digest.hexdigest(),
        size=size,
        tables={t: v["rows"] for t, v in manifest["tables"].items()},
        files=len(manifest["files"]),
        unreadable=len(unreadable),
        patients=patients,
    )


_README = """DocOS clinic export

manifest.json        the clinic's profile, every table's row count, every file's SHA-256
tables/<table>.json  every row of the table (encrypted fields decrypted), with column names
tables/<table>.csv   the same rows for spreadsheets
files/...            every stored file, decrypted (see the SHA-256 in manifest.json)
patients/<id>/...    each patient's records (JSON) and FHIR R4 bundle

`python manage.py clinic_import <this zip> --slug <new-address>` restores it into a new DocOS clinic.
"""


# --- restoring ----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    clinic: Clinic
    tables: dict[str, int] = field(default_factory=dict)  # rows inserted per table
    files: int = 0


class ArchiveInvalid(ValidationError):
    pass


def _read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        if zf.getinfo("manifest.json").file_size > MANIFEST_MAX_BYTES:
            raise ArchiveInvalid("manifest.json is larger than any DocOS export writes.")
        manifest = json.loads(zf.read("manifest.json"))
    except (KeyError, ValueError):
        raise ArchiveInvalid("Not a DocOS clinic export: manifest.json is missing or unreadable.") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != ARCHIVE_FORMAT
        or manifest.get("version") != ARCHIVE_VERSION
    ):
        raise ArchiveInvalid(f"Not a DocOS clinic export of version {ARCHIVE_VERSION}.")
    if not all(isinstance(manifest.get(key), dict) for key in ("clinic", "tables", "files")):
        raise ArchiveInvalid("The manifest lacks its clinic, tables or files.")
    return manifest


def _plain_relative(relative: Any) -> bool:
    """A file name as the export writes it: a relative path with no `..`, `.`, empty or control parts."""
    if not isinstance(relative, str) or not relative or relative.startswith("/") or "\\" in relative:
        return False
    if any(ord(c) < 32 for c in relative):
        return False
    parts = PurePosixPath(relative).parts
    return str(PurePosixPath(relative)) == relative and ".." not in parts


def archive_verify(zf: zipfile.ZipFile) -> dict[str, Any]:
    """Check every file's name, size and SHA-256 and every table's row count against the manifest.
    Sizes are compared with the ZIP's directory before anything is decompressed (no zip bombs)."""
    manifest = _read_manifest(zf)
    for relative, meta in manifest["files"].items():
        if not _plain_relative(relative):
            raise ArchiveInvalid(f"The file name {relative!r} is not a plain path inside the clinic's files.")
        try:
            info = zf.getinfo(f"files/{relative}")
        except KeyError:
            raise ArchiveInvalid(f"The file {relative!r} named in the manifest is missing.") from None
        if not isinstance(meta, dict) or info.file_size != meta.get("size"):
            raise ArchiveInvalid(f"The file {relative!r} does not have the size the manifest gives.")
        digest = hashlib.sha256()
        with zf.open(info) as handle:
            for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(chunk)
        if not hmac.compare_digest(digest.hexdigest(), str(meta.get("sha256", ""))):
            raise ArchiveInvalid(f"The file {relative!r} does not match its SHA-256 in the manifest.")
    for table, meta in manifest["tables"].items():
        try:
            rows = json.loads(zf.read(f"tables/{table}.json"))["rows"]
        except (KeyError, ValueError):
            raise ArchiveInvalid(f"The table {table!r} named in the manifest is missing.") from None
        if len(rows) != meta["rows"]:
            raise ArchiveInvalid(f"The table {table!r} holds {len(rows)} rows; the manifest says {meta['rows']}.")
    return manifest


@contextmanager
def _stored_timestamps_kept(model_list: Iterable[type[models.Model]]) -> Iterator[None]:
    """Insert auto_now/auto_now_add columns as exported instead of stamping the import time."""
    changed: list[tuple[Any, bool, bool]] = []
    for model in model_list:
        for f in model._meta.local_concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                changed.append((f, f.auto_now, f.auto_now_add))  # type: ignore[attr-defined]
                f.auto_now = f.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in changed:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _convert(f: models.Field[Any, Any], value: Any) -> Any:
    value = _from_json(value)
    if value is None or isinstance(f, EncryptedFieldMixin):
        return value
    if isinstance(f, models.BinaryField):
        return value
    return f.to_python(value)


def _insert_model_rows(
    model: type[models.Model], columns: list[str], rows: list[list[Any]], renamed: dict[str, str]
) -> None:
    by_attname = {f.attname: f for f in model._meta.local_concrete_fields}
    unknown = [c for c in columns if c not in by_attname]
    if unknown:
        raise ArchiveInvalid(f"{model._meta.db_table}: unknown columns {', '.join(unknown)} (a newer or older DocOS?).")
    fields = [by_attname[c] for c in columns]
    skipped = _regenerated.get(model._meta.db_table, set())
    never_set = _never_set.get(model._meta.db_table, set())
    objs = []
    for row in rows:
        values = {}
        for f, value in zip(fields, row, strict=True):
            if f.column in never_set and value:
                raise ArchiveInvalid(
                    f"{model._meta.db_table}: a row sets {f.column} (platform staff exist only outside clinics)."
                )
            if f.column in skipped:
                value = None if f.null else f.get_default()
            elif isinstance(value, str) and value in renamed:
                value = renamed[value]
            values[f.attname] = _convert(f, value)
        objs.append(model(**values))
    batch = 500
    for start in range(0, len(objs), batch):
        model._base_manager._insert(objs[start : start + batch], fields=fields)  # type: ignore[attr-defined]


def archive_import(source: str | IO[bytes], *, slug: str, name: str = "", progress: Progress = _noop) -> ImportResult:
    """Restore an export into a new clinic at `slug` (all or nothing). Staff sign in with their old
    email addresses and passwords; the clinic gets a new data key and new file and subject keys."""
    with zipfile.ZipFile(source) as zf:
        manifest = archive_verify(zf)
        progress(10, "Verified the archive")
        use_public_schema()
        slug = slug.strip().lower()
        profile = {k: v for k, v in manifest["clinic"].items() if k in PROFILE_FIELDS}
        if name:
            profile["name"] = name
        clinic = Clinic(slug=slug, schema_name=schema_name_for_slug(slug), **profile)
        if Clinic.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": f"A clinic with the address {slug!r} already exists."})
        clinic.full_clean(exclude=["schema_name"])
        old_schema = manifest["clinic"]["schema"]
        renamed = {f"{old_schema}/{rel}": f"{clinic.schema_name}/{rel}" for rel in manifest["files"]}
        written: list[str] = []
        by_table = _models_by_table()
        result = ImportResult(clinic=clinic)
        crypto.forget_clinic_key(clinic.schema_name)
        try:
            with transaction.atomic():
                clinic.wrapped_data_key = crypto.wrap_data_key(clinic.schema_name, crypto.new_data_key())
                clinic.save()  # clones the template schema
                Domain.objects.create(domain=clinic_host(slug), tenant=clinic, is_primary=True)
                with tenant_context(clinic):
                    present = table_row_counts(clinic.schema_name)
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    model_list = [by_table[t] for t in manifest["tables"] if t in by_table]
                    with _stored_timestamps_kept(model_list):
                        for index, (table, meta) in enumerate(sorted(manifest["tables"].items()), start=1):
                            progress(10 + int(50 * index / max(1, len(manifest["tables"]))), f"Table {table}")
                            if meta.get("excluded"):
                                continue
                            if table not in present:
                                raise ArchiveInvalid(f"This DocOS has no table {table!r}.")
                            if present[table]:
                                if table in TEMPLATE_TABLES or present[table] == meta["rows"]:
                                    continue  # bookkeeping cloned from the template
                                raise ArchiveInvalid(f"The new clinic's table {table!r} is not empty.")
                            payload = json.loads(zf.read(f"tables/{table}.json"))
                            model = by_table.get(table)
                            if model is None:
                                raise ArchiveInvalid(f"The table {table!r} belongs to no installed app.")
                            _insert_model_rows(model, payload["columns"], payload["rows"], renamed)
                            result.tables[table] = len(payload["rows"])
                    with connection.cursor() as cursor:
                        for sql in connection.ops.sequence_reset_sql(no_style(), model_list):
                            cursor.execute(sql)
                    files = sorted(manifest["files"].items())
                    for index, (relative, meta) in enumerate(files, start=1):
                        if index % 10 == 1:
                            progress(60 + int(38 * index / max(1, len(files))), f"File {index} of {len(files)}")
                        subject = uuid.UUID(meta["subject"]) if meta.get("subject") else None
                        target = f"{clinic.schema_name}/{relative}"
                        store_encrypted_as(clinic, name=target, data=zf.read(f"files/{relative}"), subject=subject)
                        written.append(target)
                    result.files = len(written)
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # FK problems surface here, not at commit
        except BaseException:
            for target in written:
                delete_stored(target)
            crypto.forget_clinic_key(clinic.schema_name)
            raise
        finally:
            use_public_schema()
    progress(100, "Imported")
    return result
