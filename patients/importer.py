"""Patient lists from other systems: upload (CSV, stored encrypted), column mapping, preview, and the
import itself (run by the Celery task `patients.import_run`, resumable and idempotent).

Re-running a file creates no duplicates: a row matches an existing patient by its source id
(external_ref) when that column is mapped, otherwise by the same phone number, the same name key
and the same date of birth. Matched rows are skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Location, User
from accounts.selectors import user_location_ids
from audit.context import AuditContext
from audit.services import audit_record
from docos.storage import store_encrypted
from patients import search
from patients.files import stored_file_read
from patients.models import Patient, PatientImport
from patients.services import IMPORTED_FIELDS, clean_patient_fields, estimated_dob, patient_create

logger = logging.getLogger(__name__)

MAX_ROWS = 50_000
BATCH_ROWS = 100
PREVIEW_ROWS = 10
MAX_STORED_ERRORS = 5_000

# Mapping targets offered on the mapping screen, in order.
TARGETS: dict[str, str] = {
    "external_ref": "Source system id (used to avoid duplicates)",
    "full_name": "Full name (split into given and family name)",
    "given_name": "Given name",
    "family_name": "Family name",
    "sex": "Sex",
    "date_of_birth": "Date of birth",
    "age": "Age in years",
    "phone": "Phone",
    "whatsapp_number": "WhatsApp number",
    "email": "Email",
    "address": "Address",
    "city": "City",
    "state": "State",
    "pin_code": "PIN code",
    "blood_group": "Blood group",
    "allergies": "Allergies",
    "chronic_conditions": "Chronic conditions",
    "emergency_contact_name": "Emergency contact name",
    "emergency_contact_phone": "Emergency contact phone",
    "abha_number": "ABHA number",
    "aadhaar_last4": "Aadhaar (last 4 digits only)",
    "guardian_name": "Guardian's name",
    "guardian_relation": "Guardian's relation",
    "guardian_phone": "Guardian's phone",
    "tags": "Tags (comma-separated)",
    "whatsapp_consent": "Consented to WhatsApp (yes/no)",
}
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_ref": (
        "id",
        "patient id",
        "patientid",
        "source id",
        "uhid",
        "mrn",
        "mr no",
        "mrno",
        "reg no",
        "registration no",
        "registration number",
        "patient no",
        "patient number",
        "record id",
        "external id",
        "external ref",
    ),
    "full_name": ("name", "patient name", "full name", "patient", "fullname"),
    "given_name": ("first name", "given name", "firstname", "fname", "forename"),
    "family_name": ("last name", "surname", "family name", "lastname", "lname"),
    "sex": ("sex", "gender", "m/f"),
    "date_of_birth": ("dob", "date of birth", "birth date", "birthdate", "d.o.b", "born"),
    "age": ("age", "age years", "age in years", "age (years)"),
    "phone": (
        "phone",
        "mobile",
        "mobile no",
        "mobile number",
        "phone number",
        "phone no",
        "contact",
        "contact no",
        "contact number",
        "cell",
        "telephone",
    ),
    "whatsapp_number": ("whatsapp", "whatsapp number", "whatsapp no", "wa number"),
    "email": ("email", "e-mail", "email address", "mail"),
    "address": ("address", "addr", "street", "residential address", "address line"),
    "city": ("city", "town", "village", "district"),
    "state": ("state", "province"),
    "pin_code": ("pin", "pincode", "pin code", "zip", "zip code", "postal code", "postcode"),
    "blood_group": ("blood group", "bloodgroup", "blood", "blood type"),
    "allergies": ("allergies", "allergy", "drug allergy", "known allergies"),
    "chronic_conditions": ("chronic conditions", "conditions", "medical history", "comorbidities", "history"),
    "emergency_contact_name": ("emergency contact", "emergency contact name", "emergency name", "next of kin"),
    "emergency_contact_phone": ("emergency phone", "emergency contact phone", "emergency number", "emergency mobile"),
    "abha_number": ("abha", "abha number", "abha no", "health id", "healthid", "abha id"),
    "aadhaar_last4": ("aadhaar", "aadhar", "aadhaar no", "aadhaar number", "aadhar no", "aadhaar last 4"),
    "guardian_name": ("guardian", "guardian name", "parent", "parent name", "father name", "mother name"),
    "guardian_relation": ("relation", "guardian relation", "relationship"),
    "guardian_phone": ("guardian phone", "parent phone", "guardian mobile", "parent mobile"),
    "tags": ("tags", "labels", "category"),
    "whatsapp_consent": ("whatsapp consent", "consent", "wa consent", "whatsapp opt in", "opt in"),
}
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d/%m/%y",
    "%d-%m-%y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d %B %Y",
    "%d-%b-%y",
    "%Y/%m/%d",
)
_YES = {"yes", "y", "true", "1", "agreed", "consented", "opt in", "opted in"}
_NO = {"no", "n", "false", "0", "", "declined", "opted out"}


@dataclass
class ParsedCsv:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class RowOutcome:
    number: int  # the row's line in the spreadsheet (header = 1)
    fields: dict[str, Any] = field(default_factory=dict)
    consent: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)
    existing: Patient | None = None


def _norm_header(text: str) -> str:
    return re.sub(r"[\s_]+", " ", re.sub(r"[^\w\s/.-]", "", text.strip().lower())).strip()


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Column -> target by the header's wording; each target is used at most once."""
    lookup = {syn: target for target, synonyms in _SYNONYMS.items() for syn in synonyms}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        target = lookup.get(_norm_header(header))
        if target and target not in used:
            mapping[header] = target
            used.add(target)
    if "full_name" in used and {"given_name", "family_name"} & used:
        mapping = {h: t for h, t in mapping.items() if t != "full_name"}
    return mapping


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedCsv:
    text = _decode(data)
    if not text.strip():
        raise ValidationError({"file": "The file is empty."})
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        raw_headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ValidationError({"file": "The file has no header row."}) from exc
    headers: list[str] = []
    for index, header in enumerate(raw_headers):
        name = " ".join(header.split()) or f"Column {index + 1}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base} ({n})", n + 1
        headers.append(name)
    if not any(h for h in raw_headers if h.strip()):
        raise ValidationError({"file": "The first row must name the columns."})
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append([*row, *[""] * (len(headers) - len(row))][: len(headers)])
            if len(rows) > max_rows:
                raise ValidationError(
                    {"file": f"The file has more than {max_rows:,} rows; split it into smaller files."}
                )
    except csv.Error as exc:
        raise ValidationError({"file": f"This is not a readable CSV file (line {reader.line_num})."}) from exc
    return ParsedCsv(headers=headers, rows=rows)


def parse_date(text: str) -> dt.date:
    value = " ".join(text.split())
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if parsed.year > timezone.localdate().year:  # a two-digit year in the future: last century
            parsed = parsed.replace(year=parsed.year - 100)
        return parsed
    raise ValidationError({"date_of_birth": f"“{value}” is not a date; use DD/MM/YYYY or YYYY-MM-DD."})


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split()
    if len(parts) <= 1:
        return (parts[0] if parts else ""), ""
    return " ".join(parts[:-1]), parts[-1]


def row_fields(row: list[str], headers: list[str], mapping: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """Turn one CSV row into service fields (raw strings, validated later) and the consent flag."""
    values: dict[str, str] = {}
    for header, target in mapping.items():
        if target and header in headers:
            values[target] = row[headers.index(header)].strip()
    fields: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "full_name" in values and not values.get("given_name"):
        given, family = _split_name(values["full_name"])
        fields["given_name"] = given
        if not values.get("family_name"):
            fields["family_name"] = family
    for name in IMPORTED_FIELDS:
        if name in values and (values[name] or name not in fields):
            fields[name] = values[name]
    if values.get("date_of_birth"):
        try:
            fields["date_of_birth"] = parse_date(values["date_of_birth"])
            fields["dob_is_estimated"] = False
        except ValidationError as exc:
            errors.update(exc.message_dict)
    elif values.get("age"):
        match = re.fullmatch(r"(\d{1,3})\s*(y|yr|yrs|years?)?", values["age"].lower())
        if match and int(match.group(1)) <= 125:
            fields["date_of_birth"] = estimated_dob(int(match.group(1)))
            fields["dob_is_estimated"] = True
        else:
            errors["age"] = [f"“{values['age']}” is not an age in years."]
    consent_text = values.get("whatsapp_consent", "").strip().lower()
    if consent_text not in _YES | _NO:
        errors["whatsapp_consent"] = [f"“{values['whatsapp_consent']}” is not yes or no."]
    if errors:
        raise ValidationError(errors)
    return fields, consent_text in _YES


def _follow_merges(patient: Patient) -> Patient:
    seen = set()
    while patient.merged_into_id is not None and patient.pk not in seen:
        seen.add(patient.pk)
        patient = Patient.objects.get(pk=patient.merged_into_id)
    return patient


def find_existing(fields: dict[str, Any]) -> Patient | None:
    """The patient a row describes, if already registered (see the module docstring)."""
    ref = fields.get("external_ref") or ""
    if ref:
        found = Patient.objects.filter(external_ref=ref).first()
        return _follow_merges(found) if found else None
    numbers = [n for n in (fields.get("phone"), fields.get("whatsapp_number")) if n]
    key = search.name_key(fields.get("given_name", ""), fields.get("family_name", ""))
    if not numbers or not key:
        return None
    same = Patient.objects.filter(Q(phone__in=numbers) | Q(whatsapp_number__in=numbers), name_key=key)
    born: dt.date | None = fields.get("date_of_birth")
    if born is None:
        same = same.filter(date_of_birth__isnull=True)
    elif fields.get("dob_is_estimated"):
        # An age imported again on another day estimates a slightly different date: match the year.
        same = same.filter(dob_is_estimated=True, date_of_birth__year=born.year)
    else:
        same = same.filter(date_of_birth=born)
    found = same.order_by("created_at").first()
    return _follow_merges(found) if found else None


def evaluate_row(
    row: list[str], *, number: int, headers: list[str], mapping: dict[str, str], location: Location, actor: User | None
) -> RowOutcome:
    """Validate one row without writing anything; say whether it matches a registered patient."""
    outcome = RowOutcome(number=number)
    try:
        raw, outcome.consent = row_fields(row, headers, mapping)
        raw["registered_location"] = location
        outcome.fields = clean_patient_fields(raw, actor=actor)
    except ValidationError as exc:
        outcome.errors = dict(exc.message_dict) if hasattr(exc, "error_dict") else {"row": exc.messages}
        return outcome
    outcome.existing = find_existing(outcome.fields)
    return outcome


# --- services -----------------------------------------------------------------------------------


def _clinic() -> Any:
    return connection.tenant  # type: ignore[attr-defined]


def _check_location(actor: User, location: Location) -> None:
    allowed = user_location_ids(actor)
    if allowed is not None and location.pk not in allowed:
        raise ValidationError({"location": "You can import patients only into your own locations."})
    if not location.is_active:
        raise ValidationError({"location": "This location is closed."})


@transaction.atomic
def patient_import_upload(
    *, actor: User, data: bytes, original_name: str, location: Location, context: AuditContext | None = None
) -> PatientImport:
    """Check the CSV, store it encrypted with the clinic's key, and guess the column mapping."""
    _check_location(actor, location)
    limit = int(getattr(settings, "DOCOS_UPLOAD_MAX_BYTES", 25 * 1024 * 1024))
    if len(data) > limit:
        raise ValidationError({"file": f"The file is larger than {limit // (1024 * 1024)} MB."})
    if b"\x00" in data[:4096]:
        raise ValidationError({"file": "This is not a CSV file. Save the spreadsheet as CSV and upload that."})
    parsed = parse_csv(data)
    if not parsed.rows:
        raise ValidationError({"file": "The file has a header row but no patients."})
    stored = store_encrypted(_clinic(), data=data, folder="imports", suffix=".csv")
    patient_import = PatientImport.objects.create(
        original_name=(original_name or "patients.csv")[:200],
        storage_name=stored.name,
        sha256=stored.sha256,
        mapping=guess_mapping(parsed.headers),
        location=location,
        total_rows=len(parsed.rows),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="patient_import.upload",
        obj=patient_import,
        location_id=location.pk,
        context=context,
        metadata={"rows": len(parsed.rows), "columns": len(parsed.headers)},
    )
    return patient_import


def import_rows(
    patient_import: PatientImport, *, actor: User | None = None, context: AuditContext | None = None
) -> ParsedCsv:
    """The uploaded CSV, parsed, after checking it against the SHA-256 taken at upload (FileAltered,
    audited as `file.integrity_failed`, when the stored file is not the one uploaded)."""
    data = stored_file_read(
        clinic=_clinic(),
        name=patient_import.storage_name,
        sha256=patient_import.sha256,
        obj=patient_import,
        location_id=patient_import.location_id,
        actor=actor,
        context=context,
    )
    return parse_csv(data)


def validate_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    clean = {h: t for h, t in mapping.items() if t}
    errors: list[str] = []
    unknown_targets = {t for t in clean.values() if t not in TARGETS}
    if unknown_targets or set(clean) - set(headers):
        errors.append("The mapping names columns or fields that do not exist.")
    targets = list(clean.values())
    doubled = sorted({TARGETS.get(t, t) for t in targets if targets.count(t) > 1})
    if doubled:
        errors.append(f"Each field can come from one column only: {', '.join(doubled)}.")
    if not {"given_name", "full_name"} & set(targets):
        errors.append("Choose the column with the patient's name (full name or given name).")
    if errors:
        raise ValidationError({"mapping": errors})
    return clean


def patient_import_set_mapping(
    *, patient_import: PatientImport, mapping: dict[str, str], actor: User, context: AuditContext | None = None
) -> PatientImport:
    # The file never changes after upload: read (and check) it before the transaction, so a failed
    # integrity check stays audited.
    parsed = import_rows(patient_import, actor=actor, context=context)
    with transaction.atomic():
        locked = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
        if locked.status not in (PatientImport.Status.UPLOADED, PatientImport.Status.MAPPED):
            raise ValidationError("This import has already started; upload the file again to change the mapping.")
        locked.mapping = validate_mapping(mapping, parsed.headers)
        locked.status = PatientImport.Status.MAPPED
        locked.save(update_fields=["mapping", "status"])
        audit_record(
            actor=actor,
            action="patient_import.map",
            obj=locked,
            changed_fields=["mapping"],
            location_id=locked.location_id,
            context=context,
        )
    patient_import.refresh_from_db()
    return patient_import


def patient_import_preview(*, patient_import: PatientImport, actor: User, rows: int = PREVIEW_ROWS) -> Any:
    """The first rows as they would import: values, errors, and whether they match a patient."""
    parsed = import_rows(patient_import, actor=actor)
    outcomes = [
        evaluate_row(
            row,
            number=index + 2,
            headers=parsed.headers,
            mapping=patient_import.mapping,
            location=patient_import.location,
            actor=actor,
        )
        for index, row in enumerate(parsed.rows[:rows])
    ]
    return parsed, outcomes


@transaction.atomic
def patient_import_start(
    *, patient_import: PatientImport, actor: User, context: AuditContext | None = None
) -> PatientImport:
    """Queue the import (once): the task starts after this transaction commits."""
    from patients.tasks import patient_import_run_task

    locked = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
    if locked.status != PatientImport.Status.MAPPED:
        raise ValidationError("Check the column mapping first; an import can be started once.")
    locked.status = PatientImport.Status.RUNNING
    locked.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="patient_import.start",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        metadata={"rows": locked.total_rows},
    )
    import_id = str(locked.pk)
    transaction.on_commit(lambda: patient_import_run_task.delay(import_id))
    patient_import.refresh_from_db()
    return patient_import


def _advisory_key(patient_import: PatientImport) -> str:
    return f"patient_import:{connection.schema_name}:{patient_import.pk}"  # type: ignore[attr-defined]


def patient_import_run(*, import_id: Any) -> str:
    """Import the rows (called by the task). Resumes after the last committed batch; a second
    worker given the same import returns at once. Returns the final status."""
    patient_import = PatientImport.objects.filter(pk=import_id).select_related("location", "created_by").first()
    if patient_import is None:
        return "missing"
    if patient_import.status != PatientImport.Status.RUNNING:
        return str(patient_import.status)  # done, failed, or never started: nothing to do
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [_advisory_key(patient_import)])
        (locked,) = cursor.fetchone()
    if not locked:
        return "busy"
    try:
        return _run(patient_import)
    except (OperationalError, InterfaceError):
        raise  # transient: the task retries and resumes after the last committed batch
    except Exception:
        logger.exception("patient import failed", extra={"import_id": str(patient_import.pk)})
        PatientImport.objects.filter(pk=patient_import.pk).update(
            status=PatientImport.Status.FAILED, finished_at=timezone.now()
        )
        raise
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_advisory_key(patient_import)])
        except DatabaseError:
            logger.warning("could not release the import lock; it ends with the connection")


def _batches(rows: list[list[str]], start: int) -> Iterator[tuple[int, list[list[str]]]]:
    for offset in range(start, len(rows), BATCH_ROWS):
        yield offset, rows[offset : offset + BATCH_ROWS]


def _run(patient_import: PatientImport) -> str:
    patient_import.refresh_from_db()
    if patient_import.status != PatientImport.Status.RUNNING:
        return str(patient_import.status)
    parsed = import_rows(patient_import)
    actor = patient_import.created_by
    location = patient_import.location
    mapping = patient_import.mapping
    for offset, batch in _batches(parsed.rows, patient_import.processed_rows):
        with transaction.atomic():
            current = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
            if current.processed_rows != offset or current.status != PatientImport.Status.RUNNING:
                return str(current.status)  # another run moved it on
            errors: list[dict[str, Any]] = list(cast(list[dict[str, Any]], current.errors or []))
            created = skipped = failed = 0
            for index, row in enumerate(batch):
                number = offset + index + 2
                outcome = evaluate_row(
                    row, number=number, headers=parsed.headers, mapping=mapping, location=location, actor=actor
                )
                if outcome.errors:
                    failed += 1
                    if len(errors) < MAX_STORED_ERRORS:
                        errors.append({"row": number, "errors": outcome.errors, "values": row})
                    continue
                if outcome.existing is not None:
                    skipped += 1
                    continue
                try:
                    patient_create(
                        actor=actor,
                        duplicates_confirmed=True,
                        whatsapp_consent=outcome.consent,
                        consent_source="import",
                        source="import",
                        **outcome.fields,
                    )
                except ValidationError as exc:
                    failed += 1
                    if len(errors) < MAX_STORED_ERRORS:
                        messages = dict(exc.message_dict) if hasattr(exc, "error_dict") else {"row": exc.messages}
                        errors.append({"row": number, "errors": messages, "values": row})
                    continue
                created += 1
            current.processed_rows = offset + len(batch)
            current.created_count += created
            current.skipped_count += skipped
            current.error_count += failed
            current.errors = errors
            current.save(update_fields=["processed_rows", "created_count", "skipped_count", "error_count", "errors"])
    with transaction.atomic():
        final = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
        if final.status != PatientImport.Status.RUNNING:
            return str(final.status)
        final.status = PatientImport.Status.DONE
        final.finished_at = timezone.now()
        final.save(update_fields=["status", "finished_at"])
        audit_record(
            actor=None,
            action="patient_import.finish",
            obj=final,
            location_id=final.location_id,
            metadata={
                "created": final.created_count,
                "skipped": final.skipped_count,
                "errors": final.error_count,
                "started_by": str(final.created_by_id),
            },
        )
    return str(PatientImport.Status.DONE)


def error_report_csv(
    patient_import: PatientImport, *, actor: User | None = None, context: AuditContext | None = None
) -> str:
    """The rows that were not imported, as they were, with the row number and the reasons."""
    parsed = import_rows(patient_import, actor=actor, context=context)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Row", "Errors", *parsed.headers])
    for item in cast(list[dict[str, Any]], patient_import.errors or []):
        reasons = "; ".join(
            f"{TARGETS.get(name, name.replace('_', ' ').capitalize())}: {' '.join(messages)}"
            for name, messages in item.get("errors", {}).items()
        )
        writer.writerow([item.get("row"), reasons, *[_safe_cell(v) for v in item.get("values", [])]])
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ is read as text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def patient_import_audit_download(
    *, patient_import: PatientImport, actor: User, context: AuditContext | None = None
) -> None:
    audit_record(
        actor=actor,
        action="patient_import.error_report",
        obj=patient_import,
        location_id=patient_import.location_id,
        context=context,
        metadata={"rows": patient_import.error_count},
    )


def import_status(patient_import: PatientImport) -> dict[str, Any]:
    total = patient_import.total_rows or 0
    processed = patient_import.processed_rows
    return {
        "status": patient_import.status,
        "label": patient_import.get_status_display(),
        "total": total,
        "processed": processed,
        "created": patient_import.created_count,
        "skipped": patient_import.skipped_count,
        "errors": patient_import.error_count,
        "percent": 100
        if patient_import.status == PatientImport.Status.DONE
        else int(processed * 100 / total)
        if total
        else 0,
        "done": patient_import.status in (PatientImport.Status.DONE, PatientImport.Status.FAILED),
    }
