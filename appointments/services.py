"""Every write of the appointments app: booking and the appointment's states, the walk-in queue,
schedules (hours, breaks, leaves, holidays), appointment types, reminder rules and settings.

Appointment states and the actions that move between them (TRANSITIONS; anything else is refused
with a message that names the current state). Each action is performed by `_transition`: check the
capability, lock the row, check its location and state, set the status and the time it stamps, save
and audit; the public services add only their own steps (the queue token of a check-in, the visit of
a completion, the reason of a cancellation, ...). Queue tokens move the same way (QUEUE_TRANSITIONS).

    booked ──confirm──> confirmed            (the patient, on WhatsApp)
    booked|confirmed ──check_in──> checked_in ──start──> in_consultation ──complete──> completed
    checked_in ──complete──> completed       (links a visit; a clinician completing opens a draft one)
    booked|confirmed ──no_show──> no_show    (once the start time has passed)
    booked|confirmed|checked_in ──cancel──> cancelled (with a reason)
    booked|confirmed ──reschedule──> booked  (new time; reminders are planned again)

Double booking is refused by the database (appointments.models, `appointment_no_double_booking`):
of two front-desk users booking one slot at once, one succeeds and the other gets `SlotTaken`.
Overbooking (`overbook=True`) needs the clinic's `allow_overbooking` and is marked on the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.guards import require_capability, require_location
from accounts.models import Location, User
from accounts.selectors import is_clinician, user_can_access_location
from appointments import reminders, schedule
from appointments.models import (
    Appointment,
    AppointmentSettings,
    AppointmentType,
    Holiday,
    Leave,
    QueueEntry,
    ReminderRule,
    ScheduleBreak,
    WorkingHours,
)
from appointments.selectors import appointment_settings
from audit.context import AuditContext
from audit.services import audit_record
from clinical.models import Visit
from clinical.services import visit_create
from docos.tenancy import current_schema
from patients.access import patient_check_writable
from patients.models import Patient

Status = Appointment.Status
PAST_GRACE = dt.timedelta(minutes=15)  # a booking may start this much in the past (the patient is at the desk)
NOTES_MAX = 1000
DEADLOCK_RETRIES = 2


class SlotTaken(ValidationError):
    """The clinician already has an appointment overlapping the requested time."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="slot_taken")


# Refusals name the current state: "You cannot check in an appointment that is cancelled."
APPOINTMENT_REFUSAL = "You cannot {phrase} an appointment that is {status}."
QUEUE_REFUSAL = "Token {token} is {status}; it cannot be {phrase}."
BEFORE_ARRIVAL = frozenset({Status.BOOKED, Status.CONFIRMED})


class Transition(NamedTuple):
    """One move of a status: the statuses it may start from, the one it leads to, the phrase its
    refusal uses, the time field it stamps and the audit action it records."""

    sources: frozenset[str]
    target: str
    phrase: str
    stamp: str | None
    audit: str
    refusal: str = APPOINTMENT_REFUSAL


# The appointment's actions (see the module docstring), performed through `_transition`. Confirming
# and the patient's cancel also start from their own target: a repeated button press changes nothing.
TRANSITIONS: dict[str, Transition] = {
    "confirm": Transition(BEFORE_ARRIVAL, Status.CONFIRMED, "confirm", "confirmed_at", "appointment.confirm"),
    "check_in": Transition(BEFORE_ARRIVAL, Status.CHECKED_IN, "check in", "checked_in_at", "appointment.check_in"),
    "start": Transition(
        frozenset({Status.CHECKED_IN}),
        Status.IN_CONSULTATION,
        "start the consultation of",
        "started_at",
        "appointment.start",
    ),
    "complete": Transition(
        frozenset({Status.CHECKED_IN, Status.IN_CONSULTATION}),
        Status.COMPLETED,
        "complete",
        "completed_at",
        "appointment.complete",
    ),
    "no_show": Transition(BEFORE_ARRIVAL, Status.NO_SHOW, "mark as a no-show", "no_show_at", "appointment.no_show"),
    "cancel": Transition(
        BEFORE_ARRIVAL | {Status.CHECKED_IN}, Status.CANCELLED, "cancel", "cancelled_at", "appointment.cancel"
    ),
    "cancel_by_patient": Transition(
        BEFORE_ARRIVAL | {Status.CANCELLED},
        Status.CANCELLED,
        "",
        "cancelled_at",
        "appointment.cancel",
        refusal="This appointment is {status}; it can no longer be cancelled by message.",
    ),
    "reschedule": Transition(BEFORE_ARRIVAL, Status.BOOKED, "reschedule", None, "appointment.reschedule"),
}

# A queue token's actions (queue_call, queue_finish, queue_mark_left).
QUEUE_TRANSITIONS: dict[str, Transition] = {
    "call": Transition(
        frozenset({QueueEntry.Status.WAITING}),
        QueueEntry.Status.IN_CONSULTATION,
        "called in",
        "called_at",
        "queue.call",
        QUEUE_REFUSAL,
    ),
    "finish": Transition(
        frozenset({QueueEntry.Status.IN_CONSULTATION}),
        QueueEntry.Status.DONE,
        "marked done before it is called in",
        "finished_at",
        "queue.finish",
        QUEUE_REFUSAL,
    ),
    "left": Transition(
        frozenset({QueueEntry.Status.WAITING}),
        QueueEntry.Status.LEFT,
        "marked as left",
        "finished_at",
        "queue.left",
        QUEUE_REFUSAL,
    ),
}


def can(appointment: Appointment, action: str) -> bool:
    return appointment.status in TRANSITIONS[action].sources


# --- guards ----------------------------------------------------------------------------------------


def _check_clinician(clinician: User) -> None:
    if not clinician.is_active or not is_clinician(clinician):
        raise ValidationError({"clinician": "Choose an active doctor or clinician of this clinic."})


def _clean_notes(notes: str | None) -> str | None:
    text = (notes or "").strip()
    if len(text) > NOTES_MAX:
        raise ValidationError({"notes": f"Keep the notes under {NOTES_MAX} characters."})
    return text or None


def _lock(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "clinician", "patient")
        .get(pk=appointment.pk)
    )


def _refresh(target: Any, source: Any) -> None:
    """Copy the saved state into the caller's instance, so it sees what was written."""
    target.__dict__.update({k: v for k, v in source.__dict__.items() if k != "_state"})


def _describe_conflict(clinician: User, starts_at: dt.datetime, ends_at: dt.datetime, location: Location) -> str:
    tz = schedule.location_tz(location)
    other = (
        Appointment.objects.filter(
            clinician=clinician, status__in=Appointment.ACTIVE, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .select_related("location")
        .order_by("starts_at")
        .first()
    )
    if other is None:
        return f"{clinician} already has an appointment at that time. Choose another slot."
    where = "" if other.location_id == location.pk else f" at {other.location.name}"
    return (
        f"{clinician} already has an appointment from {other.starts_at.astimezone(tz):%H:%M} to "
        f"{other.ends_at.astimezone(tz):%H:%M}{where}. Choose another slot"
        + (", or overbook explicitly." if appointment_settings().allow_overbooking else ".")
    )


def _place(
    appointment: Appointment,
    *,
    overbook: bool,
    outside_hours: bool,
    save: Any,
) -> None:
    """Validate the appointment's time and write it; the exclusion constraint has the last word."""
    now = timezone.now()
    if appointment.starts_at is None or timezone.is_naive(appointment.starts_at):
        raise ValidationError({"starts_at": "Give the start time with its time zone."})
    if appointment.starts_at < now - PAST_GRACE:
        raise ValidationError({"starts_at": "An appointment cannot start in the past."})
    if overbook and not appointment_settings().allow_overbooking:
        raise ValidationError({"overbook": "This clinic does not allow overbooking (see the appointment settings)."})
    if not outside_hours:
        reason = schedule.outside_schedule_reason(
            clinician=appointment.clinician,
            location=appointment.location,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
        )
        if reason:
            raise ValidationError({"starts_at": reason}, code="outside_hours")
    appointment.is_overbooked = overbook
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives a refusal
                save()
            return
        except IntegrityError as exc:
            if "appointment_no_double_booking" in str(exc):
                raise SlotTaken(
                    _describe_conflict(
                        appointment.clinician, appointment.starts_at, appointment.ends_at, appointment.location
                    )
                ) from None
            raise
        except OperationalError as exc:
            # Two overlapping inserts at the same instant can wait on each other; PostgreSQL then
            # aborts one of them. Trying again waits for the other booking and gets the clean refusal.
            if getattr(exc.__cause__, "sqlstate", None) != "40P01" or attempt == DEADLOCK_RETRIES:
                raise


# --- transitions -----------------------------------------------------------------------------------

Row = TypeVar("Row", Appointment, QueueEntry)


@dataclass
class _Step(Generic[Row]):
    """A transition under way (see `_transition`): the locked row, and what the service adds."""

    row: Row
    changed_fields: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    unchanged: bool = False  # nothing to write (a repeated request): no save, no audit event
    save: Callable[[], None] | None = None  # how to write the row when not row.save()


def _lock_here(row: Row, actor: User | None) -> Row:
    """Lock the row; a staff actor must work at its location (the patient, on WhatsApp, has none)."""
    if isinstance(row, QueueEntry):
        locked = (
            QueueEntry.objects.select_for_update(of=("self",)).select_related("appointment", "location").get(pk=row.pk)
        )
        where = "this queue's"
    else:
        locked = _lock(row)
        where = "this appointment's"
    if actor is not None and not user_can_access_location(actor, locked.location):
        raise ValidationError(f"You do not work at {where} location.")
    return locked


def _check_move(row: Appointment | QueueEntry, move: Transition) -> None:
    if row.status not in move.sources:
        status = row.get_status_display().lower()
        raise ValidationError(
            move.refusal.format(phrase=move.phrase, status=status, token=getattr(row, "token", "")),
            code="illegal_transition",
        )


def _set_status(locked: Appointment | QueueEntry, move: Transition) -> None:
    locked.status = move.target
    if move.stamp:
        setattr(locked, move.stamp, timezone.now())


@contextmanager
def _transition(
    row: Row, action: str, *, actor: User | None, context: AuditContext | None = None, what: str | None = None
) -> Iterator[_Step[Row]]:
    """Perform `action` of TRANSITIONS on an appointment, or of QUEUE_TRANSITIONS on a queue token.

    Before the `with` body: the actor must hold appointments.manage to do `what` (None: the caller
    has checked, or the patient acts), the row is locked, a staff actor must work at its location
    and the row's status must allow the action. The body adds the service's own checks, fields and
    audit details to the step. After it: the status and the time the action stamps are set, the row
    is saved, the action audited, and the caller's instance sees what was written.
    """
    if what is not None:
        require_capability(actor, "appointments.manage", what)
    locked = _lock_here(row, actor)
    if isinstance(locked, QueueEntry):
        move, step = QUEUE_TRANSITIONS[action], _Step(locked, changed_fields=[])
    else:
        move, step = TRANSITIONS[action], _Step(locked, changed_fields=["status"])
    _check_move(locked, move)
    yield step
    if not step.unchanged:
        _set_status(locked, move)
        (step.save or locked.save)()
        _drop_reminders_after(locked)
        audit_record(
            actor=actor,
            action=move.audit,
            obj=locked,
            location_id=locked.location_id,
            context=context,
            changed_fields=step.changed_fields,
            metadata=step.metadata,
        )
    _refresh(row, locked)


def _advance(appointment: Appointment, action: str) -> None:
    """The move alone, without an audit event of its own (the caller's event records it)."""
    locked = _lock(appointment)
    move = TRANSITIONS[action]
    _check_move(locked, move)
    _set_status(locked, move)
    locked.save()
    _drop_reminders_after(locked)


def _drop_reminders_after(row: Appointment | QueueEntry) -> None:
    """Once the patient has arrived, or the appointment is over or cancelled, its reminders that
    are still only planned are cancelled (shown so, never sent)."""
    if isinstance(row, Appointment) and row.status not in BEFORE_ARRIVAL:
        reminders.reminders_cancel_for_appointment(row, reason=f"appointment_{row.status}")


# --- appointments ----------------------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    clinician: User,
    location: Location,
    appointment_type: AppointmentType,
    starts_at: dt.datetime,
    actor: User,
    notes: str | None = None,
    overbook: bool = False,
    outside_hours: bool = False,
    source: str = Appointment.Source.DESK,
    context: AuditContext | None = None,
) -> Appointment:
    """Book `patient` with `clinician` at `location`. Refused in the past, outside the clinician's
    working time (unless `outside_hours`, an explicit choice), and when the clinician is already
    booked then (`SlotTaken`) unless `overbook` and the clinic allows overbooking."""
    require_capability(actor, "appointments.manage", "book appointments")
    require_location(actor, location)
    patient_check_writable(actor=actor, patient=patient)
    _check_clinician(clinician)
    if not appointment_type.is_active:
        raise ValidationError({"appointment_type": f"{appointment_type.name} is no longer offered."})
    if source not in Appointment.Source.values:
        raise ValidationError({"source": "Unknown booking source."})
    if starts_at is None or timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": "Give the start time with its time zone."})
    appointment = Appointment(
        patient=patient,
        clinician=clinician,
        location=location,
        appointment_type=appointment_type,
        starts_at=starts_at,
        ends_at=starts_at + appointment_type.duration,
        notes=_clean_notes(notes),
        source=source,
        booked_by=actor,
        scheduled_at=timezone.now(),
    )
    _place(appointment, overbook=overbook, outside_hours=outside_hours, save=appointment.save)
    audit_record(
        actor=actor,
        action="appointment.book",
        obj=appointment,
        location_id=location.pk,
        context=context,
        metadata={
            "patient": str(patient.pk),
            "clinician": str(clinician.pk),
            **({"overbooked": True} if overbook else {}),
            **({"outside_hours": True} if outside_hours else {}),
        },
    )
    reminders.reminders_plan_for_appointment(appointment)
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: dt.datetime,
    actor: User,
    clinician: User | None = None,
    location: Location | None = None,
    appointment_type: AppointmentType | None = None,
    overbook: bool = False,
    outside_hours: bool = False,
    context: AuditContext | None = None,
) -> Appointment:
    """Move an appointment (and optionally change clinician, location or type). Reminders not yet
    sent are dropped and planned again for the new time; a patient's confirmation is cleared."""
    require_capability(actor, "appointments.manage", "reschedule appointments")
    if starts_at is None or timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": "Give the start time with its time zone."})
    with _transition(appointment, "reschedule", actor=actor, context=context) as step:
        locked = step.row
        changed: list[str] = []
        if clinician is not None and clinician.pk != locked.clinician_id:
            _check_clinician(clinician)
            locked.clinician = clinician
            changed.append("clinician")
        if location is not None and location.pk != locked.location_id:
            require_location(actor, location)
            locked.location = location
            changed.append("location")
        if appointment_type is not None and appointment_type.pk != locked.appointment_type_id:
            if not appointment_type.is_active:
                raise ValidationError({"appointment_type": f"{appointment_type.name} is no longer offered."})
            locked.appointment_type = appointment_type
            changed.append("appointment_type")
        if starts_at != locked.starts_at:
            changed.append("starts_at")
        if not changed and overbook == locked.is_overbooked:
            step.unchanged = True  # nothing moves
        else:
            locked.starts_at = starts_at
            locked.ends_at = starts_at + locked.appointment_type.duration
            locked.confirmed_at = None
            locked.reschedule_requested_at = None
            locked.reschedule_count += 1
            locked.scheduled_at = timezone.now()
            step.save = lambda: _place(locked, overbook=overbook, outside_hours=outside_hours, save=locked.save)
            step.changed_fields = changed or ["is_overbooked"]
            step.metadata = {
                **({"overbooked": True} if overbook else {}),
                **({"outside_hours": True} if outside_hours else {}),
            }
    if not step.unchanged:
        reminders.reminders_drop_unsent(step.row)
        reminders.reminders_plan_for_appointment(step.row)
    return step.row


@transaction.atomic
def appointment_update_notes(
    *, appointment: Appointment, notes: str | None, actor: User, context: AuditContext | None = None
) -> Appointment:
    require_capability(actor, "appointments.manage", "change appointments")
    locked = _lock_here(appointment, actor)
    cleaned = _clean_notes(notes)
    if cleaned == (locked.notes or None):
        return locked
    locked.notes = cleaned
    locked.save(update_fields=["notes", "updated_at"])
    audit_record(
        actor=actor,
        action="appointment.update",
        obj=locked,
        location_id=locked.location_id,
        context=context,
        changed_fields=["notes"],
    )
    _refresh(appointment, locked)
    return locked


def _set_cancelled(step: _Step[Appointment], *, reason: str, note: str, actor: User | None) -> None:
    step.row.cancel_reason = reason
    step.row.cancel_note = note
    step.row.cancelled_by = actor
    step.changed_fields += ["cancel_reason"] + (["cancel_note"] if note else [])
    step.metadata["reason"] = reason


def _after_cancel(appointment: Appointment) -> None:
    """A cancelled appointment leaves the queue (its reminders were cancelled by `_transition`)."""
    QueueEntry.objects.filter(appointment=appointment, status=QueueEntry.Status.WAITING).update(
        status=QueueEntry.Status.LEFT, finished_at=timezone.now()
    )


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, reason: str, actor: User, note: str = "", context: AuditContext | None = None
) -> Appointment:
    """Cancel with a reason (one of Appointment.CancelReason; "other" needs a note)."""
    note = (note or "").strip()
    with _transition(appointment, "cancel", actor=actor, context=context, what="cancel appointments") as step:
        if reason not in Appointment.CancelReason.values or reason == Appointment.CancelReason.PATIENT_WHATSAPP:
            raise ValidationError({"reason": "Choose why the appointment is cancelled."})
        if reason == Appointment.CancelReason.OTHER and not note:
            raise ValidationError({"note": "Say why the appointment is cancelled."})
        if len(note) > 200:
            raise ValidationError({"note": "Keep the note under 200 characters."})
        _set_cancelled(step, reason=reason, note=note, actor=actor)
    _after_cancel(step.row)
    return step.row


def _next_token(*, location_id: Any, day: dt.date) -> int:
    """The next token at a location on a day, shared by its doctors' queues so the waiting room
    never shows two patients with the same number. Serialised per location and day by a
    transaction-level advisory lock; the unique constraint on tokens is the backstop."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"queue:{current_schema()}:{location_id}:{day.isoformat()}"]
        )
    last = QueueEntry.objects.filter(location_id=location_id, day=day).aggregate(last=Max("token"))["last"]
    return int(last or 0) + 1


def local_today(location: Location) -> dt.date:
    return timezone.now().astimezone(schedule.location_tz(location)).date()


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, actor: User, context: AuditContext | None = None) -> QueueEntry:
    """The patient has arrived: the appointment joins today's queue with a token number."""
    with _transition(appointment, "check_in", actor=actor, context=context, what="check patients in") as step:
        locked = step.row
        today = local_today(locked.location)
        day = locked.starts_at.astimezone(schedule.location_tz(locked.location)).date()
        if day != today:
            raise ValidationError(f"This appointment is on {day:%a %d %b}; patients check in on the day.")
        entry = QueueEntry.objects.create(
            day=today,
            clinician_id=locked.clinician_id,
            location_id=locked.location_id,
            token=_next_token(location_id=locked.location_id, day=today),
            patient_id=locked.patient_id,
            appointment=locked,
            added_by=actor,
        )
        step.metadata["token"] = entry.token
    return entry


@transaction.atomic
def appointment_start(*, appointment: Appointment, actor: User, context: AuditContext | None = None) -> Appointment:
    """The clinician calls the patient in (their queue token too)."""
    with _transition(appointment, "start", actor=actor, context=context, what="start consultations") as step:
        QueueEntry.objects.filter(appointment=step.row, status=QueueEntry.Status.WAITING).update(
            status=QueueEntry.Status.IN_CONSULTATION, called_at=timezone.now()
        )
    return step.row


def _link_visit(step: _Step[Appointment], *, actor: User, visit: Visit | None, context: AuditContext | None) -> None:
    """Completing links `visit` (the same patient's, at a location the actor works at). Without one,
    a clinician (clinical.edit) opens a draft visit through the clinical service, for the
    appointment's clinician and location; anyone else (the front desk) links no visit, because a
    visit is a clinical record that only clinicians write."""
    locked = step.row
    if visit is not None:
        if visit.patient_id != locked.patient_id:
            raise ValidationError({"visit": "That visit belongs to another patient."})
        if not user_can_access_location(actor, visit.location_id):
            raise ValidationError({"visit": "That visit is at a location you do not work at."})
        locked.visit = visit
    elif locked.visit_id is None and actor.has_capability("clinical.edit"):
        locked.visit = visit_create(
            patient=locked.patient,
            actor=actor,
            location=locked.location,
            clinician=locked.clinician,
            visit_at=timezone.now(),
            context=context,
        )
    if locked.visit_id is not None:
        step.changed_fields.append("visit")
        step.metadata["visit"] = str(locked.visit_id)


def _complete(
    appointment: Appointment, *, actor: User, visit: Visit | None, context: AuditContext | None, what: str | None
) -> Appointment:
    with _transition(appointment, "complete", actor=actor, context=context, what=what) as step:
        _link_visit(step, actor=actor, visit=visit, context=context)
        QueueEntry.objects.filter(appointment=step.row).exclude(status=QueueEntry.Status.DONE).update(
            status=QueueEntry.Status.DONE, finished_at=timezone.now()
        )
    return step.row


@transaction.atomic
def appointment_complete(
    *, appointment: Appointment, actor: User, visit: Visit | None = None, context: AuditContext | None = None
) -> Appointment:
    """The consultation is over: link `visit`, or (a clinician completing) open a draft visit to write."""
    return _complete(appointment, actor=actor, visit=visit, context=context, what="complete appointments")


@transaction.atomic
def appointment_mark_no_show(
    *, appointment: Appointment, actor: User, context: AuditContext | None = None
) -> Appointment:
    with _transition(appointment, "no_show", actor=actor, context=context, what="mark no-shows") as step:
        if timezone.now() < step.row.starts_at:
            tz = schedule.location_tz(step.row.location)
            raise ValidationError(
                f"The appointment starts at {step.row.starts_at.astimezone(tz):%H:%M}; mark a no-show only after that."
            )
    return step.row


# --- the patient's replies (WhatsApp buttons; the messaging issue calls these) ------------------------


@transaction.atomic
def appointment_confirm_by_patient(*, appointment: Appointment) -> Appointment:
    """The patient pressed "Confirm". Confirming twice changes nothing."""
    with _transition(appointment, "confirm", actor=None) as step:
        step.unchanged = step.row.status == Status.CONFIRMED
        step.metadata["channel"] = "whatsapp"
    return step.row


@transaction.atomic
def appointment_cancel_by_patient(*, appointment: Appointment) -> Appointment:
    """The patient pressed "Cancel". Only before check-in; a second press changes nothing."""
    with _transition(appointment, "cancel_by_patient", actor=None) as step:
        step.unchanged = step.row.status == Status.CANCELLED
        if not step.unchanged:
            _set_cancelled(step, reason=Appointment.CancelReason.PATIENT_WHATSAPP, note="", actor=None)
            step.metadata["channel"] = "whatsapp"
    if not step.unchanged:
        _after_cancel(step.row)
    return step.row


@transaction.atomic
def appointment_request_reschedule_by_patient(*, appointment: Appointment) -> Appointment:
    """The patient pressed "Reschedule": flagged for the front desk, who call back with a new time."""
    locked = _lock(appointment)
    if locked.status not in (Status.BOOKED, Status.CONFIRMED):
        raise ValidationError(
            f"This appointment is {locked.get_status_display().lower()}; it cannot be rescheduled.",
            code="illegal_transition",
        )
    if locked.reschedule_requested_at is None:
        locked.reschedule_requested_at = timezone.now()
        locked.save(update_fields=["reschedule_requested_at", "updated_at"])
        audit_record(
            actor=None,
            action="appointment.reschedule_request",
            obj=locked,
            location_id=locked.location_id,
            changed_fields=["reschedule_requested_at"],
            metadata={"channel": "whatsapp"},
        )
    _refresh(appointment, locked)
    return locked


@transaction.atomic
def appointment_reschedule_by_patient(*, appointment: Appointment, starts_at: dt.datetime) -> Appointment:
    """The patient picked one of the free times WhatsApp offered them: the appointment moves there,
    with the same doctor, branch and type, if that time is still free and within the doctor's hours
    (the same checks as the desk's booking; never overbooked). Reminders are planned again."""
    if timezone.is_naive(starts_at) or starts_at <= timezone.now():
        raise ValidationError("That time has passed; please choose another.", code="past")
    with _transition(appointment, "reschedule", actor=None) as step:
        locked = step.row
        if starts_at == locked.starts_at:
            step.unchanged = True
        else:
            locked.starts_at = starts_at
            locked.ends_at = starts_at + locked.appointment_type.duration
            locked.confirmed_at = None
            locked.reschedule_requested_at = None
            locked.reschedule_count += 1
            locked.scheduled_at = timezone.now()
            step.save = lambda: _place(locked, overbook=False, outside_hours=False, save=locked.save)
            step.changed_fields = ["starts_at"]
            step.metadata = {"channel": "whatsapp"}
    if not step.unchanged:
        reminders.reminders_drop_unsent(step.row)
        reminders.reminders_plan_for_appointment(step.row)
    return step.row


# --- walk-in queue ---------------------------------------------------------------------------------


@transaction.atomic
def queue_add_walk_in(
    *, patient: Patient, clinician: User, location: Location, actor: User, context: AuditContext | None = None
) -> QueueEntry:
    """A walk-in joins today's queue of `clinician` at `location` with the next token number."""
    require_capability(actor, "appointments.manage", "add patients to the queue")
    require_location(actor, location)
    patient_check_writable(actor=actor, patient=patient)
    _check_clinician(clinician)
    today = local_today(location)
    if QueueEntry.objects.filter(
        patient=patient,
        clinician=clinician,
        location=location,
        day=today,
        status__in=[QueueEntry.Status.WAITING, QueueEntry.Status.IN_CONSULTATION],
    ).exists():
        raise ValidationError({"patient": "This patient is already in this queue."})
    entry = QueueEntry.objects.create(
        day=today,
        clinician=clinician,
        location=location,
        token=_next_token(location_id=location.pk, day=today),
        patient=patient,
        added_by=actor,
    )
    audit_record(
        actor=actor,
        action="queue.add",
        obj=entry,
        location_id=location.pk,
        context=context,
        metadata={"patient": str(patient.pk), "token": entry.token},
    )
    return entry


@transaction.atomic
def queue_call(*, entry: QueueEntry, actor: User, context: AuditContext | None = None) -> QueueEntry:
    """Call a waiting token in (in consultation); its appointment, if any, starts too."""
    with _transition(entry, "call", actor=actor, context=context, what="call patients in") as step:
        if step.row.appointment is not None:
            _advance(step.row.appointment, "start")  # recorded by the queue.call event
    return step.row


@transaction.atomic
def queue_finish(
    *, entry: QueueEntry, actor: User, visit: Visit | None = None, context: AuditContext | None = None
) -> QueueEntry:
    """The consultation of a token is over; its appointment, if any, is completed with `visit` (the
    consultation screen's), else as `_link_visit` says."""
    with _transition(entry, "finish", actor=actor, context=context, what="finish consultations") as step:
        if step.row.appointment is not None:
            _complete(step.row.appointment, actor=actor, visit=visit, context=context, what=None)
    return step.row


@transaction.atomic
def queue_mark_left(*, entry: QueueEntry, actor: User, context: AuditContext | None = None) -> QueueEntry:
    """A waiting patient left without being seen; a checked-in appointment is cancelled with that reason."""
    with _transition(entry, "left", actor=actor, context=context, what="change the queue") as step:
        if step.row.appointment is not None:
            with _transition(step.row.appointment, "cancel", actor=actor, context=context) as cancel:
                _set_cancelled(cancel, reason=Appointment.CancelReason.LEFT_WITHOUT_BEING_SEEN, note="", actor=actor)
            _after_cancel(cancel.row)
    return step.row


# --- schedules -------------------------------------------------------------------------------------


def _overlaps(a_start: dt.time, a_end: dt.time, b_start: dt.time, b_end: dt.time) -> bool:
    return a_start < b_end and b_start < a_end


@transaction.atomic
def working_hours_add(
    *,
    clinician: User,
    location: Location,
    weekdays: list[int],
    start_time: dt.time,
    end_time: dt.time,
    actor: User,
    context: AuditContext | None = None,
) -> list[WorkingHours]:
    """Add a weekly session on each of `weekdays`. A clinician cannot be in two places at once:
    sessions of one clinician on one weekday may not overlap, at any location."""
    require_capability(actor, "schedules.manage", "edit schedules")
    _check_clinician(clinician)
    if not location.is_active:
        raise ValidationError({"location": f"{location.name} is closed; choose an active location."})
    if not weekdays or any(day not in range(7) for day in weekdays):
        raise ValidationError({"weekdays": "Choose at least one day of the week."})
    if start_time is None or end_time is None or end_time <= start_time:
        raise ValidationError({"end_time": "The session must end after it starts."})
    with connection.cursor() as cursor:  # one schedule editor per clinician at a time (no racing overlaps)
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"hours:{current_schema()}:{clinician.pk}"])
    created = []
    for weekday in sorted(set(weekdays)):
        clash = (
            WorkingHours.objects.filter(clinician=clinician, weekday=weekday)
            .select_related("location")
            .order_by("start_time")
        )
        for other in clash:
            if _overlaps(start_time, end_time, other.start_time, other.end_time):
                raise ValidationError(
                    {
                        "start_time": f"{clinician} already works {other.start_time:%H:%M}-{other.end_time:%H:%M} "
                        f"on {other.get_weekday_display()}s at {other.location.name}."
                    }
                )
        created.append(
            WorkingHours.objects.create(
                clinician=clinician, location=location, weekday=weekday, start_time=start_time, end_time=end_time
            )
        )
    for session in created:
        audit_record(
            actor=actor,
            action="schedule.hours_add",
            obj=session,
            location_id=location.pk,
            context=context,
            metadata={"clinician": str(clinician.pk), "weekday": session.weekday},
        )
    return created


@transaction.atomic
def working_hours_remove(*, session: WorkingHours, actor: User, context: AuditContext | None = None) -> None:
    """Remove a weekly session. Booked appointments stay; they simply fall outside the hours."""
    require_capability(actor, "schedules.manage", "edit schedules")
    audit_record(
        actor=actor,
        action="schedule.hours_remove",
        obj=session,
        location_id=session.location_id,
        context=context,
        metadata={"clinician": str(session.clinician_id), "weekday": session.weekday},
    )
    session.delete()


@transaction.atomic
def break_add(
    *,
    session: WorkingHours,
    start_time: dt.time,
    end_time: dt.time,
    label: str = "",
    actor: User,
    context: AuditContext | None = None,
) -> ScheduleBreak:
    require_capability(actor, "schedules.manage", "edit schedules")
    if start_time is None or end_time is None or end_time <= start_time:
        raise ValidationError({"end_time": "The break must end after it starts."})
    if start_time < session.start_time or end_time > session.end_time:
        span = f"{session.start_time:%H:%M}-{session.end_time:%H:%M}"
        raise ValidationError({"start_time": f"A break must lie within the session ({span})."})
    for other in session.breaks.all():
        if _overlaps(start_time, end_time, other.start_time, other.end_time):
            raise ValidationError({"start_time": "This break overlaps another break."})
    label = (label or "").strip()[:60]
    pause = ScheduleBreak.objects.create(working_hours=session, start_time=start_time, end_time=end_time, label=label)
    audit_record(
        actor=actor,
        action="schedule.break_add",
        obj=pause,
        location_id=session.location_id,
        context=context,
        metadata={"clinician": str(session.clinician_id)},
    )
    return pause


@transaction.atomic
def break_remove(*, pause: ScheduleBreak, actor: User, context: AuditContext | None = None) -> None:
    require_capability(actor, "schedules.manage", "edit schedules")
    audit_record(actor=actor, action="schedule.break_remove", obj=pause, context=context)
    pause.delete()


@transaction.atomic
def leave_add(
    *,
    clinician: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    actor: User,
    context: AuditContext | None = None,
) -> Leave:
    """Record a clinician's leave. Appointments already booked in it are not touched; the page
    that records the leave lists them so the front desk can move them."""
    require_capability(actor, "schedules.manage", "edit schedules")
    _check_clinician(clinician)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise ValidationError({"ends_at": "The leave must end after it starts."})
    if ends_at - starts_at > dt.timedelta(days=366):
        raise ValidationError({"ends_at": "A leave can last at most a year."})
    leave = Leave.objects.create(
        clinician=clinician, starts_at=starts_at, ends_at=ends_at, reason=(reason or "").strip()[:120], created_by=actor
    )
    audit_record(
        actor=actor, action="schedule.leave_add", obj=leave, context=context, metadata={"clinician": str(clinician.pk)}
    )
    return leave


@transaction.atomic
def leave_remove(*, leave: Leave, actor: User, context: AuditContext | None = None) -> None:
    require_capability(actor, "schedules.manage", "edit schedules")
    audit_record(
        actor=actor,
        action="schedule.leave_remove",
        obj=leave,
        context=context,
        metadata={"clinician": str(leave.clinician_id)},
    )
    leave.delete()


@transaction.atomic
def holiday_add(
    *, day: dt.date, name: str, location: Location | None = None, actor: User, context: AuditContext | None = None
) -> Holiday:
    require_capability(actor, "schedules.manage", "edit holidays")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the holiday, e.g. Diwali."})
    if day is None:
        raise ValidationError({"date": "Choose the date."})
    if Holiday.objects.filter(date=day, location=location).exists():
        raise ValidationError({"date": "There is already a holiday on that day."})
    holiday = Holiday.objects.create(date=day, name=name[:80], location=location)
    audit_record(
        actor=actor,
        action="schedule.holiday_add",
        obj=holiday,
        location_id=location.pk if location else None,
        context=context,
    )
    return holiday


@transaction.atomic
def holiday_remove(*, holiday: Holiday, actor: User, context: AuditContext | None = None) -> None:
    require_capability(actor, "schedules.manage", "edit holidays")
    audit_record(actor=actor, action="schedule.holiday_remove", obj=holiday, context=context)
    holiday.delete()


# --- appointment types, reminder rules, settings -----------------------------------------------------

TYPE_FIELDS = ("name", "duration_minutes", "colour", "position", "is_active")
RULE_FIELDS = ("name", "kind", "offset_minutes", "days_before", "send_time", "template_name", "language", "is_active")
SETTINGS_FIELDS = ("allow_overbooking", "quiet_hours_start", "quiet_hours_end")


def _apply(obj: Any, fields: Mapping[str, Any], allowed: tuple[str, ...]) -> list[str]:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(unknown)}")
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


@transaction.atomic
def appointment_type_save(
    *, actor: User, appointment_type: AppointmentType | None = None, context: AuditContext | None = None, **fields: Any
) -> AppointmentType:
    """Create an appointment type, or change one. Existing appointments keep their times."""
    require_capability(actor, "schedules.manage", "edit appointment types")
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    obj = appointment_type or AppointmentType()
    changed = _apply(obj, fields, TYPE_FIELDS)
    obj.full_clean(validate_unique=False)
    clash = AppointmentType.objects.filter(name__iexact=obj.name).exclude(pk=obj.pk)
    if clash.exists():
        raise ValidationError({"name": f"There is already an appointment type called {obj.name}."})
    if appointment_type is not None and not changed:
        return obj
    obj.save()
    audit_record(
        actor=actor,
        action="appointment_type.create" if appointment_type is None else "appointment_type.update",
        obj=obj,
        context=context,
        changed_fields=changed,
    )
    return obj


@transaction.atomic
def reminder_rule_save(
    *, actor: User, rule: ReminderRule | None = None, context: AuditContext | None = None, **fields: Any
) -> ReminderRule:
    """Create or change a reminder rule. Reminders of the rule not yet sent are planned again."""
    require_capability(actor, "schedules.manage", "edit reminder rules")
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    obj = rule or ReminderRule()
    changed = _apply(obj, fields, RULE_FIELDS)
    if obj.kind not in ReminderRule.Kind.values:
        raise ValidationError({"kind": "Choose when the reminder goes out."})
    obj.full_clean()
    if rule is not None and not changed:
        return obj
    obj.save()
    audit_record(
        actor=actor,
        action="reminder_rule.create" if rule is None else "reminder_rule.update",
        obj=obj,
        context=context,
        changed_fields=changed,
    )
    if rule is not None:
        reminders.reminders_replan_rule(obj)
    return obj


@transaction.atomic
def appointment_settings_update(
    *, actor: User, context: AuditContext | None = None, **fields: Any
) -> AppointmentSettings:
    """Overbooking and quiet hours (equal start and end switch quiet hours off)."""
    require_capability(actor, "schedules.manage", "change appointment settings")
    current = AppointmentSettings.objects.select_for_update().filter(pk=1).first() or AppointmentSettings(pk=1)
    changed = _apply(current, fields, SETTINGS_FIELDS)
    if current.quiet_hours_start is None or current.quiet_hours_end is None:
        raise ValidationError({"quiet_hours_start": "Give both ends of the quiet hours."})
    if not changed and current._state.adding is False:
        return current
    current.save()
    audit_record(
        actor=actor, action="appointment_settings.update", obj=current, context=context, changed_fields=changed
    )
    return current
