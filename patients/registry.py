"""The patient-data registry: what each app holds about a patient, and how to export, restrict,
erase and purge it.

Each app that stores patient data registers a `PatientDataSource` from its AppConfig.ready
(patients, clinical, documents, appointments, messaging, billing), so privacy features (the rights
workbench's export and erasure, the retention purges) reach a new app (imaging, pharmacy) when it
registers, without edits here or in `privacy`.

A source says:
- `export(patient)`: its records as JSON-able dicts, by section ("visits", "prescriptions", ...);
- `files(patient)`: its stored files (encrypted in storage) to put in an export, decrypted;
- `erase(patient)`: delete its rows (in the caller's transaction) and return the storage names of
  the files to delete once that transaction commits;
- `restrict(patient)`: optional extra step of a restriction (messaging stops conversations);
- `category`: CLINICAL records are kept 10 years after the last encounter (minors: until 10 years
  after they turn 18, whichever is later), BILLING records 8 years after their financial year;
  `retain_until(patient)` says until when the law makes the clinic keep this source's records;
- `last_encounter(patient)`: for CLINICAL sources, the newest encounter-like moment they hold,
  and `last_encounter_sql`, the same as a subquery on the patient row (the nightly purge);
- `erase_order`: erasure runs sources in this order (apps above first, the patient row last).

Retention periods are the legal minimums (settings RETENTION_CLINICAL_YEARS, RETENTION_BILLING_YEARS);
a clinic may only lengthen them: `retention_years` asks the provider a higher app registers
(privacy's clinic settings) and never returns less than the minimum.

Per-file encryption keys: files are encrypted with the clinic's data key (docos.crypto); there is
no per-patient key to destroy, so an erasure deletes the patient's files from storage (copies in
backups age out with the backups).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Expression, Subquery

from audit.retention import register_retention_setting, retention_years  # noqa: F401  (re-exported)
from docos.storage import delete_stored
from patients.file_keys import destroy_file_keys
from patients.models import Patient

CLINICAL = "clinical"
BILLING = "billing"
CONTACT = "contact"  # messages: their own 90-day rule (messaging.retention)
IDENTITY = "identity"  # the patient's registration itself

Records = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class ExportFile:
    path: str  # inside the archive, e.g. "documents/uploads/2026-03-01-cbc-report.pdf"
    storage_name: str
    sha256: str


@dataclass
class Erased:
    rows: int = 0
    files: list[str] = field(default_factory=list)  # storage names, deleted after the commit


@dataclass(frozen=True)
class PatientDataSource:
    key: str  # "clinical"
    label: str  # "Visits, notes, vitals, diagnoses and prescriptions"
    category: str
    export: Callable[[Patient], Records]
    erase: Callable[[Patient], Erased]
    files: Callable[[Patient], list[ExportFile]] = lambda patient: []
    restrict: Callable[[Patient], None] | None = None
    retain_until: Callable[[Patient], dt.date | None] | None = None
    last_encounter: Callable[[Patient], dt.datetime | None] | None = None
    last_encounter_sql: Callable[[], Expression | Subquery] | None = None
    erase_order: int = 50


_SOURCES: dict[str, PatientDataSource] = {}


def register_data_source(source: PatientDataSource) -> None:
    """Register (or replace, on a re-run of ready()) the source named `source.key`."""
    _SOURCES[source.key] = source


def data_sources() -> list[PatientDataSource]:
    return sorted(_SOURCES.values(), key=lambda s: (s.erase_order, s.key))


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def last_encounter(patient: Patient) -> dt.datetime | None:
    moments = [
        moment
        for source in data_sources()
        if source.category == CLINICAL and source.last_encounter is not None
        if (moment := source.last_encounter(patient)) is not None
    ]
    return max(moments) if moments else None


def clinical_retain_until(patient: Patient, encounter: dt.datetime | None = None) -> dt.date | None:
    """Until when clinical records must be kept: `years` after the last encounter, and for a patient
    seen as a minor, until `years` after their 18th birthday, whichever is later. None: nothing held."""
    encounter = encounter or last_encounter(patient)
    if encounter is None:
        return None
    years = retention_years(CLINICAL)
    until = add_years(encounter.date(), years)
    if patient.date_of_birth is not None:
        until = max(until, add_years(patient.date_of_birth, 18 + years))
    return until


def financial_year_end(day: dt.date) -> dt.date:
    """The 31 March that ends the Indian financial year `day` falls in."""
    return dt.date(day.year + (1 if day.month >= 4 else 0), 3, 31)


@dataclass(frozen=True)
class Hold:
    source: str  # the source's label
    until: dt.date


def retention_holds(patient: Patient, today: dt.date) -> list[Hold]:
    """The sources whose records the law still makes the clinic keep on `today`, with until when."""
    holds = []
    for source in data_sources():
        if source.retain_until is None:
            continue
        until = source.retain_until(patient)
        if until is not None and until >= today:
            holds.append(Hold(source.label, until))
    return holds


def erase_patient_data(patient: Patient, *, keep_patient_row: bool = False) -> dict[str, int]:
    """Delete everything every source holds about `patient` (in the caller's transaction); the
    files go from storage once it commits. Returns rows deleted per source (counts, never PHI)."""
    counts: dict[str, int] = {}
    files: list[str] = []
    # Their files' keys go first (also when the registration row is kept): every copy of the files,
    # in object storage, its versions and backups, is unreadable from here on.
    counts["file_keys"] = destroy_file_keys(patient_ids(patient))
    for source in data_sources():
        if keep_patient_row and source.category == IDENTITY:
            continue
        erased = source.erase(patient)
        counts[source.key] = erased.rows
        files += erased.files
    delete_files_on_commit(files)
    return counts


def delete_files_on_commit(names: list[str]) -> None:
    names = [n for n in names if n]
    if names:

        def delete() -> None:
            for name in names:
                delete_stored(name)

        transaction.on_commit(delete)


def restrict_patient_data(patient: Patient) -> None:
    for source in data_sources():
        if source.restrict is not None:
            source.restrict(patient)


# --- what the patients app itself holds ---------------------------------------------------------------

PATIENT_FIELDS = (
    "mrn", "given_name", "family_name", "sex", "date_of_birth", "dob_is_estimated", "phone", "whatsapp_number",
    "email", "address", "city", "state", "pin_code", "blood_group", "allergies", "chronic_conditions",
    "emergency_contact_name", "emergency_contact_phone", "tags", "abha_number", "aadhaar_last4", "guardian_name",
    "guardian_relation", "guardian_phone", "whatsapp_consent_at", "whatsapp_consent_source",
    "whatsapp_consent_notice_version", "whatsapp_opted_out_at", "restricted_at", "legal_hold_at", "created_at",
    "updated_at",
)  # fmt: skip


CONSENT_FIELDS = (
    "purpose", "action", "given_by", "guardian_name", "guardian_relation", "notice_version", "channel",
    "recorded_at", "note",
)  # fmt: skip


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record_of(obj: Any, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"id": str(obj.pk), **{name: jsonable(getattr(obj, name)) for name in names}}


def patient_ids(patient: Patient) -> list[Any]:
    """The ids a source's records of `patient` may carry: theirs and their merged duplicates'."""
    return [patient.pk, *Patient.objects.filter(merged_into=patient).values_list("pk", flat=True)]


def _patients_of(patient: Patient) -> list[Patient]:
    """The patient and the duplicates merged into them (the same person)."""
    return [patient, *Patient.objects.filter(merged_into=patient)]


def _export_patient(patient: Patient) -> Records:
    people = _patients_of(patient)
    return {
        "patient": [
            {**record_of(p, PATIENT_FIELDS), "registered_location": p.registered_location.name} for p in people
        ],
        "consent_log": [
            {
                **record_of(c, CONSENT_FIELDS),
                "recorded_by": c.recorded_by.full_name if c.recorded_by else None,
            }
            for p in people
            for c in p.consent_log.select_related("recorded_by").order_by("recorded_at")
        ],
        "corrections": [
            record_of(c, ("version", "changes", "reason", "reference", "made_at"))
            for p in people
            for c in p.corrections.all()
        ],
        "branch_access_grants": [
            {**record_of(g, ("reason", "granted_at", "expires_at")), "user": g.user.full_name}
            for p in people
            for g in p.access_grants.select_related("user")
        ],
    }


def _erase_patient(patient: Patient) -> Erased:
    rows = 0
    for person in reversed(_patients_of(patient)):  # the merged duplicates first (they point at the patient)
        rows += person.consent_log.all().delete()[0]
        rows += person.corrections.all().delete()[0]
        rows += person.access_grants.all().delete()[0]
        rows += Patient.objects.filter(pk=person.pk).delete()[0]
    return Erased(rows=rows)


def register_patients_source() -> None:
    register_data_source(
        PatientDataSource(
            key="patients",
            label="Registration details, consent log, corrections and branch access grants",
            category=IDENTITY,
            export=_export_patient,
            erase=_erase_patient,
            erase_order=100,
        )
    )
