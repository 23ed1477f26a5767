"""Clinical records: visits (with encrypted notes, signing and addenda) and prescriptions.

Rules kept here, whatever the caller (HTML view, API, demo seed):
- a signed visit is never edited: later changes are addenda, the original stays as it was;
- a signed prescription is immutable: `prescription_revise` makes a new draft version pointing to
  it, and signing that version marks the old one superseded;
- only `clinical.sign` signs visits and only `prescriptions.sign` signs prescriptions, and a
  prescriber without a registration number cannot sign (it must print on the prescription);
- signing a prescription renders its PDF, stores it encrypted, and publishes its hash for /verify,
  in the same transaction; the clinic's formulary learns the drugs prescribed.
Each write is audited with the names of the changed fields, never their values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.guards import require_capability, require_location
from accounts.models import Location, User
from accounts.selectors import user_can_access_location
from audit.context import AuditContext
from audit.services import audit_record
from clinical import icd10, rx_safety
from clinical.allergies import allergies_for_check
from clinical.models import (
    FormularyDrug,
    Prescription,
    PrescriptionItem,
    PrescriptionSafetyOverride,
    Visit,
    VisitAddendum,
)
from clinical.pdf import prescription_pdf_context
from documents.models import SignedDocument
from documents.signing import sign_document, signed_document_read
from patients.access import patient_check_writable
from patients.models import Patient

NOTE_KEYS = ("history", "examination", "subjective", "objective", "assessment", "plan")
NOTE_MAX_CHARS = 20_000
ADDENDUM_MAX_CHARS = 10_000
DIAGNOSES_MAX = 20
DIAGNOSIS_TEXT_MAX = 200
ITEMS_MAX = 30
VISIT_FIELDS = (
    "visit_at",
    "location",
    "clinician",
    "chief_complaint",
    "bp_systolic",
    "bp_diastolic",
    "pulse",
    "temperature_c",
    "spo2",
    "weight_kg",
    "height_cm",
    "procedures_performed",
    "advice",
    "follow_up_date",
)
PRESCRIPTION_FIELDS = ("location", "general_advice", "general_advice_hi", "follow_up_date", "print_hindi")
ITEM_FIELDS = (
    "drug_name",
    "strength",
    "form",
    "dose",
    "frequency",
    "route",
    "duration",
    "food_relation",
    "instructions",
    "instructions_hi",
)

# ICD-10 (WHO) and ICD-10-CM shapes: a letter, two characters (digits, or a digit and a letter as in
# C4A), then optionally a dot and 1-4 characters: J06.9, E11.65, S72.001A, U07.1.
ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
# Dose timing: "1-0-1" (morning-afternoon-night) or "1-0-0-1" (with evening); halves as ½, 1/2 or 0.5.
_SLOT = r"(?:\d{1,2}(?:\.\d)?|½|1/2)"
FREQUENCY_RE = re.compile(rf"^{_SLOT}(?:-{_SLOT}){{2,3}}$")
FREQUENCY_WORDS = frozenset(
    {"OD", "BD", "BID", "TDS", "TID", "QID", "HS", "SOS", "PRN", "STAT", "Q4H", "Q6H", "Q8H", "Q12H"}
    | {"WEEKLY", "ONCE WEEKLY", "TWICE WEEKLY", "ALTERNATE DAYS", "MONTHLY", "AS DIRECTED"}
)
FREQUENCY_HELP = "Use slots like 1-0-1 or 1-1-1-1 (½ allowed), or OD, BD, TDS, QID, HS, SOS, STAT, weekly, As directed."
OVERRIDE_REASON_MIN = 5
# What a prescription line lacks, field by field (the form, the API's schema and the service say the same).
LINE_MESSAGES = {
    "dose": "Enter the dose, e.g. 1 tablet, 5 ml, 2 puffs.",
    "frequency": "Enter how often, e.g. 1-0-1 or BD; for as needed choose SOS, or As directed.",
    "duration": "Enter for how long, e.g. 5 days, 1 month, until review.",
}
OVERRIDE_REASON_MAX = 500


# --- validation helpers ------------------------------------------------------------------------------


def normalize_icd10(code: str) -> str:
    """Upper-cased ICD-10 code with its dot (J069 -> J06.9), one of the WHO ICD-10 list
    (clinical.icd10); raises ValidationError for other shapes and for codes not in the list."""
    value = (code or "").strip().upper().replace(" ", "")
    if not value:
        return ""
    if "." not in value and len(value) > 3:
        value = f"{value[:3]}.{value[3:]}"
    if not ICD10_RE.match(value):
        raise ValidationError(
            f"{code.strip()!r} is not an ICD-10 code: a letter, two characters, then optionally a dot and "
            "up to four more, e.g. J06.9 or E11.65.",
            code="icd10",
        )
    return icd10.require_known(value)


def normalize_frequency(value: str) -> str:
    """Canonical frequency text; raises ValidationError if it is neither slots nor a known abbreviation."""
    text = " ".join((value or "").split())
    if not text:
        return ""
    compact = text.replace(" ", "")
    if FREQUENCY_RE.match(compact):
        slots = compact.split("-")
        if all(slot in ("0", "0.0") for slot in slots):
            raise ValidationError("A frequency of all zeros means never; enter when the medicine is taken.")
        return compact
    if text.upper() in FREQUENCY_WORDS:
        return text.upper()
    raise ValidationError(f"{text!r} is not a frequency we understand. {FREQUENCY_HELP}", code="frequency")


def visit_notes(visit: Visit) -> dict[str, str]:
    """The visit's notes as a dict of section -> text (decrypted on access)."""
    value: Any = visit.notes
    return {str(key): str(text) for key, text in value.items()} if isinstance(value, dict) else {}


def clean_notes(notes: Mapping[str, Any] | None) -> dict[str, str]:
    """SOAP notes and narrative, keyed by NOTE_KEYS; blank sections are dropped."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, value in (notes or {}).items():
        if key not in NOTE_KEYS:
            errors[key] = f"Unknown section {key!r}; use {', '.join(NOTE_KEYS)}."
            continue
        text = "" if value is None else str(value).strip()
        if len(text) > NOTE_MAX_CHARS:
            errors[key] = f"Keep each section under {NOTE_MAX_CHARS:,} characters."
        elif text:
            cleaned[key] = text
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_diagnoses(diagnoses: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """[{"text", "icd10"}]: text required (the words print), ICD-10 code optional but well-formed."""
    cleaned: list[dict[str, str]] = []
    errors: dict[str, list[str]] = {}
    rows = list(diagnoses or [])
    if len(rows) > DIAGNOSES_MAX:
        raise ValidationError({"diagnoses": f"At most {DIAGNOSES_MAX} diagnoses per visit."})
    for index, row in enumerate(rows):
        text = str(row.get("text") or "").strip()
        raw_code = str(row.get("icd10") or "").strip()
        if not text and not raw_code:
            continue
        try:
            code = normalize_icd10(raw_code)
        except ValidationError as exc:
            errors[f"diagnoses.{index}.icd10"] = exc.messages
            continue
        if not text:
            errors[f"diagnoses.{index}.text"] = ["Describe the diagnosis in words; the code alone does not print."]
        elif len(text) > DIAGNOSIS_TEXT_MAX:
            errors[f"diagnoses.{index}.text"] = [f"Keep a diagnosis under {DIAGNOSIS_TEXT_MAX} characters."]
        else:
            cleaned.append({"text": text, "icd10": code})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_visit(visit: Visit) -> None:
    errors: dict[str, list[str]] = {}
    try:
        visit.full_clean(exclude=["patient", "location", "clinician", "signed_by", "notes"], validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if (visit.bp_systolic is None) != (visit.bp_diastolic is None):
        errors.setdefault("bp_diastolic", []).append("Enter both blood pressure values, or neither.")
    elif visit.bp_systolic is not None and visit.bp_diastolic is not None and visit.bp_diastolic >= visit.bp_systolic:
        errors.setdefault("bp_diastolic", []).append("Diastolic pressure must be lower than systolic.")
    if visit.visit_at and visit.visit_at > timezone.now() + dt.timedelta(hours=12):
        errors.setdefault("visit_at", []).append("A visit cannot be recorded in the future.")
    if visit.clinician_id is not None and not visit.clinician.is_active:
        errors.setdefault("clinician", []).append("Choose an active clinician.")
    if errors:
        raise ValidationError(errors)


def _collect(errors: dict[str, list[str]], check: Any, *args: Any) -> Any:
    """Run one validation step, adding its field errors to `errors` (so all are reported at once)."""
    try:
        return check(*args)
    except ValidationError as exc:
        for field, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}).items():
            errors.setdefault(field, []).extend(messages)
        return None


# --- visits ------------------------------------------------------------------------------------------


@transaction.atomic
def visit_create(
    *,
    patient: Patient,
    actor: User,
    location: Location,
    notes: Mapping[str, Any] | None = None,
    diagnoses: Iterable[Mapping[str, Any]] | None = None,
    context: AuditContext | None = None,
    **fields: Any,
) -> Visit:
    """Start a draft visit (consultation). `fields` are VISIT_FIELDS; the clinician defaults to the actor."""
    require_capability(actor, "clinical.edit", "write visits")
    unknown = sorted(set(fields) - set(VISIT_FIELDS))
    if unknown:
        raise TypeError(f"Not visit fields: {', '.join(unknown)}")
    patient_check_writable(actor=actor, patient=patient)
    require_location(actor, location)
    fields.setdefault("clinician", actor)
    if fields.get("clinician") is None:
        fields["clinician"] = actor
    if fields.get("visit_at") is None:
        fields["visit_at"] = timezone.now()
    visit = Visit(patient=patient, location=location, **{k: v for k, v in fields.items() if k != "location"})
    errors: dict[str, list[str]] = {}
    visit.notes = _collect(errors, clean_notes, notes) or None
    visit.diagnoses = _collect(errors, clean_diagnoses, diagnoses) or []
    _collect(errors, _clean_visit, visit)
    if errors:
        raise ValidationError(errors)
    visit.save()
    audit_record(
        actor=actor,
        action="visit.create",
        obj=visit,
        location_id=location.pk,
        context=context,
        changed_fields=[name for name in fields if fields[name] not in (None, "")]
        + [f"notes.{key}" for key in visit_notes(visit)]
        + (["diagnoses"] if visit.diagnoses else []),
        metadata={"patient": str(patient.pk)},
    )
    return visit


@transaction.atomic
def visit_update(
    *,
    visit: Visit,
    actor: User,
    notes: Mapping[str, Any] | None = None,
    diagnoses: Iterable[Mapping[str, Any]] | None = None,
    context: AuditContext | None = None,
    **fields: Any,
) -> list[str]:
    """Change a draft visit. Refused once signed: changes to a signed visit are addenda.

    `notes`, when given, replaces the notes (sections left out are cleared); `diagnoses`, when
    given, replaces the list. Returns the names of the changed fields.
    """
    require_capability(actor, "clinical.edit", "write visits")
    unknown = sorted(set(fields) - set(VISIT_FIELDS))
    if unknown:
        raise TypeError(f"Not visit fields: {', '.join(unknown)}")
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if locked.status != Visit.Status.DRAFT:
        raise ValidationError(
            "This visit is signed and can no longer be edited. Add an addendum instead.", code="signed"
        )
    if "location" in fields and fields["location"] != locked.location:
        require_location(actor, fields["location"])
    if "clinician" in fields and fields["clinician"] is None:
        del fields["clinician"]
    if "visit_at" in fields and fields["visit_at"] is None:
        del fields["visit_at"]
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, fields[name])
    errors: dict[str, list[str]] = {}
    if notes is not None:
        new_notes = _collect(errors, clean_notes, notes) or {}
        old_notes = visit_notes(locked)
        changed += [f"notes.{key}" for key in NOTE_KEYS if old_notes.get(key, "") != new_notes.get(key, "")]
        locked.notes = new_notes or None
    if diagnoses is not None:
        new_diagnoses = _collect(errors, clean_diagnoses, diagnoses) or []
        if new_diagnoses != locked.diagnoses:
            changed.append("diagnoses")
        locked.diagnoses = new_diagnoses
    _collect(errors, _clean_visit, locked)
    if errors:
        raise ValidationError(errors)
    if not changed:
        return []
    locked.save()
    audit_record(
        actor=actor,
        action="visit.update",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        changed_fields=changed,
    )
    visit.refresh_from_db()
    return changed


@transaction.atomic
def visit_sign(*, visit: Visit, actor: User, context: AuditContext | None = None) -> Visit:
    """Sign a draft visit. From now on it is read-only; changes go in addenda."""
    require_capability(actor, "clinical.sign", "sign visits")
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if locked.status != Visit.Status.DRAFT:
        raise ValidationError("This visit is already signed.", code="signed")
    if not (locked.chief_complaint or locked.notes or locked.diagnoses or locked.advice):
        raise ValidationError(
            "There is nothing to sign yet: add the complaint, notes, a diagnosis or advice first.", code="empty"
        )
    locked.status = Visit.Status.SIGNED
    locked.signed_at = timezone.now()
    locked.signed_by = actor
    locked.save(update_fields=["status", "signed_at", "signed_by", "updated_at"])
    audit_record(
        actor=actor,
        action="visit.sign",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        changed_fields=["status", "signed_at", "signed_by"],
    )
    visit.refresh_from_db()
    return visit


@transaction.atomic
def visit_addendum_add(*, visit: Visit, actor: User, text: str, context: AuditContext | None = None) -> VisitAddendum:
    """Append an addendum to a signed visit; the signed original is kept and shown unchanged."""
    require_capability(actor, "clinical.edit", "write visits")
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if locked.status != Visit.Status.SIGNED:
        raise ValidationError("This visit is still a draft: edit it instead of adding an addendum.", code="draft")
    body = (text or "").strip()
    if not body:
        raise ValidationError({"text": "Write the addendum."})
    if len(body) > ADDENDUM_MAX_CHARS:
        raise ValidationError({"text": f"Keep an addendum under {ADDENDUM_MAX_CHARS:,} characters."})
    addendum = VisitAddendum.objects.create(visit=locked, author=actor, text=body)
    audit_record(
        actor=actor,
        action="visit.addendum",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        changed_fields=["addenda"],
        metadata={"addendum": str(addendum.pk)},
    )
    return addendum


# --- prescriptions -----------------------------------------------------------------------------------


def medicine_is_known(name: str) -> bool:
    """Whether a line's medicine text names a medicine we know: one of the clinic's formulary drugs,
    or one whose molecules the drug reference recognises."""
    name = " ".join((name or "").split())
    if not name:
        return False
    return FormularyDrug.objects.filter(name__iexact=name).exists() or bool(rx_safety.molecules_for(name))


def line_incomplete(values: Mapping[str, Any], *, known: bool) -> dict[str, str]:
    """What a line lacks before it may be printed: a medicine from the formulary (or one the
    prescriber chose to write as free text), the dose, how often (SOS / As directed only when chosen)
    and for how long. Field -> message."""
    problems: dict[str, str] = {}
    name = str(values.get("drug_name") or "").strip()
    if not name:
        problems["drug_name"] = "Name the medicine."
    elif not known and not values.get("free_text"):
        problems["drug_name"] = (
            f"“{name}” is not a medicine in the formulary. Pick one from the list, or tick "
            "“Not in the formulary” to prescribe it exactly as written."
        )
    for field, message in LINE_MESSAGES.items():
        if not str(values.get(field) or "").strip():
            problems[field] = message
    return problems


def clean_items(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate prescription lines; errors are keyed `items.<row>.<field>`. Blank rows are dropped.
    Every other line must be complete (`line_incomplete`): a draft never holds a line like "amox"."""
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    rows = list(items)
    if len(rows) > ITEMS_MAX:
        raise ValidationError({"items": f"At most {ITEMS_MAX} medicines per prescription."})
    for index, row in enumerate(rows):
        unknown = sorted(set(row) - set(ITEM_FIELDS) - {"drug", "free_text"})
        if unknown:
            raise TypeError(f"Not prescription item fields: {', '.join(unknown)}")
        values = {name: " ".join(str(row.get(name) or "").split()) for name in ITEM_FIELDS}
        if not any(values.values()):
            continue
        free_text = bool(row.get("free_text"))
        row_errors: dict[str, list[str]] = {}
        try:
            values["frequency"] = normalize_frequency(values["frequency"])
        except ValidationError as exc:
            row_errors["frequency"] = exc.messages
        drug = row.get("drug")
        if drug is not None and not isinstance(drug, FormularyDrug):
            drug = FormularyDrug.objects.filter(pk=drug).first()
            if drug is None:
                row_errors["drug"] = ["That drug is not in the clinic's formulary."]
        if not values["drug_name"] and isinstance(drug, FormularyDrug):
            values["drug_name"] = drug.name
        item = PrescriptionItem(**values, free_text=free_text)
        try:
            item.full_clean(exclude=["prescription", "drug", "position"], validate_unique=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                row_errors.setdefault(field, []).extend(messages)
        known = isinstance(drug, FormularyDrug) or medicine_is_known(values["drug_name"])
        for field, message in line_incomplete({**values, "free_text": free_text}, known=known).items():
            if field not in row_errors:
                row_errors[field] = [message]
        for field, messages in row_errors.items():
            errors[f"items.{index}.{field}"] = messages
        cleaned.append({**values, "free_text": free_text, "drug": drug if isinstance(drug, FormularyDrug) else None})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _write_items(prescription: Prescription, items: list[dict[str, Any]]) -> None:
    prescription.items.all().delete()
    PrescriptionItem.objects.bulk_create(
        [PrescriptionItem(prescription=prescription, position=index, **item) for index, item in enumerate(items)]
    )


def _check_visit(visit: Visit | None, patient: Patient, actor: User) -> None:
    if visit is None:
        return
    if visit.patient_id != patient.pk:
        raise ValidationError({"visit": "That visit belongs to another patient."})
    if not user_can_access_location(actor, visit.location_id):
        raise ValidationError({"visit": "That visit is at a location you do not work at."})


def _clean_prescription(prescription: Prescription) -> None:
    prescription.full_clean(
        exclude=["patient", "visit", "location", "prescriber", "previous", "document"], validate_unique=False
    )


@transaction.atomic
def prescription_create(
    *,
    patient: Patient,
    actor: User,
    location: Location | None = None,
    items: Iterable[Mapping[str, Any]] = (),
    visit: Visit | None = None,
    context: AuditContext | None = None,
    **fields: Any,
) -> Prescription:
    """A draft prescription (version 1). `fields` are PRESCRIPTION_FIELDS minus location."""
    require_capability(actor, "prescriptions.write", "write prescriptions")
    unknown = sorted(set(fields) - set(PRESCRIPTION_FIELDS))
    if unknown:
        raise TypeError(f"Not prescription fields: {', '.join(unknown)}")
    patient_check_writable(actor=actor, patient=patient)
    _check_visit(visit, patient, actor)
    if location is None and visit is not None:
        location = visit.location
    require_location(actor, location)
    assert location is not None
    cleaned = clean_items(items)
    if fields.get("print_hindi") is None:  # not stated (e.g. the API): print Hindi when Hindi was written
        texts = [fields.get("general_advice_hi"), *(item.get("instructions_hi") for item in cleaned)]
        fields["print_hindi"] = any(str(text or "").strip() for text in texts)
    prescription = Prescription(patient=patient, visit=visit, location=location, prescriber=actor, **fields)
    _clean_prescription(prescription)
    prescription.save()
    _write_items(prescription, cleaned)
    audit_record(
        actor=actor,
        action="prescription.create",
        obj=prescription,
        location_id=location.pk,
        context=context,
        changed_fields=[name for name, value in fields.items() if value not in (None, "", False)]
        + (["items"] if cleaned else []),
        metadata={"patient": str(patient.pk), "version": 1, "items": len(cleaned)},
    )
    return prescription


def _item_values(prescription: Prescription) -> list[dict[str, Any]]:
    return [
        {**{name: getattr(item, name) for name in ITEM_FIELDS}, "free_text": item.free_text, "drug": item.drug}
        for item in prescription.items.select_related("drug")
    ]


@transaction.atomic
def prescription_update(
    *,
    prescription: Prescription,
    actor: User,
    items: Iterable[Mapping[str, Any]] | None = None,
    context: AuditContext | None = None,
    **fields: Any,
) -> list[str]:
    """Change a draft. A signed (or superseded) prescription is immutable: revise it instead."""
    require_capability(actor, "prescriptions.write", "write prescriptions")
    unknown = sorted(set(fields) - set(PRESCRIPTION_FIELDS))
    if unknown:
        raise TypeError(f"Not prescription fields: {', '.join(unknown)}")
    locked = Prescription.objects.select_for_update().get(pk=prescription.pk)
    if locked.status != Prescription.Status.DRAFT:
        raise ValidationError(
            "This prescription is signed and cannot be changed. Revise it to make a new version.", code="signed"
        )
    if "location" in fields and fields["location"] != locked.location:
        require_location(actor, fields["location"])
        visit = locked.visit
        if visit is not None and visit.location_id != fields["location"].pk:
            # A visit's prescription is issued where the visit took place; moving it would show the
            # visit to another branch's staff.
            where = visit.location.name
            raise ValidationError({"location": f"This prescription belongs to a visit at {where}; it is issued there."})
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, fields[name])
    _clean_prescription(locked)
    if items is not None:
        cleaned = clean_items(items)
        if cleaned != _item_values(locked):
            _write_items(locked, cleaned)
            changed.append("items")
    if not changed:
        return []
    locked.save()
    audit_record(
        actor=actor,
        action="prescription.update",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        changed_fields=changed,
    )
    prescription.refresh_from_db()
    return changed


def formulary_learn(item: PrescriptionItem, *, when: dt.datetime) -> FormularyDrug:
    """Upsert the item's drug into the formulary (name + strength + form, case-insensitive), count
    the use and remember the latest defaults."""
    defaults = {
        "default_dose": item.dose,
        "default_frequency": item.frequency,
        "default_route": item.route,
        "default_duration": item.duration,
    }
    match = {"name__iexact": item.drug_name, "strength__iexact": item.strength, "form__iexact": item.form}
    for _ in range(2):
        drug = FormularyDrug.objects.select_for_update().filter(**match).first()
        if drug is not None:
            FormularyDrug.objects.filter(pk=drug.pk).update(
                use_count=F("use_count") + 1,
                last_used_at=when,
                **{key: value for key, value in defaults.items() if value},
            )
            return drug
        try:
            with transaction.atomic():
                return FormularyDrug.objects.create(
                    name=item.drug_name,
                    strength=item.strength,
                    form=item.form,
                    use_count=1,
                    last_used_at=when,
                    **defaults,
                )
        except IntegrityError:  # another signing added it a moment ago: update that row instead
            continue
    raise RuntimeError("Could not record the drug in the formulary")


class SafetyFindingsUnresolved(ValidationError):
    """Signing stopped on safety findings nobody overrode with a reason. `findings` are all of the
    prescription's findings; the error dict names each unresolved one as `overrides.<code>`."""

    def __init__(self, findings: list[rx_safety.Finding], errors: dict[str, list[str]]) -> None:
        super().__init__(errors, code="safety_findings")
        self.findings = findings


def prescription_safety_findings(prescription: Prescription) -> list[rx_safety.Finding]:
    """The safety findings of a prescription's lines against the patient's allergies (structured
    and free text): allergies, cross-reactivity, duplicates, curated interactions."""
    lines = [
        rx_safety.Line(index=index, name=item.drug_name, strength=item.strength)
        for index, item in enumerate(prescription.items.all())
    ]
    return rx_safety.check(lines, allergies_for_check(prescription.patient))


def prescription_incomplete_lines(prescription: Prescription) -> dict[str, list[str]]:
    """What each line lacks before signing (`items.<n>.<field>` -> messages); empty when complete."""
    errors: dict[str, list[str]] = {}
    for index, values in enumerate(_item_values(prescription)):
        known = values["drug"] is not None or medicine_is_known(values["drug_name"])
        for field, message in line_incomplete(values, known=known).items():
            errors[f"items.{index}.{field}"] = [message]
    return errors


def _clean_overrides(
    findings: list[rx_safety.Finding], overrides: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The reasons given for current findings, and an error per finding still lacking one."""
    current = {finding.code for finding in findings}
    reasons: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for code, raw in (overrides or {}).items():
        reason = " ".join(str(raw or "").split())
        if not reason:
            continue
        if code not in current:
            raise ValidationError(
                {f"overrides.{code}": ["This warning no longer applies to the prescription; review the warnings."]}
            )
        if len(reason) < OVERRIDE_REASON_MIN:
            errors[f"overrides.{code}"] = ["Write the reason in a few words (it is kept with the prescription)."]
        elif len(reason) > OVERRIDE_REASON_MAX:
            errors[f"overrides.{code}"] = [f"Keep the reason under {OVERRIDE_REASON_MAX} characters."]
        else:
            reasons[code] = reason
    for finding in findings:
        if finding.code not in reasons and f"overrides.{finding.code}" not in errors:
            errors[f"overrides.{finding.code}"] = [
                f"{finding.title}. Give a reason to sign anyway, or change the prescription."
            ]
    return reasons, errors


@transaction.atomic
def prescription_sign(
    *,
    prescription: Prescription,
    actor: User,
    overrides: Mapping[str, str] | None = None,
    context: AuditContext | None = None,
) -> Prescription:
    """Sign a draft: the actor becomes the prescriber, the PDF is rendered, stored encrypted and
    published for verification, the previous version (if any) becomes superseded.

    Every line must be complete (ValidationError naming `items.<n>.<field>`), and every safety finding
    (allergy, cross-reactivity, duplicate molecule, interaction) needs an override reason in
    `overrides` (finding code -> reason), or SafetyFindingsUnresolved is raised. Overrides are stored
    with who and when, and audited; they never print."""
    require_capability(actor, "prescriptions.sign", "sign prescriptions")
    locked = (
        Prescription.objects.select_for_update(of=("self",))
        .select_related("patient", "location", "visit", "previous")
        .get(pk=prescription.pk)
    )
    if locked.status != Prescription.Status.DRAFT:
        raise ValidationError("This prescription is already signed.", code="signed")
    if not actor.registration_number.strip():
        raise ValidationError(
            "Your medical registration number is missing, and it must print on every prescription. "
            "Ask an administrator to add it to your staff profile, then sign again.",
            code="registration_number",
        )
    items = list(locked.items.all())
    if not items:
        raise ValidationError("Add at least one medicine before signing.", code="empty")
    if not user_can_access_location(actor, locked.location_id):
        raise ValidationError({"location": "You do not work at this prescription's location."})
    incomplete = prescription_incomplete_lines(locked)
    if incomplete:
        raise ValidationError(incomplete)
    findings = prescription_safety_findings(locked)
    reasons, unresolved = _clean_overrides(findings, overrides)
    if unresolved:
        raise SafetyFindingsUnresolved(findings, unresolved)
    now = timezone.now()
    for finding in findings:
        override = PrescriptionSafetyOverride.objects.create(
            prescription=locked,
            code=finding.code,
            kind=finding.kind,
            severity=finding.severity,
            finding=f"{finding.title}. {finding.message}",
            reason=reasons[finding.code],
            overridden_by=actor,
            overridden_at=now,
        )
        audit_record(
            actor=actor,
            action="prescription.safety_override",
            obj=locked,
            location_id=locked.location_id,
            context=context,
            changed_fields=["safety_overrides"],
            metadata={"override": str(override.pk), "kind": finding.kind, "severity": finding.severity},
        )
    for item in items:
        item.drug = formulary_learn(item, when=now)
    PrescriptionItem.objects.bulk_update(items, ["drug"])
    superseded = None
    if locked.previous_id is not None:
        superseded = Prescription.objects.select_for_update().get(pk=locked.previous_id)
        if superseded.status == Prescription.Status.SIGNED:
            superseded.status = Prescription.Status.SUPERSEDED
            superseded.save(update_fields=["status", "updated_at"])
    locked.prescriber = actor
    locked.status = Prescription.Status.SIGNED
    locked.signed_at = now

    def render(verification: Any) -> bytes:
        from docos.pdf import render_pdf
        from documents.signing import issuing_letterhead

        return render_pdf(
            "pdf/prescription.html",
            prescription_pdf_context(locked),
            page_size="A4",
            letterhead=issuing_letterhead(locked.location),
            verification=verification,
        )

    document = sign_document(
        kind=SignedDocument.Kind.PRESCRIPTION,
        patient=locked.patient,
        location=locked.location,
        signer=actor,
        signed_at=now,
        render=render,
    )
    locked.document = document
    locked.save(update_fields=["prescriber", "status", "signed_at", "document", "updated_at"])
    audit_record(
        actor=actor,
        action="prescription.sign",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        changed_fields=["status", "signed_at", "prescriber", "document"],
        metadata={
            "version": locked.version,
            "code": document.verification_code,
            "sha256": document.sha256,
            **({"superseded": str(superseded.pk)} if superseded is not None else {}),
            **({"safety_overrides": len(findings)} if findings else {}),
        },
    )
    if superseded is not None:
        audit_record(
            actor=actor,
            action="prescription.supersede",
            obj=superseded,
            location_id=superseded.location_id,
            context=context,
            changed_fields=["status"],
            metadata={"by": str(locked.pk)},
        )
    prescription.refresh_from_db()
    return prescription


@transaction.atomic
def prescription_revise(
    *, prescription: Prescription, actor: User, context: AuditContext | None = None
) -> Prescription:
    """A new draft version of a signed prescription, with its lines copied. If a draft revision
    already exists, that draft is returned instead of a second one."""
    require_capability(actor, "prescriptions.write", "write prescriptions")
    locked = Prescription.objects.select_for_update().get(pk=prescription.pk)
    existing = Prescription.objects.filter(previous=locked).first()
    if existing is not None and existing.status == Prescription.Status.DRAFT:
        return existing
    if locked.status != Prescription.Status.SIGNED:
        raise ValidationError(
            "Only the current signed version can be revised."
            if locked.status == Prescription.Status.SUPERSEDED
            else "This prescription is still a draft: edit it instead.",
            code="not_signed",
        )
    revision = Prescription.objects.create(
        patient=locked.patient,
        visit=locked.visit,
        location=locked.location,
        prescriber=actor,
        version=locked.version + 1,
        previous=locked,
        general_advice=locked.general_advice,
        general_advice_hi=locked.general_advice_hi,
        follow_up_date=locked.follow_up_date,
        print_hindi=locked.print_hindi,
    )
    _write_items(revision, _item_values(locked))
    audit_record(
        actor=actor,
        action="prescription.revise",
        obj=revision,
        location_id=revision.location_id,
        context=context,
        metadata={"previous": str(locked.pk), "version": revision.version},
    )
    return revision


def prescription_pdf_read(*, prescription: Prescription, actor: User, context: AuditContext | None = None) -> bytes:
    """The signed PDF, decrypted and checked against the SHA-256 recorded at signing; the download is
    audited. FileAltered (docos.storage, audited as `file.integrity_failed`) when it is not the signed file."""
    require_capability(actor, "prescriptions.view", "view prescriptions")
    if prescription.document_id is None:
        raise ValidationError("This prescription has no PDF yet: it is made when the prescription is signed.")
    document = SignedDocument.objects.get(pk=prescription.document_id)
    return signed_document_read(document=document, actor=actor, context=context, action="prescription.download")
