"""Writes about patients: registration, edits, WhatsApp consent, merging. Every function audits
inside its transaction (ids and field names only, never PHI values).

The search keys (`name_key`, `search_words`, `phone_digits`) are recomputed here on every create
and update; nothing else writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from accounts.models import Location, User
from accounts.selectors import user_location_ids
from audit.context import AuditContext
from audit.services import audit_record
from patients import search
from patients.access import user_can_open_patient
from patients.models import BloodGroup, Patient, PatientAccessGrant, PatientCorrection, PatientNameWord, Sex
from patients.phones import normalize_phone

# The version of the privacy notice shown when consent to WhatsApp contact is taken.
DEFAULT_NOTICE_VERSION = "2025-1"
CONSENT_SOURCES = {
    "registration": "Registration desk",
    "verbal": "Told staff in person",
    "paper": "Signed paper form",
    "whatsapp": "Replied on WhatsApp",
    "phone": "Told staff on the phone",
    "web_form": "Web form",
    "import": "Imported list (consent recorded in the source system)",
    "api": "API client",
}
GUARDIAN_RELATIONS = ["Mother", "Father", "Grandparent", "Sibling", "Legal guardian", "Other relative"]
MAX_TAGS = 20
# Put on a minor imported with the guardian's name only: relation and phone still to be asked.
GUARDIAN_FOLLOW_UP_TAG = "guardian details needed"
ADULT_AGE = 18

INDIAN_STATES = [
    "Andaman and Nicobar Islands",
    "Andhra Pradesh",
    "Arunachal Pradesh",
    "Assam",
    "Bihar",
    "Chandigarh",
    "Chhattisgarh",
    "Dadra and Nagar Haveli and Daman and Diu",
    "Delhi",
    "Goa",
    "Gujarat",
    "Haryana",
    "Himachal Pradesh",
    "Jammu and Kashmir",
    "Jharkhand",
    "Karnataka",
    "Kerala",
    "Ladakh",
    "Lakshadweep",
    "Madhya Pradesh",
    "Maharashtra",
    "Manipur",
    "Meghalaya",
    "Mizoram",
    "Nagaland",
    "Odisha",
    "Puducherry",
    "Punjab",
    "Rajasthan",
    "Sikkim",
    "Tamil Nadu",
    "Telangana",
    "Tripura",
    "Uttar Pradesh",
    "Uttarakhand",
    "West Bengal",
]
_STATE_CODES = {
    "AN": "Andaman and Nicobar Islands",
    "AP": "Andhra Pradesh",
    "AR": "Arunachal Pradesh",
    "AS": "Assam",
    "BR": "Bihar",
    "CH": "Chandigarh",
    "CG": "Chhattisgarh",
    "CT": "Chhattisgarh",
    "DN": "Dadra and Nagar Haveli and Daman and Diu",
    "DD": "Dadra and Nagar Haveli and Daman and Diu",
    "DL": "Delhi",
    "GA": "Goa",
    "GJ": "Gujarat",
    "HR": "Haryana",
    "HP": "Himachal Pradesh",
    "JK": "Jammu and Kashmir",
    "JH": "Jharkhand",
    "KA": "Karnataka",
    "KL": "Kerala",
    "LA": "Ladakh",
    "LD": "Lakshadweep",
    "MP": "Madhya Pradesh",
    "MH": "Maharashtra",
    "MN": "Manipur",
    "ML": "Meghalaya",
    "MZ": "Mizoram",
    "NL": "Nagaland",
    "OD": "Odisha",
    "OR": "Odisha",
    "PY": "Puducherry",
    "PB": "Punjab",
    "RJ": "Rajasthan",
    "SK": "Sikkim",
    "TN": "Tamil Nadu",
    "TS": "Telangana",
    "TG": "Telangana",
    "TR": "Tripura",
    "UP": "Uttar Pradesh",
    "UK": "Uttarakhand",
    "UT": "Uttarakhand",
    "WB": "West Bengal",
}
_STATE_ALIASES = {
    "orissa": "Odisha",
    "pondicherry": "Puducherry",
    "new delhi": "Delhi",
    "nct of delhi": "Delhi",
    "uttaranchal": "Uttarakhand",
    "j&k": "Jammu and Kashmir",
}

# Fields a caller may set through patient_create / patient_update.
EDITABLE_FIELDS = (
    "given_name",
    "family_name",
    "sex",
    "date_of_birth",
    "dob_is_estimated",
    "phone",
    "whatsapp_number",
    "email",
    "address",
    "city",
    "state",
    "pin_code",
    "blood_group",
    "allergies",
    "chronic_conditions",
    "emergency_contact_name",
    "emergency_contact_phone",
    "registered_location",
    "tags",
    "abha_number",
    "aadhaar_last4",
    "guardian_name",
    "guardian_relation",
    "guardian_phone",
    "external_ref",
)
# What the registration and edit forms set (the estimate flag follows from "age"; imports set external_ref).
FORM_FIELDS = tuple(name for name in EDITABLE_FIELDS if name not in ("dob_is_estimated", "external_ref"))
# What an imported row sets as given (dates and the location are parsed or chosen separately).
IMPORTED_FIELDS = tuple(
    name for name in EDITABLE_FIELDS if name not in ("date_of_birth", "dob_is_estimated", "registered_location")
)
# Free-text fields scanned for a full Aadhaar number typed in by mistake.
_FREE_TEXT_FIELDS = (
    "address",
    "allergies",
    "chronic_conditions",
    "emergency_contact_name",
    "guardian_name",
    "external_ref",
    "city",
)
_AADHAAR_IN_TEXT = re.compile(r"(?<!\d)([2-9]\d{3})[ \-]?(\d{4})[ \-]?(\d{4})(?!\d)")
AADHAAR_MESSAGE = (
    "This is a full Aadhaar number. DocOS never stores it: enter only its last 4 digits, "
    "in the “Aadhaar (last 4 digits)” field."
)


class PossibleDuplicates(ValidationError):
    """Raised by patient_create when similar patients exist and the caller has not confirmed."""

    def __init__(self, candidates: list[DuplicateCandidate]) -> None:
        super().__init__(
            "This patient may already be registered. Check the possible duplicates, "
            "or confirm that this is a different person.",
            code="possible_duplicate",
        )
        self.candidates = candidates


@dataclass(frozen=True)
class DuplicateCandidate:
    patient: Patient
    reasons: tuple[str, ...]


@dataclass
class MergeResult:
    survivor: Patient
    merged: Patient
    moved: dict[str, int] = field(default_factory=dict)
    filled_fields: list[str] = field(default_factory=list)


# --- validation -------------------------------------------------------------------------------


def verhoeff_valid(number: str) -> bool:
    """The Verhoeff check Aadhaar numbers carry in their last digit."""
    d = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
        (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
        (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
        (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
        (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
        (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
        (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
        (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
        (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
    )
    p = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
        (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
        (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
        (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
        (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
        (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
        (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
    )
    check = 0
    for i, ch in enumerate(reversed(number)):
        check = d[check][p[i % 8][int(ch)]]
    return check == 0


def contains_aadhaar(text: str) -> bool:
    """True when free text holds a 12-digit number shaped and check-summed like an Aadhaar number."""
    return any(verhoeff_valid("".join(m.groups())) for m in _AADHAAR_IN_TEXT.finditer(text or ""))


def _text(value: Any, *, max_length: int) -> str:
    return " ".join(str(value or "").split())[:max_length]


def _multiline(value: Any, *, max_length: int = 2000) -> str:
    lines = [" ".join(line.split()) for line in str(value or "").replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line)[:max_length]


def normalize_abha(value: str) -> str:
    raw = str(value or "").strip()
    if not raw:
        return ""
    digits = re.sub(r"[\s\-]", "", raw)
    if not digits.isdigit():
        raise ValidationError({"abha_number": "An ABHA number has 14 digits, e.g. 12-3456-7890-1234."})
    if len(digits) == 12:
        raise ValidationError({"abha_number": "This looks like an Aadhaar number. Enter the 14-digit ABHA number."})
    if len(digits) != 14:
        raise ValidationError({"abha_number": "An ABHA number has 14 digits, e.g. 12-3456-7890-1234."})
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"


def normalize_aadhaar_last4(value: str) -> str:
    digits = re.sub(r"[\s\-xX*]", "", str(value or ""))
    if not digits:
        return ""
    if not digits.isdigit():
        raise ValidationError({"aadhaar_last4": "Enter only the last 4 digits of the Aadhaar number."})
    if len(digits) >= 12:
        raise ValidationError({"aadhaar_last4": AADHAAR_MESSAGE})
    if len(digits) != 4:
        raise ValidationError({"aadhaar_last4": "Enter exactly the last 4 digits of the Aadhaar number."})
    return digits


def normalize_state(value: str) -> str:
    text = _text(value, max_length=64)
    if not text:
        return ""
    if text.upper() in _STATE_CODES:
        return _STATE_CODES[text.upper()]
    lowered = text.lower().replace(" & ", " and ")
    for state in INDIAN_STATES:
        if state.lower() == lowered:
            return state
    if lowered in _STATE_ALIASES:
        return _STATE_ALIASES[lowered]
    raise ValidationError({"state": f"“{text}” is not an Indian state or union territory."})


def normalize_blood_group(value: str) -> str:
    text = str(value or "").strip().upper().replace(" ", "")
    if not text or text in {"UNKNOWN", "NA", "-"}:
        return ""
    text = text.replace("POSITIVE", "+").replace("NEGATIVE", "-").replace("VE", "").replace("+VE", "+")
    text = text.replace("0", "O")
    valid = {choice for choice, _ in BloodGroup.choices if choice}
    if text not in valid:
        raise ValidationError({"blood_group": "Blood group is one of A+, A-, B+, B-, AB+, AB-, O+, O-."})
    return text


def normalize_sex(value: str) -> str:
    text = str(value or "").strip().lower()
    mapping = {
        "f": Sex.FEMALE,
        "female": Sex.FEMALE,
        "woman": Sex.FEMALE,
        "m": Sex.MALE,
        "male": Sex.MALE,
        "man": Sex.MALE,
        "o": Sex.OTHER,
        "other": Sex.OTHER,
        "transgender": Sex.OTHER,
        "t": Sex.OTHER,
        "u": Sex.UNKNOWN,
        "": Sex.UNKNOWN,
        "unknown": Sex.UNKNOWN,
        "not stated": Sex.UNKNOWN,
    }
    if text not in mapping:
        raise ValidationError({"sex": "Sex is Female, Male, Other or Not stated."})
    return str(mapping[text])


def normalize_tags(value: Iterable[str] | str | None) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    tags: list[str] = []
    for item in items:
        tag = _text(item, max_length=40).lower()
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": f"Use at most {MAX_TAGS} tags."})
    return tags


def estimated_dob(age_years: int, *, today: dt.date | None = None) -> dt.date:
    """A date of birth for a stated age (same day and month, `age_years` years back)."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year - age_years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - age_years, day=28)


def age_on(dob: dt.date, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def clean_patient_fields(
    data: Mapping[str, Any],
    *,
    actor: User | None,
    existing: Patient | None = None,
    partial: bool = False,
    guardian_name_only: bool = False,
) -> dict[str, Any]:
    """Normalise and validate patient fields; raise one ValidationError naming every bad field.

    `data` holds only the fields being set; for updates the rest comes from `existing`, so the
    record-level rules (guardian of a minor) see the final state. `partial` checks the given
    fields only (forms use it to show every problem at once). `guardian_name_only` (imports) lets
    a minor through with the guardian's name alone; the caller flags the record for follow-up.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not patient fields: {', '.join(sorted(unknown))}")
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def attempt(name: str, fn: Any) -> None:
        if name not in data:
            return
        try:
            out[name] = fn(data[name])
        except ValidationError as exc:
            for key, messages in exc.message_dict.items() if hasattr(exc, "error_dict") else [(name, exc.messages)]:
                errors.setdefault(key, []).extend(messages)

    def required_name(value: Any) -> str:
        text = _text(value, max_length=100)
        if not text:
            raise ValidationError({"given_name": "Enter the patient's name."})
        return text

    def dob(value: Any) -> dt.date | None:
        if value in (None, ""):
            return None
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            raise ValidationError({"date_of_birth": "Enter a date of birth (YYYY-MM-DD)."})
        today = timezone.localdate()
        if value > today:
            raise ValidationError({"date_of_birth": "The date of birth is in the future."})
        if value.year < today.year - 125:
            raise ValidationError({"date_of_birth": "The date of birth is more than 125 years ago."})
        return value

    def email(value: Any) -> str:
        text = str(value or "").strip().lower()
        if text:
            try:
                validate_email(text)
            except ValidationError:
                raise ValidationError({"email": "Enter a valid email address."}) from None
        return text[:254]

    def pin(value: Any) -> str:
        text = re.sub(r"\s", "", str(value or ""))
        if text and not re.fullmatch(r"[1-9][0-9]{5}", text):
            raise ValidationError({"pin_code": "A PIN code has 6 digits and does not start with 0, e.g. 560034."})
        return text

    def location(value: Any) -> Location:
        if value is None or value == "":
            raise ValidationError({"registered_location": "Choose the location where the patient registers."})
        loc = value if isinstance(value, Location) else Location.objects.filter(pk=value).first()
        if loc is None:
            raise ValidationError({"registered_location": "Unknown location."})
        if existing is None or existing.registered_location_id != loc.pk:
            if not loc.is_active:
                raise ValidationError({"registered_location": "This location is closed."})
            allowed = user_location_ids(actor) if actor is not None else None
            if allowed is not None and loc.pk not in allowed:
                raise ValidationError({"registered_location": "You can register patients only at your own locations."})
        return loc

    attempt("given_name", required_name)
    attempt("family_name", lambda v: _text(v, max_length=100))
    attempt("sex", normalize_sex)
    attempt("date_of_birth", dob)
    attempt("dob_is_estimated", bool)
    attempt("phone", lambda v: normalize_phone(v, field="phone"))
    attempt("whatsapp_number", lambda v: normalize_phone(v, field="whatsapp_number", mobile=True))
    attempt("email", email)
    attempt("address", lambda v: _multiline(v, max_length=500))
    attempt("city", lambda v: _text(v, max_length=80))
    attempt("state", normalize_state)
    attempt("pin_code", pin)
    attempt("blood_group", normalize_blood_group)
    attempt("allergies", _multiline)
    attempt("chronic_conditions", _multiline)
    attempt("emergency_contact_name", lambda v: _text(v, max_length=120))
    attempt("emergency_contact_phone", lambda v: normalize_phone(v, field="emergency_contact_phone"))
    attempt("registered_location", location)
    attempt("tags", normalize_tags)
    attempt("abha_number", normalize_abha)
    attempt("aadhaar_last4", normalize_aadhaar_last4)
    attempt("guardian_name", lambda v: _text(v, max_length=120))
    attempt("guardian_relation", lambda v: _text(v, max_length=40))
    attempt("guardian_phone", lambda v: normalize_phone(v, field="guardian_phone"))
    attempt("external_ref", lambda v: _text(v, max_length=64))

    for name in _FREE_TEXT_FIELDS:
        if name in out and contains_aadhaar(str(out[name])):
            errors.setdefault(name, []).append(AADHAAR_MESSAGE)
    for tag in out.get("tags", []):
        if contains_aadhaar(tag):
            errors.setdefault("tags", []).append(AADHAAR_MESSAGE)

    def final(name: str) -> Any:
        if name in out:
            return out[name]
        if name in errors:
            return None
        return getattr(existing, name) if existing is not None else None

    if existing is None and "given_name" not in data and not partial:
        errors.setdefault("given_name", []).append("Enter the patient's name.")
    if existing is None and "registered_location" not in data and not partial:
        errors.setdefault("registered_location", []).append("Choose the location where the patient registers.")
    birth = final("date_of_birth")
    if birth is not None and age_on(birth) < ADULT_AGE and "date_of_birth" not in errors:
        for name, label in (
            ("guardian_name", "the guardian's name"),
            ("guardian_relation", "the guardian's relation to the patient"),
            ("guardian_phone", "the guardian's phone number"),
        ):
            if guardian_name_only and name != "guardian_name":
                continue
            if not final(name) and name not in errors:
                errors.setdefault(name, []).append(f"The patient is under {ADULT_AGE}: enter {label}.")
    if errors:
        raise ValidationError(errors)
    if "date_of_birth" in out and out["date_of_birth"] is None:
        out["dob_is_estimated"] = False
    return out


# --- keys and numbers -----------------------------------------------------------------------------


def mrn_prefix() -> str:
    """The MRN prefix of the current clinic: its address (slug) in capitals, e.g. DEMO."""
    tenant = getattr(connection, "tenant", None)
    slug = str(getattr(tenant, "slug", "") or getattr(tenant, "schema_name", "") or "P")
    prefix = re.sub(r"[^A-Z0-9]", "", slug.upper())[:10]
    return prefix or "P"


def format_mrn(number: int, prefix: str | None = None) -> str:
    return f"{prefix or mrn_prefix()}-{number:06d}"


def next_mrn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('patients_mrn_seq')")
        (number,) = cursor.fetchone()
    return format_mrn(int(number))


def patient_search_keys(patient: Patient) -> list[str]:
    """Recompute the search keys from the patient's names and numbers; return the changed ones."""
    key = search.name_key(patient.given_name, patient.family_name)
    values = {
        "name_key": key,
        "search_words": search.search_words(key, search.spelling(patient.given_name, patient.family_name)),
        "phone_digits": search.phone_digits_key([patient.phone, patient.whatsapp_number, patient.guardian_phone]),
    }
    changed = [name for name, value in values.items() if getattr(patient, name) != value]
    for name, value in values.items():
        setattr(patient, name, value)
    return changed


def remember_name_words(patient: Patient) -> None:
    """Add the words of the patient's name key to the vocabulary the search corrects typos with."""
    words = sorted(set(patient.name_key.split()))
    if words:
        PatientNameWord.objects.bulk_create(
            [PatientNameWord(word=w, deletes=search.deletions(w)) for w in words], ignore_conflicts=True
        )


REINDEX_BATCH = 2000


def patient_search_keys_rebuild(
    *, patient_model: Any = Patient, word_model: Any = PatientNameWord, batch_size: int = REINDEX_BATCH
) -> int:
    """Recompute the name keys of every patient of the current clinic and rebuild the typo vocabulary
    from them; return how many patients' keys changed. Run when the key rules in patients.search
    change (a migration calls it, with its historical models; `manage.py patients_search_reindex`
    does it by hand). Derived columns only: no patient detail changes, so no audit event."""
    changed = 0
    vocabulary: set[str] = set()
    rows = patient_model.objects.order_by("pk").values_list(
        "pk", "given_name", "family_name", "name_key", "search_words"
    )
    last = None
    while True:
        page = list((rows.filter(pk__gt=last) if last is not None else rows)[:batch_size])
        if not page:
            break
        last = page[-1][0]
        updates = []
        for pk, given, family, old_key, old_words in page:
            key = search.name_key(given, family)
            words = search.search_words(key, search.spelling(given, family))
            vocabulary.update(key.split())
            if key != old_key or words != old_words:
                updates.append(patient_model(pk=pk, name_key=key, search_words=words))
        if updates:
            patient_model.objects.bulk_update(updates, ["name_key", "search_words"], batch_size=batch_size)
            changed += len(updates)
    word_model.objects.all().delete()
    word_model.objects.bulk_create(
        [word_model(word=w, deletes=search.deletions(w)) for w in sorted(vocabulary)], batch_size=batch_size
    )
    return changed


def _check_unique(patient: Patient, actor: User | None) -> None:
    others = Patient.objects.exclude(pk=patient.pk)
    owner = others.filter(abha_number=patient.abha_number).first() if patient.abha_number else None
    if owner is not None:
        # Unique across the clinic, but name the record only to someone who may open it.
        if actor is not None and user_can_open_patient(actor, owner):
            raise ValidationError({"abha_number": f"This ABHA number is already recorded for patient {owner.mrn}."})
        raise ValidationError({"abha_number": "This ABHA number is already recorded for a patient of another branch."})
    if patient.external_ref and others.filter(external_ref=patient.external_ref).exists():
        raise ValidationError({"external_ref": "Another patient already has this reference from the source system."})


def _save(patient: Patient, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            patient.save(**kwargs)
    except IntegrityError as exc:  # a concurrent write took the ABHA number or source id first
        message = str(exc)
        if "patient_abha_unique" in message:
            raise ValidationError({"abha_number": "This ABHA number is already recorded for another patient."}) from exc
        if "patient_external_ref_unique" in message:
            raise ValidationError({"external_ref": "Another patient already has this source reference."}) from exc
        raise


def notice_version() -> str:
    return str(getattr(settings, "DOCOS_PRIVACY_NOTICE_VERSION", DEFAULT_NOTICE_VERSION))


# --- services -----------------------------------------------------------------------------------


@transaction.atomic
def patient_create(
    *,
    actor: User | None,
    context: AuditContext | None = None,
    duplicates_confirmed: bool = False,
    whatsapp_consent: bool = False,
    consent_source: str = "registration",
    source: str = "form",
    guardian_details_pending: bool = False,
    **fields: Any,
) -> Patient:
    """Register a patient with the next MRN of the clinic.

    Unless `duplicates_confirmed`, raises PossibleDuplicates when a patient with the same phone
    number, or a similar name and the same date of birth, already exists.

    `guardian_details_pending` (imports): a minor may come with the guardian's name only; the
    record is tagged GUARDIAN_FOLLOW_UP_TAG so the desk completes the guardian's details.
    """
    from patients.selectors import patient_possible_duplicates

    values = clean_patient_fields(fields, actor=actor, guardian_name_only=guardian_details_pending)
    if guardian_details_pending:
        values["tags"] = normalize_tags([*values.get("tags", []), GUARDIAN_FOLLOW_UP_TAG])
    patient = Patient(created_by=actor if isinstance(actor, User) else None, **values)
    patient_search_keys(patient)
    if not duplicates_confirmed:
        candidates = patient_possible_duplicates(
            given_name=patient.given_name,
            family_name=patient.family_name,
            date_of_birth=patient.date_of_birth,
            dob_is_estimated=patient.dob_is_estimated,
            phones=[patient.phone, patient.whatsapp_number],
            user=actor,
        )
        if candidates:
            raise PossibleDuplicates(candidates)
    _check_unique(patient, actor)
    patient.mrn = next_mrn()
    _save(patient, force_insert=True)
    remember_name_words(patient)
    audit_record(
        actor=actor,
        action="patient.create",
        obj=patient,
        changed_fields=sorted(values),
        location_id=patient.registered_location_id,
        context=context,
        metadata={
            "source": source,
            "duplicate_warning_overridden": bool(duplicates_confirmed),
            **({"guardian_details_pending": True} if guardian_details_pending else {}),
        },
    )
    if whatsapp_consent:
        patient_record_whatsapp_consent(patient=patient, actor=actor, source=consent_source, context=context)
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, actor: User | None, context: AuditContext | None = None, **fields: Any
) -> list[str]:
    """Change a patient's details; returns the names of the fields that changed."""
    if patient.merged_into_id is not None:
        raise ValidationError("This record was merged into another one; edit the surviving record.")
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    values = clean_patient_fields(fields, actor=actor, existing=locked)
    changed = [name for name, value in values.items() if getattr(locked, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(locked, name, values[name])
    patient_search_keys(locked)
    _check_unique(locked, actor)
    _save(locked)
    remember_name_words(locked)
    audit_record(
        actor=actor,
        action="patient.update",
        obj=locked,
        changed_fields=changed,
        location_id=locked.registered_location_id,
        context=context,
    )
    patient.refresh_from_db()
    return changed


@transaction.atomic
def patient_record_whatsapp_consent(
    *,
    patient: Patient,
    actor: User | None,
    source: str,
    notice_version_shown: str | None = None,
    at: dt.datetime | None = None,
    context: AuditContext | None = None,
    given_by: str | None = None,
) -> Patient:
    """Record consent to contact over WhatsApp (DPDP: when, how, which notice). Clears an opt-out.

    A `whatsapp_reminders` grant in the consent log (patients.consents), given by a minor's named
    guardian unless `given_by` says who gave it (a START from the minor's own number is the minor's);
    the WhatsApp fields on the patient mirror it."""
    from patients import consents

    if source not in CONSENT_SOURCES:
        raise ValidationError({"source": f"Unknown consent source {source!r}."})
    row = consents.consent_append(
        patient=patient,
        purpose=consents.ConsentPurpose.WHATSAPP_REMINDERS,
        action=consents.ConsentAction.GRANTED,
        channel=consents.CHANNEL_OF_SOURCE[source],
        actor=actor,
        given_by=given_by or consents.given_by_default(patient),
        notice_version=_text(notice_version_shown or notice_version(), max_length=20),
        at=at,
        mirror_source=source,
    )
    version = row.notice_version
    audit_record(
        actor=actor,
        action="patient.whatsapp_consent",
        obj=patient,
        changed_fields=[
            "whatsapp_consent_at",
            "whatsapp_consent_source",
            "whatsapp_consent_notice_version",
            "whatsapp_consent_taken_by",
        ],
        location_id=patient.registered_location_id,
        context=context,
        metadata={"source": source, "notice_version": version, "consent_id": str(row.pk)},
    )
    return patient


@transaction.atomic
def patient_record_whatsapp_opt_out(
    *,
    patient: Patient,
    actor: User | None,
    source: str,
    at: dt.datetime | None = None,
    context: AuditContext | None = None,
    given_by: str | None = None,
) -> Patient:
    """Record that the patient no longer wants WhatsApp messages. Kept until consent is given again.

    A `whatsapp_reminders` withdrawal in the consent log (and a `marketing` one when marketing was
    allowed: no WhatsApp message of any kind goes out after it); queued messages fail at once.
    `given_by`: who decided (a minor's guardian, by the name on record), else the patient."""
    from patients import consents

    if source not in CONSENT_SOURCES:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    channel = consents.CHANNEL_OF_SOURCE[source]
    row = consents.consent_append(
        patient=patient,
        purpose=consents.ConsentPurpose.WHATSAPP_REMINDERS,
        action=consents.ConsentAction.WITHDRAWN,
        channel=channel,
        actor=actor,
        given_by=given_by or consents.ConsentGivenBy.PATIENT,
        at=at,
        mirror_source=source,
    )
    marketing = consents.consent_latest(patient, consents.ConsentPurpose.MARKETING)
    if marketing is not None and marketing.action == consents.ConsentAction.GRANTED:
        consents.consent_append(
            patient=patient,
            purpose=consents.ConsentPurpose.MARKETING,
            action=consents.ConsentAction.WITHDRAWN,
            channel=channel,
            actor=actor,
            given_by=given_by or consents.ConsentGivenBy.PATIENT,
            at=at,
        )
    audit_record(
        actor=actor,
        action="patient.whatsapp_opt_out",
        obj=patient,
        changed_fields=["whatsapp_opted_out_at"],
        location_id=patient.registered_location_id,
        context=context,
        metadata={"source": source, "consent_id": str(row.pk)},
    )
    return patient


# --- opening a patient of another branch (break-the-glass) --------------------------------------

ACCESS_GRANT_HOURS = 12  # a clinic day: long enough for a consultation and its paperwork
ACCESS_REASON_MIN, ACCESS_REASON_MAX = 10, 500


@transaction.atomic
def patient_open_at_branch(
    *, patient: Patient, actor: User, reason: str, context: AuditContext | None = None
) -> PatientAccessGrant:
    """Let `actor`, who works at other branches, open `patient`'s whole record for ACCESS_GRANT_HOURS.

    An explicit, audited act with a reason (the reason is stored encrypted; the audit row names the
    grant, not the reason). Never a side effect of writing a record."""
    if not actor.has_capability("patients.cross_branch"):
        raise PermissionDenied("patients.cross_branch")
    text = " ".join((reason or "").split())
    if len(text) < ACCESS_REASON_MIN:
        raise ValidationError({"reason": f"Say why you need this record (at least {ACCESS_REASON_MIN} characters)."})
    if len(text) > ACCESS_REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {ACCESS_REASON_MAX} characters."})
    if not patient.is_active or patient.merged_into_id is not None:
        raise ValidationError("This patient record is not active; search for the current record.")
    ids = user_location_ids(actor)
    if ids is None:
        raise ValidationError("You can already open patients of every branch.")
    now = timezone.now()
    grant = PatientAccessGrant.objects.create(
        patient=patient,
        user=actor,
        location=Location.objects.filter(pk__in=ids).order_by("name").first(),
        reason=text,
        granted_at=now,
        expires_at=now + dt.timedelta(hours=ACCESS_GRANT_HOURS),
    )
    audit_record(
        actor=actor,
        action="patient.opened_at_branch",
        obj=patient,
        location_id=grant.location_id,
        context=context,
        metadata={
            "grant_id": str(grant.pk),
            "registered_location_id": str(patient.registered_location_id),
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


# --- merging ------------------------------------------------------------------------------------

# Demographics the survivor takes from the merged record when its own are empty.
_FILL_FIELDS = (
    "family_name",
    "date_of_birth",
    "phone",
    "whatsapp_number",
    "email",
    "address",
    "city",
    "state",
    "pin_code",
    "blood_group",
    "emergency_contact_name",
    "emergency_contact_phone",
    "abha_number",
    "aadhaar_last4",
    "guardian_name",
    "guardian_relation",
    "guardian_phone",
    "external_ref",
)
_UNIQUE_FILL_FIELDS = ("abha_number", "external_ref")


def _combine_text(keep: str, extra: str) -> str:
    """Allergies and conditions are never dropped in a merge: lines of both, without repeats."""
    lines: list[str] = []
    for line in [*keep.splitlines(), *extra.splitlines()]:
        if line.strip() and line.strip().lower() not in {x.lower() for x in lines}:
            lines.append(line.strip())
    return "\n".join(lines)


def _move_related(survivor: Patient, duplicate: Patient) -> dict[str, int]:
    """Point every row that references the duplicate at the survivor, whatever app it belongs to."""
    moved: dict[str, int] = {}
    for rel in Patient._meta.related_objects:
        related_model = rel.related_model
        if isinstance(related_model, str):  # pragma: no cover - unresolved lazy reference
            continue
        label = f"{related_model._meta.label}.{rel.field.name}"
        try:
            with transaction.atomic():
                if rel.many_to_many:
                    through = rel.through  # type: ignore[attr-defined]
                    m2m_field: Any = rel.field
                    source_name = m2m_field.m2m_reverse_field_name()
                    count = through._base_manager.filter(**{source_name: duplicate.pk}).update(
                        **{source_name: survivor.pk}
                    )
                else:
                    fk_name = rel.field.name
                    if rel.one_to_one and related_model._base_manager.filter(**{fk_name: survivor.pk}).exists():
                        if related_model._base_manager.filter(**{fk_name: duplicate.pk}).exists():
                            raise ValidationError(
                                f"Both records have a {related_model._meta.verbose_name}; "
                                "only one can be kept. Resolve it before merging."
                            )
                        continue
                    count = related_model._base_manager.filter(**{fk_name: duplicate.pk}).update(
                        **{fk_name: survivor.pk}
                    )
        except IntegrityError as exc:
            raise ValidationError(
                f"The records cannot be merged: their {related_model._meta.verbose_name_plural} conflict."
            ) from exc
        if count:
            moved[label] = count
    return moved


@transaction.atomic
def patient_merge(
    *, survivor: Patient, duplicate: Patient, actor: User | None, context: AuditContext | None = None
) -> MergeResult:
    """Merge `duplicate` into `survivor`: move every related row, fill the survivor's empty
    demographics, union allergies, conditions and tags, then mark the duplicate merged and inactive.

    Rows of any app with a foreign key to Patient move (discovered through the model's relations),
    so appointments, messages and invoices added later follow too."""
    if survivor.pk == duplicate.pk:
        raise ValidationError("Choose two different patients to merge.")
    first, second = sorted([survivor.pk, duplicate.pk], key=str)  # lock in a fixed order: no deadlocks
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[first, second])}
    if len(locked) != 2:
        raise ValidationError("One of the patients no longer exists.")
    keep, drop = locked[survivor.pk], locked[duplicate.pk]
    for patient in (keep, drop):
        if patient.merged_into_id is not None or not patient.is_active:
            raise ValidationError(f"{patient.mrn} was already merged or is inactive.")

    moved = _move_related(keep, drop)

    filled: list[str] = []
    cleared_unique: dict[str, str] = {}
    for name in _FILL_FIELDS:
        if not getattr(keep, name) and getattr(drop, name):
            value = getattr(drop, name)
            if name in _UNIQUE_FILL_FIELDS:
                cleared_unique[name] = value
            setattr(keep, name, value)
            filled.append(name)
    if filled and "date_of_birth" in filled:
        keep.dob_is_estimated = drop.dob_is_estimated
    for name in ("allergies", "chronic_conditions"):
        combined = _combine_text(getattr(keep, name), getattr(drop, name))
        if combined != getattr(keep, name):
            setattr(keep, name, combined)
            filled.append(name)
    tags = normalize_tags([*keep.tags, *drop.tags])[:MAX_TAGS]
    if tags != keep.tags:
        keep.tags = tags
        filled.append("tags")
    # Consent: the most recent decision of either record stands.
    decisions = [(p.whatsapp_consent_at, p) for p in (keep, drop) if p.whatsapp_consent_at is not None]
    if decisions and keep.whatsapp_consent_at is None:
        _, source = max(decisions, key=lambda item: item[0])
        keep.whatsapp_consent_at = source.whatsapp_consent_at
        keep.whatsapp_consent_source = source.whatsapp_consent_source
        keep.whatsapp_consent_notice_version = source.whatsapp_consent_notice_version
        keep.whatsapp_consent_taken_by_id = source.whatsapp_consent_taken_by_id
        filled.append("whatsapp_consent_at")
    opt_outs = [p.whatsapp_opted_out_at for p in (keep, drop) if p.whatsapp_opted_out_at is not None]
    if opt_outs:
        latest_opt_out = max(opt_outs)
        if (keep.whatsapp_consent_at is None or latest_opt_out > keep.whatsapp_consent_at) and (
            keep.whatsapp_opted_out_at != latest_opt_out
        ):
            keep.whatsapp_opted_out_at = latest_opt_out
            filled.append("whatsapp_opted_out_at")

    drop.merged_into = keep
    drop.is_active = False
    for name in cleared_unique:
        setattr(drop, name, "")  # unique columns move to the survivor
    drop.save(update_fields=["merged_into", "is_active", *cleared_unique, "updated_at"])
    patient_search_keys(keep)
    keep.save()

    audit_record(
        actor=actor,
        action="patient.merge",
        obj=keep,
        changed_fields=filled,
        location_id=keep.registered_location_id,
        context=context,
        metadata={"merged_patient_id": str(drop.pk), "moved": moved},
    )
    audit_record(
        actor=actor,
        action="patient.merged_into",
        obj=drop,
        changed_fields=["merged_into", "is_active", *cleared_unique],
        location_id=drop.registered_location_id,
        context=context,
        metadata={"survivor_id": str(keep.pk), "moved": moved},
    )
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    return MergeResult(survivor=survivor, merged=duplicate, moved=moved, filled_fields=filled)


def patient_field_labels() -> dict[str, str]:
    return {f.name: str(f.verbose_name) for f in Patient._meta.get_fields() if isinstance(f, models.Field)}


# --- privacy: correction, restriction, legal hold -------------------------------------------------

# What a correction request may change: the details a patient states about themselves.
CORRECTABLE_FIELDS = (
    "given_name", "family_name", "sex", "date_of_birth", "phone", "whatsapp_number", "email", "address", "city",
    "state", "pin_code", "blood_group", "emergency_contact_name", "emergency_contact_phone", "guardian_name",
    "guardian_relation", "guardian_phone",
)  # fmt: skip


@transaction.atomic
def patient_correct(
    *,
    patient: Patient,
    actor: User | None,
    reason: str,
    reference: str = "",
    context: AuditContext | None = None,
    **fields: Any,
) -> PatientCorrection | None:
    """Correct a patient's details at their request: a new version recording the values before and
    after and the reason. Returns None when nothing changed. Signed documents are not edited (they
    stay as signed; a clinician adds an addendum)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(
            {"reason": "Say why the details are corrected (the patient's request and what was shown)."}
        )
    unknown = set(fields) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"These details cannot be corrected here: {', '.join(sorted(unknown))}."})
    before = Patient.objects.get(pk=patient.pk)
    changed = patient_update(patient=patient, actor=actor, context=context, **fields)
    if not changed:
        return None
    after = Patient.objects.get(pk=patient.pk)
    from patients.registry import jsonable

    changes = {
        name: {"from": jsonable(getattr(before, name)), "to": jsonable(getattr(after, name))} for name in changed
    }
    last = PatientCorrection.objects.filter(patient=patient).order_by("-version").values_list("version", flat=True)
    correction = PatientCorrection.objects.create(
        patient=patient,
        version=(last.first() or 0) + 1,
        changes=changes,
        reason=reason,
        reference=reference[:40],
        made_by=actor,
    )
    audit_record(
        actor=actor,
        action="patient.correct",
        obj=patient,
        changed_fields=changed,
        location_id=patient.registered_location_id,
        context=context,
        metadata={"version": correction.version, **({"request": reference} if reference else {})},
    )
    return correction


@transaction.atomic
def patient_restrict(
    *, patient: Patient, actor: User | None, reason: str, context: AuditContext | None = None
) -> Patient:
    """Restrict a patient's record (an erasure the retention law does not allow yet): hidden from
    search and lists, no WhatsApp messages, marked restricted with the reason. Idempotent."""
    from patients.registry import restrict_patient_data

    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "A restriction needs its reason."})
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.restricted_at is None:
        locked.restricted_at = timezone.now()
    locked.restriction_reason = reason
    locked.save(update_fields=["restricted_at", "restriction_reason", "updated_at"])
    restrict_patient_data(locked)
    audit_record(
        actor=actor,
        action="patient.restrict",
        obj=locked,
        location_id=locked.registered_location_id,
        context=context,
    )
    patient.refresh_from_db()
    return locked


@transaction.atomic
def patient_set_legal_hold(
    *, patient: Patient, actor: User | None, hold: bool, reason: str = "", context: AuditContext | None = None
) -> Patient:
    """Put a patient under legal hold (every retention purge skips them) or release the hold. The
    hold keeps every branch's records, so only staff who work at every branch may release it."""
    reason = " ".join((reason or "").split())
    if hold and not reason:
        raise ValidationError({"reason": "A legal hold needs its reason (the case, notice or order)."})
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if not hold and locked.legal_hold_at is not None and actor is not None and user_location_ids(actor) is not None:
        raise ValidationError(
            "Only someone who works at every branch can release a legal hold: it keeps every branch's records."
        )
    locked.legal_hold_at = (locked.legal_hold_at or timezone.now()) if hold else None
    locked.legal_hold_reason = reason if hold else None
    locked.save(update_fields=["legal_hold_at", "legal_hold_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="patient.legal_hold" if hold else "patient.legal_hold_release",
        obj=locked,
        location_id=locked.registered_location_id,
        context=context,
    )
    patient.refresh_from_db()
    return locked
