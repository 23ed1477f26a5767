"""The DPDP consent log: purpose-wise consents of a patient, append-only (patients.PatientConsent).

- `consent_record` / `consent_withdraw` append one row (purpose, granted or withdrawn, given by the
  patient or, for a minor, a named guardian, notice version, channel, who recorded it, a note), audit
  it (ids, purpose and channel only) and keep the WhatsApp fields on Patient in step for the
  `whatsapp_reminders` purpose (they are a mirror older code reads);
- `consent_allows(patient, purpose)` answers from the latest row per purpose: `(True, "")` or
  `(False, reason)`. A minor (under 18 by date of birth) needs the latest grant for WhatsApp
  reminders and marketing to be the guardian's (DPDP Rules 2025, rule 10 and the Fourth Schedule:
  treatment needs no separate parental consent, messages do).

Withdrawing takes effect at once: apps register a listener (`register_withdrawal_listener`) that
runs in the same transaction; messaging fails the patient's queued messages with it.

Reason codes (what staff read is in messaging.services.FAILURE_SENTENCES):
`consent_withdrawn`, `guardian_consent_needed`, `no_marketing_consent`, `no_consent` (never asked,
other purposes); for WhatsApp reminders of a patient with no log rows the mirror fields decide as
before (`no_whatsapp_consent`, `opted_out`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from patients.models import ConsentAction, ConsentChannel, ConsentGivenBy, ConsentPurpose, Patient, PatientConsent

CONSENT_WITHDRAWN = "consent_withdrawn"
GUARDIAN_CONSENT_NEEDED = "guardian_consent_needed"
NO_MARKETING_CONSENT = "no_marketing_consent"
NO_WHATSAPP_CONSENT = "no_whatsapp_consent"
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"

GUARDIAN_PURPOSES = frozenset({ConsentPurpose.WHATSAPP_REMINDERS, ConsentPurpose.MARKETING})
# Channels staff (and API clients) may name; `import` and `unrecorded` come from imports and the backfill.
RECORDABLE_CHANNELS = (
    ConsentChannel.IN_PERSON,
    ConsentChannel.PAPER,
    ConsentChannel.WHATSAPP,
    ConsentChannel.PHONE,
    ConsentChannel.WEB_FORM,
    ConsentChannel.API,
)
# The mirror's `whatsapp_consent_source` for a channel (patients.services.CONSENT_SOURCES), and back.
_SOURCE_OF_CHANNEL = {
    ConsentChannel.IN_PERSON: "verbal",
    ConsentChannel.PAPER: "paper",
    ConsentChannel.WHATSAPP: "whatsapp",
    ConsentChannel.PHONE: "phone",
    ConsentChannel.WEB_FORM: "web_form",
    ConsentChannel.API: "api",
    ConsentChannel.IMPORT: "import",
    ConsentChannel.UNRECORDED: "verbal",
}
CHANNEL_OF_SOURCE = {
    "registration": ConsentChannel.IN_PERSON,
    "verbal": ConsentChannel.IN_PERSON,
    "paper": ConsentChannel.PAPER,
    "whatsapp": ConsentChannel.WHATSAPP,
    "phone": ConsentChannel.PHONE,
    "web_form": ConsentChannel.WEB_FORM,
    "import": ConsentChannel.IMPORT,
    "api": ConsentChannel.API,
}
NOTE_MAX = 500

WithdrawalListener = Callable[[Patient, str], None]
_WITHDRAWAL_LISTENERS: list[WithdrawalListener] = []


def register_withdrawal_listener(listener: WithdrawalListener) -> None:
    """Call `listener(patient, purpose)` in the withdrawing transaction (AppConfig.ready; once)."""
    if listener not in _WITHDRAWAL_LISTENERS:
        _WITHDRAWAL_LISTENERS.append(listener)


# --- reading -----------------------------------------------------------------------------------------


def consent_latest(patient: Patient, purpose: str) -> PatientConsent | None:
    return (
        PatientConsent.objects.filter(patient_id=patient.pk, purpose=purpose)
        .select_related("recorded_by")
        .order_by("-recorded_at")
        .first()
    )


def _allows(patient: Patient, purpose: str, latest: PatientConsent | None) -> tuple[bool, str]:
    if latest is None:
        if purpose == ConsentPurpose.WHATSAPP_REMINDERS:
            # No log rows (a record written before the log, or by hand in a test): the mirror decides.
            if patient.whatsapp_opted_out_at is not None:
                return False, OPTED_OUT
            if patient.whatsapp_consent_at is None:
                return False, NO_WHATSAPP_CONSENT
            return True, ""
        return False, NO_MARKETING_CONSENT if purpose == ConsentPurpose.MARKETING else NO_CONSENT
    if latest.action == ConsentAction.WITHDRAWN:
        return False, CONSENT_WITHDRAWN
    if purpose in GUARDIAN_PURPOSES and patient.is_minor and latest.given_by != ConsentGivenBy.GUARDIAN:
        return False, GUARDIAN_CONSENT_NEEDED
    return True, ""


def consent_allows(patient: Patient, purpose: str) -> tuple[bool, str]:
    """Whether the patient's latest decision about `purpose` allows it now: (allowed, reason code)."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"Unknown consent purpose {purpose!r}")
    return _allows(patient, purpose, consent_latest(patient, purpose))


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    label: str
    latest: PatientConsent | None
    allowed: bool
    reason: str


REASON_TEXT = {
    CONSENT_WITHDRAWN: "Withdrawn",
    GUARDIAN_CONSENT_NEEDED: "Needs the guardian's consent (minor)",
    NO_MARKETING_CONSENT: "Not asked",
    NO_WHATSAPP_CONSENT: "Not asked",
    NO_CONSENT: "Not asked",
    OPTED_OUT: "Opted out",
}


def consent_states(patient: Patient) -> list[ConsentState]:
    """The current state per purpose (one query), for the chart and the consents page."""
    latest: dict[str, PatientConsent] = {}
    for row in PatientConsent.objects.filter(patient_id=patient.pk).select_related("recorded_by"):
        latest.setdefault(row.purpose, row)  # newest first (Meta.ordering)
    states = []
    for purpose, label in ConsentPurpose.choices:
        current = latest.get(purpose)
        allowed, reason = _allows(patient, purpose, current)
        states.append(ConsentState(purpose=purpose, label=str(label), latest=current, allowed=allowed, reason=reason))
    return states


def consent_history(patient: Patient) -> list[PatientConsent]:
    return list(PatientConsent.objects.filter(patient_id=patient.pk).select_related("recorded_by"))


# --- writing -----------------------------------------------------------------------------------------

_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: part of how Indic names are written


def plain_text(value: str | None, max_length: int) -> str:
    """One line of text for the log: control and invisible format characters (BEL, ESC, zero-width
    space, BOM...) dropped, except the joiners Indic scripts need; whitespace runs made one space."""
    kept = "".join(
        ch for ch in str(value or "") if ch in _JOINERS or ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return " ".join(kept.split())[:max_length]


def _clean(
    patient: Patient,
    *,
    purpose: str,
    action: str,
    given_by: str,
    guardian_name: str,
    guardian_relation: str,
    channel: str,
    note: str,
) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = "Choose one of: " + ", ".join(ConsentPurpose.values) + "."
    if action not in ConsentAction.values:
        errors["action"] = "Choose granted or withdrawn."
    if channel not in ConsentChannel.values:
        errors["channel"] = "Choose how the decision was given."
    if given_by not in ConsentGivenBy.values:
        errors["given_by"] = "Choose patient or guardian."
    guardian_name = plain_text(guardian_name, 120)
    if not any(ch.isalpha() for ch in guardian_name):
        guardian_name = ""  # joiners or punctuation only: no name
    guardian_relation = plain_text(guardian_relation, 40)
    if given_by == ConsentGivenBy.GUARDIAN:
        guardian_name = guardian_name or patient.guardian_name
        guardian_relation = guardian_relation or patient.guardian_relation
        if not guardian_name:
            errors["guardian_name"] = "Name the guardian who gave the decision."
    else:
        guardian_name = guardian_relation = ""
    if len(note or "") > NOTE_MAX:
        errors["note"] = f"A note is at most {NOTE_MAX} characters."
    if patient.merged_into_id is not None:
        errors["patient"] = "This record was merged into another one; record consent on the surviving record."
    if errors:
        raise ValidationError(errors)
    return guardian_name, guardian_relation, (note or "").strip()


REPEAT_SECONDS = 30  # a double submit of the same decision within this is recorded once


def consent_append(
    *,
    patient: Patient,
    purpose: str,
    action: str,
    channel: str,
    actor: User | None,
    given_by: str = ConsentGivenBy.PATIENT,
    guardian_name: str = "",
    guardian_relation: str = "",
    notice_version: str | None = None,
    note: str = "",
    at: dt.datetime | None = None,
    mirror_source: str | None = None,
) -> PatientConsent:
    """Insert one row and update the mirror, without an audit event of its own: for services that
    audit the decision themselves (patients.services' WhatsApp consent and opt-out). In a transaction."""
    row, _ = _append(
        patient=patient, purpose=purpose, action=action, channel=channel, actor=actor, given_by=given_by,
        guardian_name=guardian_name, guardian_relation=guardian_relation, notice_version=notice_version,
        note=note, at=at, mirror_source=mirror_source, allow_repeat=False,
    )  # fmt: skip
    return row


def _append(
    *,
    patient: Patient,
    purpose: str,
    action: str,
    channel: str,
    actor: User | None,
    given_by: str,
    guardian_name: str,
    guardian_relation: str,
    notice_version: str | None,
    note: str,
    at: dt.datetime | None,
    mirror_source: str | None,
    allow_repeat: bool,
) -> tuple[PatientConsent, bool]:
    """(the row, whether it is new). With `allow_repeat`, the same decision recorded again by the same
    person within REPEAT_SECONDS (a double submit) is the row already there."""
    from patients.services import notice_version as current_notice_version

    guardian_name, guardian_relation, note = _clean(
        patient,
        purpose=purpose,
        action=action,
        given_by=given_by,
        guardian_name=guardian_name,
        guardian_relation=guardian_relation,
        channel=channel,
        note=note,
    )
    version = plain_text(notice_version or current_notice_version(), 20)
    # One writer per patient at a time; "latest" is then strictly the last insert.
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).get()
    latest = consent_latest(patient, purpose)
    now = timezone.now()
    if (
        allow_repeat
        and at is None
        and isinstance(actor, User)
        and latest is not None
        and latest.recorded_at >= now - dt.timedelta(seconds=REPEAT_SECONDS)
        and latest.recorded_by_id == actor.pk
        and (latest.action, latest.given_by, latest.channel) == (action, given_by, channel)
        and (latest.guardian_name, latest.guardian_relation) == (guardian_name, guardian_relation)
        and latest.notice_version == version
        and (latest.note or "") == note
    ):
        return latest, False
    moment = at or now
    if latest is not None and moment <= latest.recorded_at:
        moment = latest.recorded_at + dt.timedelta(microseconds=1)
    row = PatientConsent.objects.create(
        patient=patient,
        purpose=purpose,
        action=action,
        given_by=given_by,
        guardian_name=guardian_name,
        guardian_relation=guardian_relation,
        notice_version=version,
        channel=channel,
        recorded_by=actor if isinstance(actor, User) else None,
        recorded_at=moment,
        note=note or None,
    )
    if purpose == ConsentPurpose.WHATSAPP_REMINDERS:
        _mirror(patient, row, mirror_source or _SOURCE_OF_CHANNEL[ConsentChannel(channel)])
    if action == ConsentAction.WITHDRAWN:
        for listener in _WITHDRAWAL_LISTENERS:
            listener(patient, purpose)
    return row, True


def _mirror(patient: Patient, row: PatientConsent, source: str) -> None:
    """Keep Patient.whatsapp_* (read by older code and the API's `whatsapp` block) in step."""
    if row.action == ConsentAction.GRANTED:
        values = {
            "whatsapp_consent_at": row.recorded_at,
            "whatsapp_consent_source": source,
            "whatsapp_consent_notice_version": row.notice_version,
            "whatsapp_consent_taken_by": row.recorded_by,
            "whatsapp_opted_out_at": None,
        }
    else:
        values = {"whatsapp_opted_out_at": row.recorded_at}
    Patient.objects.filter(pk=patient.pk).update(**values, updated_at=timezone.now())
    for name, value in values.items():
        setattr(patient, name, value)


def given_by_default(patient: Patient) -> str:
    """Who gives a decision the desk records without saying: a minor's named guardian, else the patient."""
    return ConsentGivenBy.GUARDIAN if patient.is_minor and patient.guardian_name else ConsentGivenBy.PATIENT


@transaction.atomic
def consent_record(
    *,
    patient: Patient,
    purpose: str,
    channel: str,
    actor: User | None,
    action: str = ConsentAction.GRANTED,
    given_by: str = ConsentGivenBy.PATIENT,
    guardian_name: str = "",
    guardian_relation: str = "",
    notice_version: str | None = None,
    note: str = "",
    at: dt.datetime | None = None,
    context: AuditContext | None = None,
) -> PatientConsent:
    """Append a decision (a grant unless `action` says withdrawn) to the patient's consent log. The
    same decision recorded again by the same person within `REPEAT_SECONDS` (a double submit) is
    the row already there: nothing new is written or audited."""
    row, created = _append(
        patient=patient, purpose=purpose, action=action, channel=channel, actor=actor, given_by=given_by,
        guardian_name=guardian_name, guardian_relation=guardian_relation, notice_version=notice_version,
        note=note, at=at, mirror_source=None, allow_repeat=True,
    )  # fmt: skip
    if not created:
        return row
    audit_record(
        actor=actor,
        action=f"patient.consent_{row.action}",
        obj=row,
        location_id=patient.registered_location_id,
        context=context,
        metadata={
            "patient_id": str(patient.pk),
            "purpose": row.purpose,
            "channel": row.channel,
            "given_by": row.given_by,
            "notice_version": row.notice_version,
        },
    )
    return row


def consent_withdraw(
    *,
    patient: Patient,
    purpose: str,
    channel: str,
    actor: User | None,
    given_by: str = ConsentGivenBy.PATIENT,
    guardian_name: str = "",
    guardian_relation: str = "",
    note: str = "",
    at: dt.datetime | None = None,
    context: AuditContext | None = None,
) -> PatientConsent:
    """Append a withdrawal: from now on `consent_allows` refuses the purpose, queued messages included."""
    return consent_record(
        patient=patient,
        purpose=purpose,
        channel=channel,
        actor=actor,
        action=ConsentAction.WITHDRAWN,
        given_by=given_by,
        guardian_name=guardian_name,
        guardian_relation=guardian_relation,
        note=note,
        at=at,
        context=context,
    )
