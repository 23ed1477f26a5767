"""Patient lists from other systems: upload (CSV or Excel .xlsx, stored encrypted), column mapping,
a check of the whole list for possible duplicates, preview, and the import itself (run by the Celery
task `patients.import_run`, resumable and idempotent).

Reading: CSV is read with RFC 4180 quoting (doubled quotes inside quoted fields); only the delimiter
is guessed. A row whose field count differs from the header's is an error, never imported shifted.
Excel files are read with openpyxl in read-only mode, formulas as their cached values. Every cell is
kept as text; CSV exports escape formula-looking cells again (docos.csv_cells).

Duplicates: a row that is the patient already registered (same source id when that column is
mapped, otherwise the same phone number, name key and date of birth) is skipped, so re-running a
file adds no one. A row that the registration would refuse as a possible duplicate (same phone, or a
similar name and the same birth date: `patient_possible_duplicates`) is held for review; staff
decide per row to merge it into the patient, import it anyway or skip it. Decisions are stored on
the import and honoured by the task, each once.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
import zipfile
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
from audit.access_log import record_reads
from audit.context import AuditContext
from audit.services import audit_record
from docos.csv_cells import safe_cell, unescape_cell
from docos.ids import parse_uuid
from docos.storage import store_encrypted
from patients import search
from patients.access import user_can_open_patient, visible_patients
from patients.files import stored_file_read
from patients.models import Patient, PatientImport
from patients.services import (
    IMPORTED_FIELDS,
    DuplicateCandidate,
    clean_patient_fields,
    estimated_dob,
    normalize_tags,
    patient_create,
    patient_update,
)

logger = logging.getLogger(__name__)

MAX_ROWS = 50_000
BATCH_ROWS = 100
PREVIEW_ROWS = 10
MAX_STORED_ERRORS = 5_000
MAX_STORED_HELD = 5_000
# The check for possible duplicates before the import covers this many rows (the task checks every
# row again as it imports, and holds what it finds for review after the run).
REVIEW_SCAN_ROWS = 10_000
REVIEW_SHOWN = 200
MAX_COLUMNS = 200
MAX_XLSX_UNPACKED_BYTES = 250 * 1024 * 1024
# The columns an error report adds in front of the file's own (dropped when a report is imported).
REPORT_COLUMNS = ["Row", "Errors"]
ACTIONS = {"merge": "Merge into the registered patient", "create": "Import anyway", "skip": "Skip"}

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
        "regn no",
        "reg number",
        "registration no",
        "registration number",
        "patient no",
        "patient number",
        "record id",
        "external id",
        "external ref",
    ),
    "full_name": (
        "name",
        "patient name",
        "full name",
        "patient",
        "fullname",
        "patients name",
        "pt name",
        "name of patient",
    ),
    "given_name": ("first name", "given name", "firstname", "fname", "forename"),
    "family_name": ("last name", "surname", "family name", "lastname", "lname"),
    "sex": ("sex", "gender", "m/f"),
    "date_of_birth": ("dob", "date of birth", "birth date", "birthdate", "d.o.b", "born"),
    "age": ("age", "age years", "age in years", "age (years)", "age years", "age (yrs)", "age yrs", "age in yrs"),
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
        "mobile phone",
        "mob no",
        "cell no",
        "phone mobile",
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
    "guardian_name": (
        "guardian",
        "guardian name",
        "guardians name",
        "parent",
        "parent name",
        "father name",
        "fathers name",
        "mother name",
        "mothers name",
        "father/husband name",
        "father/husband",
        "fathers/husbands name",
        "father/husbands name",
        "husband/father name",
        "f/h name",
        "s/o",
        "c/o",
    ),
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
    """A list as read from the file: the header and the data rows as text, each with its row number in
    the spreadsheet (header = 1). A CSV row keeps the fields it had: one whose count differs from the
    header's is reported, never padded or cut into the wrong columns."""

    headers: list[str]
    rows: list[list[str]]
    numbers: list[int] = field(default_factory=list)

    def number(self, index: int) -> int:
        return self.numbers[index] if index < len(self.numbers) else index + 2

    def cell(self, index: int, column: int) -> str:
        row = self.rows[index]
        return row[column] if column < len(row) else ""

    def content_sha256(self) -> str:
        payload = json.dumps([self.headers, self.rows], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


ParsedList = ParsedCsv


@dataclass
class RowOutcome:
    number: int  # the row's line in the spreadsheet (header = 1)
    fields: dict[str, Any] = field(default_factory=dict)
    consent: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)
    existing: Patient | None = None
    candidates: list[DuplicateCandidate] = field(default_factory=list)
    guardian_pending: bool = False  # a minor with the guardian's name only: imported, flagged for follow-up
    decision: str = ""  # what staff decided for a held row ("merge", "create", "skip"), in the preview

    @property
    def held(self) -> bool:
        return not self.errors and self.existing is None and bool(self.candidates)


def _norm_header(text: str) -> str:
    text = text.strip().lower().replace("\u2019", "'").replace(".", " ")
    text = re.sub(r"[^\w\s/()-]", "", text)
    text = re.sub(r"\s*/\s*", "/", text)
    return re.sub(r"[\s_]+", " ", text).strip()


def _synonym_lookup() -> dict[str, str]:
    return {_norm_header(syn): target for target, synonyms in _SYNONYMS.items() for syn in synonyms}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Column -> target by the header's wording; each target is used at most once."""
    lookup = _synonym_lookup()
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


def mapping_warnings(mapping: dict[str, str]) -> list[str]:
    """What the preview warns about: no column for the phone, or for the birth date or age."""
    targets = set(mapping.values())
    warnings = []
    if not {"phone", "whatsapp_number"} & targets:
        warnings.append(
            "No column is mapped to the phone number: possible duplicates are found by name and birth date "
            "only, and the patients cannot be sent WhatsApp messages until a number is added."
        )
    if not {"date_of_birth", "age"} & targets:
        warnings.append(
            "No column is mapped to the date of birth or age: possible duplicates are found by phone only, "
            "and minors cannot be recognised."
        )
    return warnings


# --- reading files ------------------------------------------------------------------------------

_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_RECORDS = 50


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # "Unicode text" from Excel: UTF-16 with a BOM
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records into the header's number of fields most often.

    Only the delimiter is guessed: quoting is always RFC 4180 (a quote inside a quoted field is
    doubled), whatever the first lines look like."""
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    best, best_score = ",", (-1, 0)
    for delimiter in _DELIMITERS:
        widths: list[int] = []
        try:
            for record in csv.reader(io.StringIO(sample), delimiter=delimiter):
                if any(cell.strip() for cell in record):
                    widths.append(len(record))
                if len(widths) > _SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if truncated and len(widths) <= _SNIFF_RECORDS:
            widths = widths[:-1]  # the sample may end inside the last record
        if not widths or widths[0] < 2:
            continue
        score = (sum(1 for width in widths[1:] if width == widths[0]), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _records_csv(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text), dialect=csv.excel, delimiter=sniff_delimiter(text))
    try:
        yield from reader
    except csv.Error as exc:
        raise ValidationError({"file": f"This is not a readable CSV file (line {reader.line_num})."}) from exc


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _records_xlsx(data: bytes) -> Iterator[list[str]]:
    """The first worksheet's rows as text: read-only (streamed), formulas as the values Excel cached."""
    import openpyxl  # only imports of Excel files need it

    not_excel = ValidationError({"file": "This is not a readable Excel (.xlsx) file. Save it again as .xlsx or CSV."})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise not_excel from exc
    if "xl/workbook.xml" not in names:
        raise not_excel
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ValidationError({"file": "This Excel file is too large once unpacked; save it as CSV and upload that."})
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise not_excel from exc
    try:
        if not workbook.worksheets:
            raise not_excel
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            cells = [_xlsx_text(value) for value in values]
            while cells and not cells[-1].strip():
                cells.pop()  # Excel keeps formatted empty cells at the end of a row
            yield cells
    except ValidationError:
        raise
    except Exception as exc:
        raise not_excel from exc
    finally:
        workbook.close()


def _table(records: Iterator[list[str]], *, max_rows: int, positional: bool) -> ParsedCsv:
    """Header and rows from records. `positional` (Excel): a short row simply has empty cells at the
    end; for CSV a short row lost or merged fields and is kept as it is, to be reported."""
    number = 0
    raw_headers: list[str] | None = None
    for record in records:
        number += 1
        if any(cell.strip() for cell in record) or not positional:
            raw_headers = record
            break
    if raw_headers is None:
        raise ValidationError({"file": "The file is empty."})
    if not any(h.strip() for h in raw_headers):
        raise ValidationError({"file": "The first row must name the columns."})
    report = [" ".join(h.split()) for h in raw_headers[: len(REPORT_COLUMNS)]] == REPORT_COLUMNS
    skip = len(REPORT_COLUMNS) if report else 0  # an error report uploaded again: its own columns go
    raw_headers = raw_headers[skip:]
    if len(raw_headers) > MAX_COLUMNS:
        raise ValidationError({"file": f"The file has more than {MAX_COLUMNS} columns."})
    headers: list[str] = []
    for index, header in enumerate(raw_headers):
        name = " ".join(header.split()) or f"Column {index + 1}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base} ({n})", n + 1
        headers.append(name)
    rows: list[list[str]] = []
    numbers: list[int] = []
    width = len(headers)
    for record in records:
        number += 1
        cells = [unescape_cell(cell) for cell in record[skip:]]
        if not any(cell.strip() for cell in cells):
            continue
        while len(cells) > width and not cells[-1].strip():
            cells.pop()  # trailing empty fields shift nothing
        if positional and len(cells) < width:
            cells += [""] * (width - len(cells))
        rows.append(cells)
        numbers.append(number)
        if len(rows) > max_rows:
            raise ValidationError({"file": f"The file has more than {max_rows:,} rows; split it into smaller files."})
    return ParsedCsv(headers=headers, rows=rows, numbers=numbers)


def parse_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedCsv:
    text = _decode(data)
    if not text.strip():
        raise ValidationError({"file": "The file is empty."})
    return _table(_records_csv(text), max_rows=max_rows, positional=False)


def parse_file(data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedCsv:
    """A CSV or Excel (.xlsx) list; anything else is refused with a message."""
    if is_xlsx(data):
        return _table(_records_xlsx(data), max_rows=max_rows, positional=True)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValidationError({"file": "This is an old Excel (.xls) file. Save it as .xlsx or CSV and upload that."})
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff") and b"\x00" in data[:4096]:
        raise ValidationError({"file": "This is not a CSV or Excel file. Save the spreadsheet as CSV and upload that."})
    return parse_csv(data, max_rows=max_rows)


# --- reading values -------------------------------------------------------------------------------

_AGE = re.compile(
    r"(?:(?P<y>\d{1,3})\s*(?:y|yr|yrs|year|years)\b\.?)?\s*,?\s*"
    r"(?:(?P<m>\d{1,2})\s*(?:m|mo|mos|mth|mths|month|months)\b\.?)?\s*,?\s*"
    r"(?:(?P<d>\d{1,3})\s*(?:d|dy|days?)\b\.?)?",
    re.IGNORECASE,
)


def parse_age(text: str, *, bare_number: bool) -> dt.date | None:
    """A date of birth estimated from an age ("45 Y", "45Y", "62 yrs", "38 Years", "1 Y 6 M", "10 D";
    a bare "45" only when `bare_number`); None when the text is not an age."""
    value = " ".join(text.split()).rstrip(".")
    if bare_number and re.fullmatch(r"\d{1,3}", value):
        years, months, days = int(value), 0, 0
    else:
        match = _AGE.fullmatch(value)
        if not value or match is None or not any(match.groupdict().values()):
            return None
        years, months, days = (int(match.group(g) or 0) for g in ("y", "m", "d"))
    if years > 125:
        return None
    born = estimated_dob(years)
    total_months = born.year * 12 + born.month - 1 - months
    year, month = divmod(total_months, 12)
    day = min(born.day, 28) if months else born.day
    return dt.date(year, month + 1, day) - dt.timedelta(days=days)


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


_HONORIFIC = re.compile(r"^(?:mr|mrs|ms|miss|smt|shrimati|shri|dr|kum|kumari|km|master)(?:\.\s*|\s+)", re.IGNORECASE)
_INITIAL = re.compile(r"(?:[^\W\d_]\.)+|[^\W\d_]", re.UNICODE)


# Titles that are also given names in India: "Kumari Ananthan", "Kum Kum Sharma" (Kumkum).
_NAME_LIKE_TITLES = frozenset({"kum", "kumari", "master"})


def strip_honorifics(name: str) -> str:
    """ "Smt. K. Lakshmi" -> "K. Lakshmi": titles are not names (and are kept nowhere). A title said
    twice ("Kum Kum Sharma") is a name, and a name-like title written without a dot is kept when only
    one word would be left ("Kumari Ananthan")."""
    text = " ".join(name.split())
    while True:
        match = _HONORIFIC.match(text)
        rest = text[match.end() :].lstrip(" .") if match else ""
        if match is None or not rest:
            return text
        title = match.group(0).strip(" .").lower()
        following = _HONORIFIC.match(rest)
        if following is not None and following.group(0).strip(" .").lower() == title:
            return text
        if title in _NAME_LIKE_TITLES and "." not in match.group(0) and len(rest.split()) < 2:
            return text  # "Kumari Ananthan" is a name; "Kum. Ravi" is a title and a name
        text = rest


def split_name(full: str) -> tuple[str, str]:
    """Given and family name from one column. Initials ("K. S. Ramesh", "R.Lakshmi", "Ramesh K S"), as
    South Indian names carry them, are the family part; otherwise the last word is the family name."""
    text = re.sub(r"(?<![^\W\d_])([^\W\d_])\.(?=[^\W\d_])", r"\1. ", " ".join(full.split()))
    parts = text.split()
    if len(parts) <= 1:
        return (parts[0] if parts else ""), ""
    leading: list[str] = []
    while len(parts) > 1 and _INITIAL.fullmatch(parts[0]):
        leading.append(parts.pop(0))
    trailing: list[str] = []
    while len(parts) > 1 and _INITIAL.fullmatch(parts[-1]):
        trailing.insert(0, parts.pop())
    if leading or trailing:
        return " ".join(parts), " ".join([*leading, *trailing])
    return " ".join(parts[:-1]), parts[-1]


_split_name = split_name
_NAME_FIELDS = ("given_name", "full_name", "guardian_name", "emergency_contact_name")


def row_fields(row: list[str], headers: list[str], mapping: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """Turn one row into service fields (raw strings, validated later) and the consent flag."""
    values: dict[str, str] = {}
    for header, target in mapping.items():
        if target and header in headers:
            index = headers.index(header)
            values[target] = row[index].strip() if index < len(row) else ""
    for name in _NAME_FIELDS:
        if values.get(name):
            values[name] = strip_honorifics(values[name])
    fields: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "full_name" in values and not values.get("given_name"):
        given, family = split_name(values["full_name"])
        fields["given_name"] = given
        if not values.get("family_name"):
            fields["family_name"] = family
    for name in IMPORTED_FIELDS:
        if name in values and (values[name] or name not in fields):
            fields[name] = values[name]
    if values.get("date_of_birth"):
        estimate = parse_age(values["date_of_birth"], bare_number=False)
        if estimate is not None:
            fields["date_of_birth"] = estimate
            fields["dob_is_estimated"] = True
        else:
            try:
                fields["date_of_birth"] = parse_date(values["date_of_birth"])
                fields["dob_is_estimated"] = False
            except ValidationError as exc:
                errors.update(exc.message_dict)
    elif values.get("age"):
        estimate = parse_age(values["age"], bare_number=True)
        if estimate is not None:
            fields["date_of_birth"] = estimate
            fields["dob_is_estimated"] = True
        else:
            errors["age"] = [f"“{values['age']}” is not an age (e.g. 45, 45 Y, 6 M)."]
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
        return _follow_merges(found) if found and same_person(found, fields) else None
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


def same_person(patient: Patient, fields: dict[str, Any]) -> bool:
    """Whether a row carrying a registered patient's source id describes that patient: the same
    name (phonetic key), or the same phone number and date of birth. Two systems that both number
    from 1 reuse ids for different people; such a row must not be skipped as "imported before"."""
    key = search.name_key(fields.get("given_name", ""), fields.get("family_name", ""))
    if key and key == patient.name_key:
        return True
    numbers = {n for n in (fields.get("phone"), fields.get("whatsapp_number")) if n}
    return bool(numbers & {patient.phone, patient.whatsapp_number}) and (
        fields.get("date_of_birth") == patient.date_of_birth
    )


def reused_ref_error(fields: dict[str, Any]) -> dict[str, list[str]] | None:
    """The row's error when its source id already belongs to another registered person."""
    ref = fields.get("external_ref") or ""
    if not ref:
        return None
    holder = Patient.objects.filter(external_ref=ref).first()
    if holder is None or same_person(holder, fields):
        return None
    return {
        "external_ref": [
            # No MRN or name: the holder may be at a branch the importing user cannot see.
            f"Source id {ref} already belongs to another registered patient, with another name, phone and "
            "birth date. "
            "Check the export (two systems may number from 1), correct the id or leave it empty, and import "
            "this row again."
        ]
    }


def possible_duplicates(fields: dict[str, Any], *, actor: User | None) -> list[DuplicateCandidate]:
    """The registration's duplicate rules (`patient_possible_duplicates`): same phone or WhatsApp
    number, or a similar name and the same date of birth."""
    from patients.selectors import patient_possible_duplicates

    return list(
        patient_possible_duplicates(
            given_name=fields.get("given_name", ""),
            family_name=fields.get("family_name", ""),
            date_of_birth=fields.get("date_of_birth"),
            dob_is_estimated=bool(fields.get("dob_is_estimated")),
            phones=[fields.get("phone") or "", fields.get("whatsapp_number") or ""],
            user=actor,
        )
    )


def _guardian_contact_only(exc: ValidationError) -> bool:
    """True when the only problems are a minor's missing guardian relation and phone."""
    if not hasattr(exc, "error_dict"):
        return False
    errors = exc.message_dict
    return (
        bool(errors)
        and set(errors) <= {"guardian_relation", "guardian_phone"}
        and all(message.startswith("The patient is under") for messages in errors.values() for message in messages)
    )


def evaluate_row(
    row: list[str],
    *,
    number: int,
    headers: list[str],
    mapping: dict[str, str],
    location: Location,
    actor: User | None,
    check_existing: bool = True,
    check_duplicates: bool = True,
) -> RowOutcome:
    """Validate one row without writing anything; say whether it matches a registered patient and
    which patients the registration would name as possible duplicates."""
    outcome = RowOutcome(number=number)
    if len(row) != len(headers):
        outcome.errors = {
            "row": [
                f"This row has {len(row)} field{'s' if len(row) != 1 else ''} but the header has {len(headers)}: "
                "a quote or a separator is missing or extra. Nothing from this row was imported."
            ]
        }
        return outcome
    try:
        raw, outcome.consent = row_fields(row, headers, mapping)
        raw["registered_location"] = location
        try:
            outcome.fields = clean_patient_fields(raw, actor=actor)
        except ValidationError as exc:
            if not (raw.get("guardian_name") and _guardian_contact_only(exc)):
                raise
            outcome.fields = clean_patient_fields(raw, actor=actor, guardian_name_only=True)
            outcome.guardian_pending = True
    except ValidationError as exc:
        outcome.errors = dict(exc.message_dict) if hasattr(exc, "error_dict") else {"row": exc.messages}
        return outcome
    if check_existing:
        outcome.existing = find_existing(outcome.fields)
        if outcome.existing is None and (reused := reused_ref_error(outcome.fields)):
            outcome.errors = reused
            return outcome
    if check_duplicates and outcome.existing is None:
        outcome.candidates = possible_duplicates(outcome.fields, actor=actor)
    return outcome


def _chunks(items: list[str], size: int = 1000) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def review_scan(
    parsed: ParsedCsv, *, mapping: dict[str, str], location: Location, actor: User | None, limit: int = REVIEW_SCAN_ROWS
) -> dict[str, Any]:
    """The rows the import would hold for review, before it starts: rows the registration would call
    possible duplicates of a registered patient, and rows that share a phone number, or a name and
    birth date, with an earlier row of the same file (but are not the same row again).

    Fast on big lists: the rows are validated in Python, the registered phone numbers and birth
    dates they could match are fetched in a few queries, and only rows that could match are checked
    with the registration's rules."""
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, row in enumerate(parsed.rows[:limit]):
        outcome = evaluate_row(
            row,
            number=parsed.number(index),
            headers=parsed.headers,
            mapping=mapping,
            location=location,
            actor=actor,
            check_existing=False,
            check_duplicates=False,
        )
        if not outcome.errors:
            valid.append((outcome.number, outcome.fields))
    active = Patient.objects.filter(is_active=True)
    phones = sorted({n for _, f in valid for n in (f.get("phone"), f.get("whatsapp_number")) if n})
    known_phones: set[str] = set()
    for chunk in _chunks(phones):
        for phone, whatsapp in active.filter(Q(phone__in=chunk) | Q(whatsapp_number__in=chunk)).values_list(
            "phone", "whatsapp_number"
        ):
            known_phones.update({phone, whatsapp})
    years = {f["date_of_birth"].year + shift for _, f in valid if f.get("date_of_birth") for shift in (-1, 0, 1)}
    born = set(
        active.filter(date_of_birth__year__in=sorted(years)).values_list("date_of_birth", "dob_is_estimated").distinct()
    )
    exact_dates = {date for date, _ in born if date is not None}
    all_years = {date.year for date in exact_dates}
    estimated_years = {date.year for date, estimated in born if estimated and date is not None}
    refs = sorted({f["external_ref"] for _, f in valid if f.get("external_ref")})
    known_refs: dict[str, Patient] = {}
    for chunk in _chunks(refs):
        known_refs.update((p.external_ref, p) for p in Patient.objects.filter(external_ref__in=chunk))

    def may_match(fields: dict[str, Any]) -> bool:
        if {fields.get("phone"), fields.get("whatsapp_number")} & (known_phones - {""}):
            return True
        date = fields.get("date_of_birth")
        if date is None:
            return False
        near = {date.year - 1, date.year, date.year + 1}
        if fields.get("dob_is_estimated"):
            return bool(near & all_years)
        return date in exact_dates or bool(near & estimated_years)

    held: list[dict[str, Any]] = []
    by_phone: dict[str, int] = {}
    by_name_date: dict[tuple[str, dt.date], int] = {}
    seen: set[tuple[str, str, dt.date | None]] = set()
    for number, fields in valid:
        ref = fields.get("external_ref") or ""
        key = search.name_key(fields.get("given_name", ""), fields.get("family_name", ""))
        date: dt.date | None = fields.get("date_of_birth")
        numbers = [n for n in (fields.get("phone"), fields.get("whatsapp_number")) if n]
        # The same row again (same phone, name and birth date, no source id) is skipped, not held.
        repeat = not ref and any((phone, key, date) in seen for phone in numbers)
        in_file: dict[int, set[str]] = {}
        if not repeat:
            for phone in numbers:
                if phone in by_phone:
                    in_file.setdefault(by_phone[phone], set()).add("same phone number")
            if key and date is not None and (key, date) in by_name_date:
                in_file.setdefault(by_name_date[(key, date)], set()).add("same name and date of birth")
        for phone in numbers:
            by_phone.setdefault(phone, number)
            seen.add((phone, key, date))
        if key and date is not None:
            by_name_date.setdefault((key, date), number)
        if ref and ref in known_refs:
            continue  # imported before (skipped), or another person's id (an error of the row when imported)
        candidates: list[dict[str, Any]] = []
        if may_match(fields):
            if find_existing(fields) is not None:
                continue  # already registered: skipped
            candidates = [
                {"id": str(c.patient.pk), "reasons": list(c.reasons)} for c in possible_duplicates(fields, actor=actor)
            ]
        if candidates or in_file:
            held.append(
                {
                    "row": number,
                    "candidates": candidates,
                    "rows": [{"row": row, "reasons": sorted(reasons)} for row, reasons in sorted(in_file.items())],
                }
            )
    return {"scanned": min(len(parsed.rows), limit), "total": len(parsed.rows), "rows": held}


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
    """Check the file (CSV or .xlsx), store it encrypted with the clinic's key, and guess the mapping."""
    _check_location(actor, location)
    limit = int(getattr(settings, "DOCOS_UPLOAD_MAX_BYTES", 25 * 1024 * 1024))
    if len(data) > limit:
        raise ValidationError({"file": f"The file is larger than {limit // (1024 * 1024)} MB."})
    parsed = parse_file(data)
    if not parsed.rows:
        raise ValidationError({"file": "The file has a header row but no patients."})
    excel = is_xlsx(data)
    stored = store_encrypted(_clinic(), data=data, folder="imports", suffix=".xlsx" if excel else ".csv")
    patient_import = PatientImport.objects.create(
        original_name=(original_name or ("patients.xlsx" if excel else "patients.csv"))[:200],
        storage_name=stored.name,
        sha256=stored.sha256,
        content_sha256=parsed.content_sha256(),
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
        metadata={"rows": len(parsed.rows), "columns": len(parsed.headers), "format": "xlsx" if excel else "csv"},
    )
    return patient_import


def import_rows(
    patient_import: PatientImport, *, actor: User | None = None, context: AuditContext | None = None
) -> ParsedCsv:
    """The uploaded file, parsed, after checking it against the SHA-256 taken at upload (FileAltered,
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
    return parse_file(data)


def earlier_imports(patient_import: PatientImport, *, user: User) -> list[PatientImport]:
    """Imports of the same list (the same file, or the same cells saved again) that were started
    before, among the imports `user` may see: the page says so before this one starts."""
    same = Q(sha256=patient_import.sha256)
    if patient_import.content_sha256:
        same |= Q(content_sha256=patient_import.content_sha256)
    found = (
        PatientImport.objects.filter(same, created_at__lt=patient_import.created_at)
        .exclude(pk=patient_import.pk)
        .filter(status__in=[PatientImport.Status.RUNNING, PatientImport.Status.DONE, PatientImport.Status.FAILED])
        .select_related("location", "created_by")
        .defer("errors", "review", "held", "decisions")
    )
    ids = user_location_ids(user)
    if ids is not None:
        found = found.filter(location_id__in=ids)
    return list(found.order_by("-created_at")[:5])


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
    """Save the mapping and check the list for rows to hold for review (possible duplicates). A new
    mapping clears earlier decisions: the rows may now read differently."""
    # The file never changes after upload: read (and check) it before the transaction, so a failed
    # integrity check stays audited.
    parsed = import_rows(patient_import, actor=actor, context=context)
    clean = validate_mapping(mapping, parsed.headers)
    review = review_scan(parsed, mapping=clean, location=patient_import.location, actor=actor)
    with transaction.atomic():
        locked = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
        if locked.status not in (PatientImport.Status.UPLOADED, PatientImport.Status.MAPPED):
            raise ValidationError("This import has already started; upload the file again to change the mapping.")
        changed = locked.mapping != clean or locked.status != PatientImport.Status.MAPPED
        locked.mapping = clean
        locked.review = review
        if changed:
            locked.decisions = {}
        locked.status = PatientImport.Status.MAPPED
        locked.save(update_fields=["mapping", "review", "decisions", "status"])
        audit_record(
            actor=actor,
            action="patient_import.map",
            obj=locked,
            changed_fields=["mapping"],
            location_id=locked.location_id,
            context=context,
            metadata={"held_for_review": len(review["rows"])},
        )
    patient_import.refresh_from_db()
    return patient_import


def patient_import_preview(*, patient_import: PatientImport, actor: User, rows: int = PREVIEW_ROWS) -> Any:
    """The first rows as they would import: values, errors, and whether they match a patient or are
    held for review."""
    parsed = import_rows(patient_import, actor=actor)
    decisions = cast(dict[str, Any], patient_import.decisions or {})
    outcomes = []
    for index, row in enumerate(parsed.rows[:rows]):
        number = parsed.number(index)
        outcome = evaluate_row(
            row,
            number=number,
            headers=parsed.headers,
            mapping=patient_import.mapping,
            location=patient_import.location,
            actor=actor,
            check_duplicates=str(number) not in decisions,
        )
        outcome.decision = str(decisions.get(str(number), {}).get("action", ""))
        outcomes.append(outcome)
    return parsed, outcomes


# --- review of held rows ------------------------------------------------------------------------


@dataclass
class ReviewCandidate:
    """A patient a held row may be. `patient` is set only when the viewing user may open it; others
    are described as "a possible duplicate at another branch", never by MRN or name."""

    patient_id: str
    reasons: list[str]
    patient: Patient | None = None


@dataclass
class ReviewRow:
    number: int
    fields: dict[str, Any]
    candidates: list[ReviewCandidate]
    in_file: list[dict[str, Any]]
    decision: str = ""  # "merge:<patient id>", "create", "skip" or "" (not decided)
    resolved: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def choices(self) -> list[tuple[str, str]]:
        options = [
            (f"merge:{c.patient_id}", f"Merge into {c.patient.mrn}") for c in self.candidates if c.patient is not None
        ]
        return [*options, ("create", ACTIONS["create"]), ("skip", ACTIONS["skip"]), ("", "Decide later")]


def _pending_entries(patient_import: PatientImport) -> dict[int, dict[str, Any]]:
    """The rows awaiting a decision: before the run those the check found, after it those the run held."""
    if patient_import.status in (PatientImport.Status.UPLOADED, PatientImport.Status.MAPPED):
        review = cast(dict[str, Any], patient_import.review or {})
        return {int(entry["row"]): entry for entry in review.get("rows", [])}
    return {
        int(entry["row"]): entry
        for entry in cast(list[dict[str, Any]], patient_import.held or [])
        if not entry.get("resolved")
    }


def pending_review_count(patient_import: PatientImport) -> int:
    return len(_pending_entries(patient_import))


def _decision_value(decision: dict[str, Any] | None) -> str:
    if not decision:
        return ""
    return f"merge:{decision.get('patient')}" if decision.get("action") == "merge" else str(decision.get("action"))


def review_rows(patient_import: PatientImport, *, user: User, limit: int = REVIEW_SHOWN) -> list[ReviewRow]:
    """The held rows to show with their decision forms, each candidate named only if `user` may open it."""
    pending = _pending_entries(patient_import)
    if not pending:
        return []
    decisions = cast(dict[str, Any], patient_import.decisions or {})
    chosen = sorted(pending)[:limit]
    parsed = import_rows(patient_import, actor=user)
    headers = parsed.headers
    if patient_import.status in (PatientImport.Status.UPLOADED, PatientImport.Status.MAPPED):
        position = {number: index for index, number in enumerate(parsed.numbers)}
        values = {n: parsed.rows[position[n]] for n in chosen if n in position}
    else:
        values = {n: list(pending[n].get("values", [])) for n in chosen}
    ids = {c["id"] for n in chosen for c in pending[n].get("candidates", [])}
    visible = {str(p.pk): p for p in visible_patients(user).filter(pk__in=ids, is_active=True)}
    record_reads(user=user, patient_ids=[p.pk for p in visible.values()], what="import review")
    rows = []
    for number in chosen:
        entry = pending[number]
        outcome = (
            evaluate_row(
                values[number],
                number=number,
                headers=headers,
                mapping=patient_import.mapping,
                location=patient_import.location,
                actor=user,
                check_existing=False,
                check_duplicates=False,
            )
            if number in values and headers
            else RowOutcome(number=number)
        )
        rows.append(
            ReviewRow(
                number=number,
                fields=outcome.fields,
                errors=outcome.errors,
                candidates=[
                    ReviewCandidate(
                        patient_id=c["id"], reasons=list(c.get("reasons", [])), patient=visible.get(c["id"])
                    )
                    for c in entry.get("candidates", [])
                ],
                in_file=list(entry.get("rows", [])),
                decision=_decision_value(decisions.get(str(number))),
            )
        )
    return rows


def patient_import_decide(
    *,
    patient_import: PatientImport,
    choices: dict[int, str],
    actor: User,
    rest: str = "",
    context: AuditContext | None = None,
) -> PatientImport:
    """Record what to do with held rows: "merge:<patient id>" (into a patient the actor may open and
    the row was held for), "create" (import anyway), "skip", or "" (decide later); `rest` ("create" or
    "skip") decides every held row that has no decision yet and is not in `choices`. Before the run
    the task honours them as it reaches the rows; after it, deciding queues the task to apply them."""
    from patients.tasks import patient_import_run_task

    with transaction.atomic():
        locked = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
        if locked.status not in (
            PatientImport.Status.UPLOADED,
            PatientImport.Status.MAPPED,
            PatientImport.Status.DONE,
        ):
            raise ValidationError("The import is running; decide about the held rows when it has finished.")
        pending = _pending_entries(locked)
        decisions = dict(cast(dict[str, Any], locked.decisions or {}))
        errors: list[str] = []
        for number, choice in sorted(choices.items()):
            entry = pending.get(number)
            if entry is None:
                errors.append(f"Row {number} is not held for review.")
                continue
            if not choice:
                decisions.pop(str(number), None)
            elif choice in ("create", "skip"):
                decisions[str(number)] = {"action": choice, "by": str(actor.pk)}
            elif choice.startswith("merge:"):
                target = parse_uuid(choice.removeprefix("merge:"))
                allowed = {c["id"] for c in entry.get("candidates", [])}
                if (
                    target is None
                    or str(target) not in allowed
                    or not visible_patients(actor).filter(pk=target, is_active=True).exists()
                ):
                    errors.append(f"Row {number}: merge only into a patient it was held for and that you can open.")
                    continue
                decisions[str(number)] = {"action": "merge", "patient": str(target), "by": str(actor.pk)}
            else:
                errors.append(f"Row {number}: unknown decision.")
        if rest not in ("", "create", "skip"):
            errors.append("Unknown decision for the remaining rows.")
        if errors:
            raise ValidationError(errors)
        if rest:
            for number in pending:
                if number not in choices and str(number) not in decisions:
                    decisions[str(number)] = {"action": rest, "by": str(actor.pk)}
        locked.decisions = decisions
        locked.save(update_fields=["decisions"])
        counts = {action: 0 for action in ACTIONS}
        for number in pending:
            decision = decisions.get(str(number))
            if decision:
                counts[decision["action"]] += 1
        audit_record(
            actor=actor,
            action="patient_import.decide",
            obj=locked,
            location_id=locked.location_id,
            context=context,
            metadata={**counts, "undecided": len(pending) - sum(counts.values())},
        )
        if locked.status == PatientImport.Status.DONE and any(str(n) in decisions for n in pending):
            locked.status = PatientImport.Status.RUNNING
            locked.finished_at = None
            locked.save(update_fields=["status", "finished_at"])
            import_id = str(locked.pk)
            transaction.on_commit(lambda: patient_import_run_task.delay(import_id))
    patient_import.refresh_from_db()
    return patient_import


@transaction.atomic
def patient_import_start(
    *, patient_import: PatientImport, actor: User, context: AuditContext | None = None, queue: bool = True
) -> PatientImport:
    """Queue the import (once): the task starts after this transaction commits (`queue=False`: the
    caller runs `patient_import_run` itself, as the demo seeding does)."""
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
        metadata={"rows": locked.total_rows, "decisions": len(cast(dict[str, Any], locked.decisions or {}))},
    )
    import_id = str(locked.pk)
    if queue:
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


_MERGE_TEXT_FIELDS = ("allergies", "chronic_conditions")


def _combined_lines(keep: str, extra: str) -> str:
    lines: list[str] = []
    for line in [*keep.splitlines(), *extra.splitlines()]:
        if line.strip() and line.strip().lower() not in {x.lower() for x in lines}:
            lines.append(line.strip())
    return "\n".join(lines)


def _merge_row(target: Patient, outcome: RowOutcome, *, actor: User) -> None:
    """Fill the registered patient's empty details from the row (allergies, conditions and tags are
    combined, nothing is overwritten); the row's source id goes on the patient when it has none, so
    the list imported again recognises it."""
    updates: dict[str, Any] = {}
    for name, value in outcome.fields.items():
        if name in ("registered_location", "dob_is_estimated") or value in (None, "", []):
            continue
        current = getattr(target, name)
        if name in _MERGE_TEXT_FIELDS:
            combined = _combined_lines(current or "", value)
            if combined != current:
                updates[name] = combined
        elif name == "tags":
            tags = normalize_tags([*current, *value])
            if tags != current:
                updates[name] = tags
        elif name == "external_ref":
            if not current and not Patient.objects.filter(external_ref=value).exists():
                updates[name] = value
        elif not current:
            updates[name] = value
            if name == "date_of_birth":
                updates["dob_is_estimated"] = bool(outcome.fields.get("dob_is_estimated"))
    if updates:
        patient_update(patient=target, actor=actor, **updates)


def _merge_target(decision: dict[str, Any]) -> tuple[Patient | None, User | None]:
    decider_id, patient_id = parse_uuid(decision.get("by")), parse_uuid(decision.get("patient"))
    decider = User.objects.filter(pk=decider_id).first() if decider_id else None
    patient = Patient.objects.filter(pk=patient_id).first() if patient_id else None
    if patient is not None:
        patient = _follow_merges(patient)
    if patient is None or decider is None or not patient.is_active or not user_can_open_patient(decider, patient):
        return None, decider
    return patient, decider


@dataclass
class _Tally:
    created: int = 0
    skipped: int = 0
    failed: int = 0
    merged: int = 0
    held: int = 0


def _create(outcome: RowOutcome, *, actor: User, confirmed: bool, follow_up: list[str]) -> Patient:
    patient = patient_create(
        actor=actor,
        duplicates_confirmed=confirmed,
        whatsapp_consent=outcome.consent,
        consent_source="import",
        source="import",
        guardian_details_pending=outcome.guardian_pending,
        **outcome.fields,
    )
    if outcome.guardian_pending:
        follow_up.append(str(patient.pk))
    return patient


def _apply(
    outcome: RowOutcome,
    decision: dict[str, Any] | None,
    *,
    actor: User,
    import_id: Any,
    tally: _Tally,
    follow_up: list[str],
) -> str:
    """Do what the row asks (create, merge, skip, or hold); returns what happened. Raises
    ValidationError when the service refuses the row."""
    if outcome.existing is not None:
        tally.skipped += 1
        return "skipped"
    action = (decision or {}).get("action")
    if action == "skip":
        tally.skipped += 1
        return "skipped"
    if action == "merge":
        target, decider = _merge_target(cast(dict[str, Any], decision))
        if target is None or decider is None:
            raise ValidationError({"row": ["The patient chosen for merging is no longer available to merge into."]})
        _merge_row(target, outcome, actor=decider)
        audit_record(
            actor=decider,
            action="patient_import.merge_row",
            obj=target,
            location_id=target.registered_location_id,
            metadata={"import_id": str(import_id), "row": outcome.number},
        )
        tally.merged += 1
        return "merged"
    if action == "create":
        _create(outcome, actor=actor, confirmed=True, follow_up=follow_up)
        tally.created += 1
        return "created"
    if outcome.candidates:
        tally.held += 1
        return "held"
    _create(outcome, actor=actor, confirmed=True, follow_up=follow_up)
    tally.created += 1
    return "created"


def _error_messages(exc: ValidationError) -> dict[str, list[str]]:
    return dict(exc.message_dict) if hasattr(exc, "error_dict") else {"row": exc.messages}


def _run(patient_import: PatientImport) -> str:
    patient_import.refresh_from_db()
    if patient_import.status != PatientImport.Status.RUNNING:
        return str(patient_import.status)
    parsed = import_rows(patient_import)
    actor = patient_import.created_by
    location = patient_import.location
    mapping = patient_import.mapping
    decisions = cast(dict[str, Any], patient_import.decisions or {})
    for offset, batch in _batches(parsed.rows, patient_import.processed_rows):
        with transaction.atomic():
            current = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
            if current.processed_rows != offset or current.status != PatientImport.Status.RUNNING:
                return str(current.status)  # another run moved it on
            errors: list[dict[str, Any]] = list(cast(list[dict[str, Any]], current.errors or []))
            held: list[dict[str, Any]] = list(cast(list[dict[str, Any]], current.held or []))
            follow_up: list[str] = list(current.follow_up or [])
            tally = _Tally()
            for index, row in enumerate(batch):
                number = parsed.number(offset + index)
                decision = decisions.get(str(number))
                outcome = evaluate_row(
                    row,
                    number=number,
                    headers=parsed.headers,
                    mapping=mapping,
                    location=location,
                    actor=actor,
                    check_duplicates=decision is None,
                )
                try:
                    if outcome.errors:
                        raise ValidationError(outcome.errors)
                    with transaction.atomic():
                        result = _apply(
                            outcome, decision, actor=actor, import_id=current.pk, tally=tally, follow_up=follow_up
                        )
                except ValidationError as exc:
                    tally.failed += 1
                    if len(errors) < MAX_STORED_ERRORS:
                        errors.append({"row": number, "errors": _error_messages(exc), "values": row})
                    continue
                if result == "held" and len(held) < MAX_STORED_HELD:
                    held.append(
                        {
                            "row": number,
                            "values": row,
                            "candidates": [
                                {"id": str(c.patient.pk), "reasons": list(c.reasons)} for c in outcome.candidates
                            ],
                            "resolved": "",
                        }
                    )
            current.processed_rows = offset + len(batch)
            current.created_count += tally.created
            current.skipped_count += tally.skipped
            current.error_count += tally.failed
            current.merged_count += tally.merged
            current.held_count += tally.held
            current.errors = errors
            current.held = held
            current.follow_up = follow_up
            current.save(
                update_fields=[
                    "processed_rows",
                    "created_count",
                    "skipped_count",
                    "error_count",
                    "merged_count",
                    "held_count",
                    "errors",
                    "held",
                    "follow_up",
                ]
            )
    status = _resolve_held(patient_import, headers=parsed.headers)
    if status is not None:
        return status
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
                "merged": final.merged_count,
                "held": final.held_count,
                "errors": final.error_count,
                "guardian_follow_up": len(final.follow_up or []),
                "started_by": str(final.created_by_id),
            },
        )
    return str(PatientImport.Status.DONE)


def _resolve_held(patient_import: PatientImport, *, headers: list[str]) -> str | None:
    """Apply the decisions taken about rows the run held, each in its own transaction, once."""
    current = PatientImport.objects.get(pk=patient_import.pk)
    decisions = cast(dict[str, Any], current.decisions or {})
    waiting = [
        index
        for index, entry in enumerate(cast(list[dict[str, Any]], current.held or []))
        if not entry.get("resolved") and str(entry["row"]) in decisions
    ]
    for index in waiting:
        with transaction.atomic():
            locked = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
            if locked.status != PatientImport.Status.RUNNING:
                return str(locked.status)
            held = list(cast(list[dict[str, Any]], locked.held or []))
            entry = dict(held[index])
            if entry.get("resolved"):
                continue
            decision = cast(dict[str, Any], locked.decisions or {}).get(str(entry["row"]))
            outcome = evaluate_row(
                list(entry.get("values", [])),
                number=int(entry["row"]),
                headers=headers,
                mapping=locked.mapping,
                location=locked.location,
                actor=locked.created_by,
                check_duplicates=False,
            )
            follow_up = list(locked.follow_up or [])
            errors = list(cast(list[dict[str, Any]], locked.errors or []))
            tally = _Tally()
            try:
                if outcome.errors:
                    raise ValidationError(outcome.errors)
                with transaction.atomic():
                    entry["resolved"] = _apply(
                        outcome,
                        decision,
                        actor=locked.created_by,
                        import_id=locked.pk,
                        tally=tally,
                        follow_up=follow_up,
                    )
            except ValidationError as exc:
                tally.failed += 1
                entry["resolved"] = "error"
                errors.append({"row": entry["row"], "errors": _error_messages(exc), "values": entry.get("values", [])})
            if entry["resolved"] == "held":
                continue  # no decision after all
            held[index] = entry
            locked.held = held
            locked.errors = errors
            locked.follow_up = follow_up
            locked.held_count = max(0, locked.held_count - 1)
            locked.created_count += tally.created
            locked.skipped_count += tally.skipped
            locked.merged_count += tally.merged
            locked.error_count += tally.failed
            locked.save(
                update_fields=[
                    "held",
                    "errors",
                    "follow_up",
                    "held_count",
                    "created_count",
                    "skipped_count",
                    "merged_count",
                    "error_count",
                ]
            )
    return None


def error_report_csv(
    patient_import: PatientImport, *, actor: User | None = None, context: AuditContext | None = None
) -> str:
    """The rows that were not imported, as they were, with the row number and the reasons. Every
    cell that a spreadsheet would run as a formula is escaped (the file's own header too)."""
    parsed = import_rows(patient_import, actor=actor, context=context)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in [*REPORT_COLUMNS, *parsed.headers]])
    for item in cast(list[dict[str, Any]], patient_import.errors or []):
        reasons = "; ".join(
            f"{_label(name)}: {' '.join(messages)}" for name, messages in item.get("errors", {}).items()
        )
        writer.writerow([safe_cell(cell) for cell in [item.get("row"), reasons, *item.get("values", [])]])
    return out.getvalue()


_safe_cell = safe_cell


def _label(name: str) -> str:
    return TARGETS.get(name) or ("Row" if name == "row" else name.replace("_", " ").capitalize())


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


def follow_up_patients(patient_import: PatientImport, *, user: User) -> list[Patient]:
    """Minors imported with only the guardian's name, still tagged for follow-up (reads are logged)."""
    from patients.services import GUARDIAN_FOLLOW_UP_TAG

    ids = list(patient_import.follow_up or [])
    if not ids:
        return []
    found = list(
        visible_patients(user)
        .filter(pk__in=ids, is_active=True, tags__contains=[GUARDIAN_FOLLOW_UP_TAG])
        .order_by("given_name", "family_name")
    )
    record_reads(user=user, patient_ids=[p.pk for p in found], what="import follow-up")
    return found


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
        "merged": patient_import.merged_count,
        "held": patient_import.held_count,
        "errors": patient_import.error_count,
        "follow_up": len(patient_import.follow_up or []),
        "percent": 100
        if patient_import.status == PatientImport.Status.DONE
        else int(processed * 100 / total)
        if total
        else 0,
        "done": patient_import.status in (PatientImport.Status.DONE, PatientImport.Status.FAILED),
    }
