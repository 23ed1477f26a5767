"""The breach register (DPDP Rules 2025, rule 7; CERT-In directions of 2022): every write of an
incident, and the computation of the patients it affected from the record-access and audit logs.

A breach is the clinic's, not a branch's: the register is for staff with `privacy.manage` who work
at every branch (a user restricted to some branches gets the same 404 as for a missing incident).
Timers run from discovery: CERT-In within 6 hours, the Data Protection Board within 72 hours.

Computation (kinds `staff_account` and `api_token`): the patients whose records the account (or
the token's user) read or changed between `occurred_from` and `occurred_to` (or now): the
record-access log (one row per user, patient and ten minutes, so the window is widened to whole
ten-minute windows: a read at its edge is never missed) and the audit events of that actor that
name a patient (the patient row itself, or a `patient` id in their metadata). The logs record the
token's user, not the token, so for a token every read by its user while the token existed counts
(more patients rather than fewer). Audit metadata holds ids and counts, never PHI."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.selectors import user_location_ids
from audit.context import AuditContext
from audit.models import AuditEvent, RecordAccess
from audit.services import audit_record
from docos.ids import parse_uuid
from patients.models import Patient
from privacy.models import BOARD_HOURS, CERT_IN_HOURS, AffectedPatient, BreachIncident

Kind = BreachIncident.Kind
Status = BreachIncident.Status
PRIVACY_MANAGE = "privacy.manage"
TITLE_MAX = 200


def may_manage_breaches(user: Any) -> bool:
    """`privacy.manage` and every branch: a breach register is clinic-wide."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.has_capability(PRIVACY_MANAGE)
        and user_location_ids(user) is None
    )


def _require(actor: User) -> None:
    if not may_manage_breaches(actor):
        raise PermissionDenied("Only privacy managers who work at every branch keep the breach register.")


def _next_reference() -> str:
    last = BreachIncident.objects.select_for_update().order_by("-reference").values_list("reference", flat=True).first()
    number = int(last.split("-")[1]) + 1 if last else 1
    return f"BR-{number:06d}"


def _clean(
    *,
    title: str,
    kind: str,
    discovered_at: dt.datetime | None,
    occurred_from: dt.datetime | None,
    occurred_to: dt.datetime | None,
    account: User | None,
    token: ApiToken | None,
) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = "Give the incident a short title (no patient names)."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters."
    if kind not in Kind.values:
        errors["kind"] = "Choose what happened."
    now = timezone.now()
    if discovered_at is None:
        errors["discovered_at"] = "Enter when the clinic became aware of the breach."
    elif discovered_at > now + dt.timedelta(minutes=5):
        errors["discovered_at"] = "The breach cannot have been discovered in the future."
    elif discovered_at.year < 2000:  # a typo, and the timers' arithmetic would leave the calendar
        errors["discovered_at"] = "Check the year: the breach was discovered before 2000?"
    if occurred_from is not None and occurred_from.year < 2000:
        errors["occurred_from"] = "Check the year: the breach began before 2000?"
    if occurred_from and occurred_to and occurred_from > occurred_to:
        errors["occurred_to"] = "The end of the breach comes after its start."
    if occurred_from and discovered_at and occurred_from > discovered_at:
        errors["occurred_from"] = "The breach began before it was discovered."
    if kind == Kind.STAFF_ACCOUNT and account is None:
        errors["account"] = "Choose the staff account that was used."
    if kind == Kind.API_TOKEN and token is None:
        errors["token"] = "Choose the API token that leaked."
    return title, errors


@transaction.atomic
def breach_create(
    *,
    actor: User,
    title: str,
    kind: str,
    discovered_at: dt.datetime | None,
    description: str = "",
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    account: User | None = None,
    token: ApiToken | None = None,
    context: AuditContext | None = None,
) -> BreachIncident:
    """Record a breach as discovered: its timers start from `discovered_at`."""
    _require(actor)
    title, errors = _clean(
        title=title, kind=kind, discovered_at=discovered_at, occurred_from=occurred_from, occurred_to=occurred_to,
        account=account, token=token,
    )  # fmt: skip
    if errors:
        raise ValidationError(errors)
    assert discovered_at is not None
    incident = BreachIncident.objects.create(
        reference=_next_reference(),
        title=title,
        description=(description or "").strip(),
        kind=kind,
        discovered_at=discovered_at,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        account=account if kind == Kind.STAFF_ACCOUNT else None,
        token=token if kind == Kind.API_TOKEN else None,
        cert_in_due_at=discovered_at + dt.timedelta(hours=CERT_IN_HOURS),
        board_due_at=discovered_at + dt.timedelta(hours=BOARD_HOURS),
        recorded_by=actor,
    )
    from privacy.notices import notice_defaults

    for name, value in notice_defaults(incident).items():
        setattr(incident, name, value)
    incident.save()
    audit_record(actor=actor, action="privacy.breach_create", obj=incident, context=context, metadata={"kind": kind})
    return incident


def _locked(incident: BreachIncident) -> BreachIncident:
    return BreachIncident.objects.select_for_update().get(pk=incident.pk)


@transaction.atomic
def breach_update(
    *,
    incident: BreachIncident,
    actor: User,
    title: str,
    description: str,
    occurred_from: dt.datetime | None,
    occurred_to: dt.datetime | None,
    context: AuditContext | None = None,
) -> BreachIncident:
    """Correct what is known: title, description and the window. Discovery (and so the timers) and
    the kind stay as recorded."""
    _require(actor)
    locked = _locked(incident)
    title, errors = _clean(
        title=title, kind=locked.kind, discovered_at=locked.discovered_at, occurred_from=occurred_from,
        occurred_to=occurred_to, account=locked.account, token=locked.token,
    )  # fmt: skip
    errors.pop("discovered_at", None)
    if errors:
        raise ValidationError(errors)
    values = {
        "title": title, "description": (description or "").strip(), "occurred_from": occurred_from,
        "occurred_to": occurred_to,
    }  # fmt: skip
    changed = [name for name, value in values.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, values[name])
    if changed:
        locked.save()
        audit_record(actor=actor, action="privacy.breach_update", obj=locked, changed_fields=changed, context=context)
    return locked


@transaction.atomic
def breach_set_status(
    *, incident: BreachIncident, actor: User, status: str, context: AuditContext | None = None
) -> BreachIncident:
    """Open -> contained -> closed (and back, when it turns out not to be over)."""
    _require(actor)
    locked = _locked(incident)
    if status not in Status.values:
        raise ValidationError({"status": "Choose the status."})
    if status == locked.status:
        return locked
    now = timezone.now()
    if status == Status.CLOSED and (locked.cert_in_reported_at is None or locked.board_reported_at is None):
        raise ValidationError("Mark the CERT-In and Data Protection Board reports as made before closing.")
    before = locked.status
    locked.status = status
    if status in (Status.CONTAINED, Status.CLOSED) and locked.contained_at is None:
        locked.contained_at = now
    locked.closed_at = now if status == Status.CLOSED else None
    if status == Status.OPEN:
        locked.contained_at = None
    locked.save()
    audit_record(
        actor=actor, action="privacy.breach_status", obj=locked, context=context,
        metadata={"from": before, "to": status},
    )  # fmt: skip
    return locked


REPORT_TARGETS = {"cert_in": "CERT-In", "board": "Data Protection Board"}


@transaction.atomic
def breach_mark_reported(
    *,
    incident: BreachIncident,
    actor: User,
    target: str,
    reported_at: dt.datetime | None = None,
    reference: str = "",
    context: AuditContext | None = None,
) -> BreachIncident:
    """Record that the report to CERT-In or the Data Protection Board was made (when, and the
    acknowledgement number they gave), which stops that timer."""
    _require(actor)
    if target not in REPORT_TARGETS:
        raise ValidationError("Choose CERT-In or the Data Protection Board.")
    locked = _locked(incident)
    reported_at = reported_at or timezone.now()
    if reported_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"reported_at": "A report cannot be made in the future."})
    if reported_at < locked.discovered_at - dt.timedelta(minutes=1):
        raise ValidationError({"reported_at": "The report comes after the breach was discovered."})
    reference = (reference or "").strip()[:100]
    setattr(locked, f"{target}_reported_at", reported_at)
    setattr(locked, f"{target}_reference", reference)
    locked.save()
    audit_record(
        actor=actor, action="privacy.breach_reported", obj=locked, context=context,
        metadata={"target": target, "late": reported_at > getattr(locked, f"{target}_due_at")},
    )  # fmt: skip
    return locked


# --- affected patients -------------------------------------------------------------------------------


def _window(incident: BreachIncident, now: dt.datetime) -> tuple[User, dt.datetime, dt.datetime, str]:
    """(whose actions, from, to, who in words) for a computable incident; ValidationError otherwise."""
    if incident.kind not in BreachIncident.COMPUTABLE:
        raise ValidationError(
            "Only a compromised staff account or API token can be traced in the logs; add the patients by hand."
        )
    if incident.occurred_from is None:
        raise ValidationError({"occurred_from": "Enter when the breach began, so the logs can be searched."})
    start, end = incident.occurred_from, incident.occurred_to or now
    if incident.kind == Kind.STAFF_ACCOUNT:
        if incident.account is None:
            raise ValidationError("The staff account is no longer on record.")
        return incident.account, start, end, f"staff account {incident.account.email}"
    token = incident.token
    if token is None:
        raise ValidationError("The API token is no longer on record.")
    start = max(start, token.created_at)
    if token.revoked_at is not None:
        end = min(end, token.revoked_at)
    who = f"API token “{token.name}” ({token.prefix}…) of {token.user.email}"
    return token.user, start, end, who


def _surviving(patient_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each id that is still a patient -> the record to notify (a merged record's survivor)."""
    rows = Patient.objects.filter(pk__in=patient_ids).values_list("pk", "merged_into_id")
    return {pk: merged or pk for pk, merged in rows}


def affected_from_logs(incident: BreachIncident, now: dt.datetime | None = None) -> tuple[dict[uuid.UUID, str], str]:
    """The patients the incident's account or token reached in its window, each with the basis
    (what the logs show, no PHI), and a sentence on how the list was derived."""
    now = now or timezone.now()
    user, start, end, who = _window(incident, now)
    if end < start:
        return {}, f"The {who} did not exist during the breach window: no patients from the logs."
    reads: dict[uuid.UUID, set[str]] = defaultdict(set)
    first_window = int(start.timestamp()) // RecordAccess.WINDOW_SECONDS
    access_rows = RecordAccess.objects.filter(user_id=user.pk, window__gte=first_window, first_at__lte=end)
    access_count = 0
    for patient_id, what in access_rows.values_list("patient_id", "what"):
        reads[patient_id].add(what)
        access_count += 1
    events: dict[uuid.UUID, int] = defaultdict(int)
    event_count = 0
    audit_rows = AuditEvent.objects.filter(actor_id=user.pk, occurred_at__gte=start, occurred_at__lte=end)
    for object_type, object_id, metadata in audit_rows.values_list("object_type", "object_id", "metadata"):
        raw = object_id if object_type == "patients.patient" else (metadata or {}).get("patient")
        found_id = parse_uuid(raw) if raw else None
        if found_id is not None:
            events[found_id] += 1
            event_count += 1
    survivors = _surviving(set(reads) | set(events))
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for patient_id, whats in reads.items():
        if patient_id in survivors:
            found[survivors[patient_id]].append("opened: " + ", ".join(sorted(whats)))
    for patient_id, count in events.items():
        if patient_id in survivors:
            found[survivors[patient_id]].append(f"{count} audited change{'s' if count != 1 else ''}")
    basis = {pid: "; ".join(parts)[:200] for pid, parts in found.items()}
    local = timezone.localtime
    derivation = (
        f"Reads and changes by {who} between {local(start):%d %b %Y %H:%M} and {local(end):%d %b %Y %H:%M} "
        f"(the access log keeps one row per ten minutes, so whole ten-minute windows were searched): "
        f"{len({survivors[p] for p in reads if p in survivors})} patients from {access_count} record-access entries, "
        f"{len({survivors[p] for p in events if p in survivors})} from {event_count} audit events; "
        f"{len(basis)} in all, computed {local(now):%d %b %Y %H:%M}."
    )
    if incident.kind == Kind.API_TOKEN:
        derivation += (
            " The logs record the token's user, not the token: every read by that user while the token existed counts."
        )
    return basis, derivation


@transaction.atomic
def breach_compute_affected(
    *, incident: BreachIncident, actor: User, context: AuditContext | None = None
) -> BreachIncident:
    """(Re)compute the affected patients from the logs. Patients added by hand stay, patients
    removed by hand stay removed, and computed patients already sent a notice stay on the list."""
    _require(actor)
    locked = _locked(incident)
    now = timezone.now()
    basis, derivation = affected_from_logs(locked, now)
    existing = {row.patient_id: row for row in AffectedPatient.objects.select_for_update().filter(incident=locked)}
    added = 0
    for patient_id, why in basis.items():
        row = existing.get(patient_id)
        if row is None:
            AffectedPatient.objects.create(
                incident=locked, patient_id=patient_id, source=AffectedPatient.Source.COMPUTED, basis=why,
                changed_by=actor, added_at=now,
            )  # fmt: skip
            added += 1
        elif row.source == AffectedPatient.Source.COMPUTED and row.basis != why:
            row.basis = why
            row.save(update_fields=["basis"])
    gone = [
        row.pk
        for pid, row in existing.items()
        if row.source == AffectedPatient.Source.COMPUTED and pid not in basis and not row.notice_channel
    ]
    AffectedPatient.objects.filter(pk__in=gone).delete()
    locked.affected_computed_at = now
    locked.affected_derivation = derivation
    locked.save(update_fields=["affected_computed_at", "affected_derivation", "updated_at"])
    audit_record(
        actor=actor, action="privacy.breach_affected_compute", obj=locked, context=context,
        metadata={"found": len(basis), "added": added, "dropped": len(gone)},
    )  # fmt: skip
    return locked


@transaction.atomic
def breach_add_patient(
    *, incident: BreachIncident, actor: User, patient: Patient, context: AuditContext | None = None
) -> AffectedPatient:
    """Add a patient by hand (or bring back one removed). The caller found them through patients.access."""
    _require(actor)
    locked = _locked(incident)
    if patient.merged_into_id is not None:
        raise ValidationError("This record was merged into another: add the surviving record.")
    row = AffectedPatient.objects.select_for_update().filter(incident=locked, patient=patient).first()
    if row is None:
        row = AffectedPatient.objects.create(
            incident=locked, patient=patient, source=AffectedPatient.Source.MANUAL, changed_by=actor,
            basis="added by hand",
        )  # fmt: skip
    elif row.excluded:
        row.excluded = False
        row.changed_by = actor
        row.save(update_fields=["excluded", "changed_by"])
    else:
        raise ValidationError("This patient is already on the list.")
    audit_record(
        actor=actor, action="privacy.breach_affected_add", obj=locked, context=context,
        metadata={"patient": str(patient.pk)},
    )  # fmt: skip
    return row


@transaction.atomic
def breach_remove_patient(
    *, incident: BreachIncident, actor: User, patient_id: Any, context: AuditContext | None = None
) -> AffectedPatient:
    """Take a patient off the list (kept as excluded, so recomputing does not bring them back)."""
    _require(actor)
    locked = _locked(incident)
    row = (
        AffectedPatient.objects.select_for_update()
        .filter(incident=locked, patient_id=patient_id, excluded=False)
        .first()
    )
    if row is None:
        raise ValidationError("This patient is not on the list.")
    row.excluded = True
    row.changed_by = actor
    row.save(update_fields=["excluded", "changed_by"])
    audit_record(
        actor=actor, action="privacy.breach_affected_remove", obj=locked, context=context,
        metadata={"patient": str(row.patient_id)},
    )  # fmt: skip
    return row
