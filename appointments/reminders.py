"""Reminders: planned from the clinic's rules, claimed by the beat scan, sent through messaging.

Life of a reminder row (appointments.models.Reminder):

* **planned** (status `scheduled`): one row per (appointment, rule, scheduling) or per (patient,
  follow-up date, rule), under a unique `key`. Rows are written with
  `INSERT ... SELECT ... ON CONFLICT (key) DO NOTHING` -- at booking and rescheduling for the
  appointment, and by every scan for anything due soon -- so re-runs never duplicate a row.
  `send_after` is the due time moved out of the clinic's quiet hours (local time of the location).
* **claimed** (`sending`): the scan takes due rows with one conditional
  `UPDATE ... WHERE status = 'scheduled' ... RETURNING id`; a row is claimed by one scan only, even
  when two beats or two workers scan at once. The ids go to `reminders_send` tasks on commit.
* **sent/failed/skipped/cancelled**: the send task re-checks the row under a lock (still
  `sending`, appointment still booked and in the future, not quiet hours, patient reachable) and
  hands it to `messaging.services.message_send_template` with the reminder's key as idempotency
  key, so even a retried task or a released claim never sends a second message. The reminder's
  status then follows the message's (sent, delivered, read, failed + reason).

A claim left `sending` for STALE_CLAIM (the enqueue was lost, a worker died) is released to
`scheduled` by the next scan; the idempotency key makes the retry safe.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from appointments.models import Appointment, Reminder, ReminderRule
from appointments.schedule import day_bounds, quiet_hours_end
from appointments.whatsapp_replies import reminder_button_payloads
from messaging.models import OutboundMessage

logger = logging.getLogger(__name__)

SCAN_LOOKAHEAD = dt.timedelta(minutes=15)  # the scan plans rows due this soon (booking plans the rest)
STALE_CLAIM = dt.timedelta(minutes=15)
CLAIM_LIMIT = 5000  # rows claimed per scan and clinic; the rest wait for the next minute
SEND_BATCH = 50  # reminder ids per send task
FOLLOW_UP_HORIZON_DAYS = 31  # days_before is at most 30

_MESSAGE_TO_REMINDER = {
    OutboundMessage.Status.QUEUED: Reminder.Status.SENDING,
    OutboundMessage.Status.SENDING: Reminder.Status.SENDING,
    OutboundMessage.Status.SENT: Reminder.Status.SENT,
    OutboundMessage.Status.DELIVERED: Reminder.Status.DELIVERED,
    OutboundMessage.Status.READ: Reminder.Status.READ,
    OutboundMessage.Status.FAILED: Reminder.Status.FAILED,
}


@dataclass
class ScanResult:
    released: int
    planned: int
    claimed: list[str]


def _quiet_sql(moment: str) -> str:
    """SQL moving `moment` (a timestamptz expression) to the end of quiet hours %(qs)s-%(qe)s in the
    location's zone `tz` when it falls inside them. Mirrors appointments.schedule.quiet_hours_end."""
    local = f"({moment} AT TIME ZONE tz)"
    return f"""
    CASE
      WHEN %(qs)s::time = %(qe)s::time THEN {moment}
      WHEN %(qs)s::time > %(qe)s::time AND {local}::time >= %(qs)s::time
        THEN (({local}::date + 1) + %(qe)s::time) AT TIME ZONE tz
      WHEN %(qs)s::time > %(qe)s::time AND {local}::time < %(qe)s::time
        THEN ({local}::date + %(qe)s::time) AT TIME ZONE tz
      WHEN %(qs)s::time < %(qe)s::time AND {local}::time >= %(qs)s::time AND {local}::time < %(qe)s::time
        THEN ({local}::date + %(qe)s::time) AT TIME ZONE tz
      ELSE {moment}
    END"""


_APPOINTMENT_PLAN_SQL = """
WITH cand AS (
    SELECT a.id AS appointment_id, a.patient_id, a.location_id, r.id AS rule_id, a.reschedule_count,
           a.starts_at - make_interval(mins => r.offset_minutes) AS due_at, l.timezone AS tz
      FROM appointments_appointment a
      JOIN appointments_reminderrule r ON r.is_active AND r.kind = 'appointment'
      JOIN accounts_location l ON l.id = a.location_id
     WHERE a.status IN ('booked', 'confirmed')
       AND a.starts_at > %(now)s
       AND a.starts_at <= %(until)s
       AND a.starts_at - make_interval(mins => r.offset_minutes) >= a.scheduled_at
       AND a.starts_at - make_interval(mins => r.offset_minutes) <= %(due_by)s
       {filter}
), timed AS (
    SELECT cand.*, {quiet} AS send_after FROM (
        SELECT cand.*, GREATEST(due_at, %(now)s) AS effective FROM cand
    ) cand
)
INSERT INTO appointments_reminder
    (id, key, rule_id, patient_id, location_id, appointment_id, due_at, send_after, status, reason, attempts,
     created_at, updated_at)
SELECT gen_random_uuid(), 'a:' || appointment_id || ':' || rule_id || ':' || reschedule_count, rule_id, patient_id,
       location_id, appointment_id, due_at, send_after, 'scheduled', '', 0, %(now)s, %(now)s
  FROM timed
ON CONFLICT (key) DO NOTHING
"""

_FOLLOW_UP_PLAN_SQL = """
WITH src AS (
    SELECT v.patient_id, v.location_id, v.follow_up_date, v.id AS visit_id, NULL::uuid AS prescription_id,
           v.created_at, 0 AS preference
      FROM clinical_visit v
     WHERE v.follow_up_date BETWEEN %(from_day)s AND %(to_day)s
    UNION ALL
    SELECT p.patient_id, p.location_id, p.follow_up_date, p.visit_id, p.id, p.created_at, 1
      FROM clinical_prescription p
     WHERE p.status = 'signed' AND p.follow_up_date BETWEEN %(from_day)s AND %(to_day)s
), cand AS (
    SELECT DISTINCT ON (s.patient_id, s.follow_up_date, r.id)
           s.patient_id, s.location_id, s.follow_up_date, s.visit_id, s.prescription_id, s.created_at,
           r.id AS rule_id, l.timezone AS tz,
           ((s.follow_up_date - r.days_before) + r.send_time) AT TIME ZONE l.timezone AS due_at,
           (s.follow_up_date + 1)::timestamp AT TIME ZONE l.timezone AS day_over
      FROM src s
      JOIN patients_patient pt ON pt.id = s.patient_id AND pt.merged_into_id IS NULL AND pt.is_active
      JOIN appointments_reminderrule r ON r.is_active AND r.kind = 'follow_up'
      JOIN accounts_location l ON l.id = s.location_id
     ORDER BY s.patient_id, s.follow_up_date, r.id, s.preference, s.created_at
), timed AS (
    SELECT cand.*, {quiet} AS send_after FROM (
        SELECT cand.*, GREATEST(due_at, %(now)s) AS effective FROM cand
         WHERE due_at <= %(due_by)s AND due_at >= created_at AND day_over > %(now)s
    ) cand
)
INSERT INTO appointments_reminder
    (id, key, rule_id, patient_id, location_id, visit_id, prescription_id, follow_up_date, due_at, send_after,
     status, reason, attempts, created_at, updated_at)
SELECT gen_random_uuid(), 'f:' || patient_id || ':' || follow_up_date || ':' || rule_id, rule_id, patient_id,
       location_id, visit_id, prescription_id, follow_up_date, due_at, send_after, 'scheduled', '', 0,
       %(now)s, %(now)s
  FROM timed
ON CONFLICT (key) DO NOTHING
"""

_RELEASE_SQL = """
UPDATE appointments_reminder SET status = 'scheduled', updated_at = %(now)s
 WHERE status = 'sending' AND claimed_at < %(stale)s
"""

_CLAIM_SQL = """
UPDATE appointments_reminder
   SET status = 'sending', claimed_at = %(now)s, attempts = attempts + 1, updated_at = %(now)s
 WHERE id IN (
        SELECT id FROM appointments_reminder
         WHERE status = 'scheduled' AND send_after <= %(now)s
         ORDER BY send_after
         LIMIT %(limit)s
         FOR UPDATE SKIP LOCKED)
   AND status = 'scheduled'
RETURNING id
"""


def _quiet_params() -> dict[str, Any]:
    from appointments.selectors import appointment_settings

    config = appointment_settings()
    return {"qs": config.quiet_hours_start, "qe": config.quiet_hours_end}


def _max_offset() -> int | None:
    offset = ReminderRule.objects.filter(is_active=True, kind=ReminderRule.Kind.BEFORE_APPOINTMENT).aggregate(
        most=Max("offset_minutes")
    )["most"]
    return int(offset) if offset is not None else None


def _execute(sql: str, params: dict[str, Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _plan_appointments(*, now: dt.datetime, due_by: dt.datetime, appointment: Appointment | None = None) -> int:
    most = _max_offset()
    if most is None:
        return 0
    params = {
        "now": now,
        "until": (appointment.starts_at if appointment else due_by + dt.timedelta(minutes=most)),
        "due_by": due_by,
        **_quiet_params(),
    }
    where = ""
    if appointment is not None:
        where = "AND a.id = %(appointment)s"
        params["appointment"] = appointment.pk
    sql = _APPOINTMENT_PLAN_SQL.format(filter=where, quiet=_quiet_sql("effective"))
    return _execute(sql, params)


def _plan_follow_ups(*, now: dt.datetime, due_by: dt.datetime) -> int:
    if not ReminderRule.objects.filter(is_active=True, kind=ReminderRule.Kind.FOLLOW_UP).exists():
        return 0
    # Follow-up dates whose reminder could be due by `due_by` (any zone: a day of slack each side).
    today = now.date()
    params = {
        "now": now,
        "due_by": due_by,
        "from_day": today - dt.timedelta(days=1),
        "to_day": due_by.date() + dt.timedelta(days=FOLLOW_UP_HORIZON_DAYS + 1),
        **_quiet_params(),
    }
    return _execute(_FOLLOW_UP_PLAN_SQL.format(quiet=_quiet_sql("effective")), params)


def reminders_plan_for_appointment(appointment: Appointment) -> int:
    """Plan every rule's reminder for this appointment (called when it is booked or moved), so the
    appointment page shows them as scheduled. Reminders already due when booked are not planned."""
    far = appointment.starts_at
    return _plan_appointments(now=timezone.now(), due_by=far, appointment=appointment)


def reminders_drop_unsent(appointment: Appointment) -> int:
    """Delete the appointment's reminders that were only planned (its time changed): nothing was sent."""
    deleted, _ = Reminder.objects.filter(appointment=appointment, status=Reminder.Status.SCHEDULED).delete()
    return deleted


def reminders_cancel_for_appointment(appointment: Appointment, *, reason: str) -> int:
    return Reminder.objects.filter(appointment=appointment, status=Reminder.Status.SCHEDULED).update(
        status=Reminder.Status.CANCELLED, reason=reason, updated_at=timezone.now()
    )


def reminders_replan_rule(rule: ReminderRule) -> int:
    """A rule changed (timing, template, switched off): drop its reminders not yet sent, then plan
    them again for booked appointments if the rule is active."""
    Reminder.objects.filter(rule=rule, status=Reminder.Status.SCHEDULED).delete()
    if not rule.is_active or rule.kind != ReminderRule.Kind.BEFORE_APPOINTMENT:
        return 0
    now = timezone.now()
    return _plan_appointments(now=now, due_by=now + dt.timedelta(days=3650))


@transaction.atomic
def reminders_scan(*, now: dt.datetime | None = None, claim_limit: int = CLAIM_LIMIT) -> ScanResult:
    """One clinic's scan (run every minute in its schema): release stale claims, plan what is due
    soon, claim what is due now. The claimed ids are enqueued for sending after commit."""
    now = now or timezone.now()
    released = _execute(_RELEASE_SQL, {"now": now, "stale": now - STALE_CLAIM})
    due_by = now + SCAN_LOOKAHEAD
    planned = _plan_appointments(now=now, due_by=due_by) + _plan_follow_ups(now=now, due_by=due_by)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "limit": claim_limit})
        claimed = [str(row[0]) for row in cursor.fetchall()]
    if claimed:
        transaction.on_commit(lambda: reminders_enqueue(claimed))
    return ScanResult(released=released, planned=planned, claimed=claimed)


def reminders_enqueue(reminder_ids: Iterable[str]) -> int:
    """Hand claimed reminders to the messaging queue, SEND_BATCH ids per task. Must run in the
    clinic's schema: tenant-schemas-celery stamps it on each message."""
    from appointments.tasks import reminders_send_task

    ids = list(reminder_ids)
    tasks = 0
    for start in range(0, len(ids), SEND_BATCH):
        reminders_send_task.apply_async(args=[ids[start : start + SEND_BATCH]])
        tasks += 1
    return tasks


# --- sending ---------------------------------------------------------------------------------------


def _tz(reminder: Reminder) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(reminder.location.timezone)


def _clinic_name() -> str:
    tenant = getattr(connection, "tenant", None)
    return str(getattr(tenant, "name", "") or "")


def reminder_parameters(reminder: Reminder) -> list[str]:
    """Body parameters of the WhatsApp template, in order ({{1}}, {{2}}, ...):
    appointment: first name, clinician, date, time, location, clinic;
    follow-up:   first name, follow-up date, clinician, location, clinic."""
    tz = _tz(reminder)
    first_name = (reminder.patient.given_name or "").split(" ")[0]
    if reminder.appointment is not None:
        appointment = reminder.appointment
        local = appointment.starts_at.astimezone(tz)
        return [
            first_name,
            appointment.clinician.full_name,
            local.strftime("%a %d %b %Y"),
            local.strftime("%I:%M %p").lstrip("0"),
            reminder.location.name,
            _clinic_name(),
        ]
    clinician = ""
    if reminder.visit is not None:
        clinician = reminder.visit.clinician.full_name
    elif reminder.prescription is not None:
        clinician = reminder.prescription.prescriber.full_name
    day = reminder.follow_up_date
    return [first_name, day.strftime("%a %d %b %Y") if day else "", clinician, reminder.location.name, _clinic_name()]


def _finish(reminder: Reminder, status: str, reason: str = "") -> str:
    reminder.status = status
    reminder.reason = reason
    reminder.updated_at = timezone.now()
    reminder.save(update_fields=["status", "reason", "updated_at", "send_after", "message", "sent_at"])
    return status


def _follow(reminder: Reminder, message: OutboundMessage) -> None:
    reminder.message = message
    status = _MESSAGE_TO_REMINDER[OutboundMessage.Status(message.status)]
    if status in (Reminder.Status.SENT, Reminder.Status.DELIVERED, Reminder.Status.READ) and reminder.sent_at is None:
        reminder.sent_at = message.sent_at or timezone.now()
    reminder.status = status
    reminder.reason = message.error if status == Reminder.Status.FAILED else ""


def _not_needed_reason(reminder: Reminder, now: dt.datetime) -> tuple[str, str] | None:
    """(status, reason) when the reminder should not go out any more, else None."""
    if reminder.appointment is not None:
        appointment = reminder.appointment
        if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
            return Reminder.Status.CANCELLED, f"appointment_{appointment.status}"
        if not reminder.key.endswith(f":{appointment.reschedule_count}"):
            return Reminder.Status.CANCELLED, "rescheduled"
        if appointment.starts_at <= now:
            return Reminder.Status.SKIPPED, "too_late"
        return None
    tz = _tz(reminder)
    if reminder.follow_up_date is None:
        return Reminder.Status.SKIPPED, "no_follow_up_date"
    start, end = day_bounds(reminder.follow_up_date, tz)
    if end <= now:
        return Reminder.Status.SKIPPED, "too_late"
    booked = Appointment.objects.filter(
        patient_id=reminder.patient_id,
        status__in=Appointment.ACTIVE,
        starts_at__gte=min(now, start),
        starts_at__lt=end,
    ).exists()
    if booked:
        return Reminder.Status.SKIPPED, "already_booked"
    return None


@transaction.atomic
def reminder_send(*, reminder_id: str, now: dt.datetime | None = None) -> str:
    """Send one claimed reminder; returns its new status. A reminder that is not `sending` (sent
    already, cancelled, or claimed and handled by another task) is left alone."""
    from appointments.selectors import appointment_settings
    from messaging.services import message_send_template, patient_unreachable_reason

    now = now or timezone.now()
    reminder = (
        Reminder.objects.select_for_update(of=("self",))
        .select_related(
            "rule",
            "patient",
            "location",
            "appointment",
            "appointment__clinician",
            "visit__clinician",
            "prescription__prescriber",
        )
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None or reminder.status != Reminder.Status.SENDING:
        return "not_claimed"
    stop = _not_needed_reason(reminder, now)
    if stop is not None:
        return _finish(reminder, *stop)
    config = appointment_settings()
    quiet_end = quiet_hours_end(now, _tz(reminder), config.quiet_hours_start, config.quiet_hours_end)
    if quiet_end is not None:
        reminder.send_after = quiet_end
        return _finish(reminder, Reminder.Status.SCHEDULED)
    refusal = patient_unreachable_reason(reminder.patient)
    if refusal:
        return _finish(reminder, Reminder.Status.SKIPPED, refusal)
    message = message_send_template(
        patient=reminder.patient,
        template_name=reminder.rule.template_name,
        language=reminder.rule.language,
        parameters=reminder_parameters(reminder),
        idempotency_key=f"reminder:{reminder.key}",
        related=reminder,
        button_payloads=(
            reminder_button_payloads(reminder.appointment, reminder.rule.template_name, reminder.rule.language)
            if reminder.appointment is not None
            else None
        ),
    )
    _follow(reminder, message)
    return _finish(reminder, reminder.status, reminder.reason)


def reminders_send(reminder_ids: Iterable[str]) -> dict[str, int]:
    """Send a batch of claimed reminders, each in its own transaction."""
    outcome: dict[str, int] = {}
    for reminder_id in reminder_ids:
        status = reminder_send(reminder_id=reminder_id)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def reminder_follow_message(message: OutboundMessage) -> None:
    """Messaging's status listener: a delivery receipt moved the message; the reminder follows."""
    reminder = Reminder.objects.select_for_update().filter(message=message).first()
    if reminder is None:
        return
    _follow(reminder, message)
    _finish(reminder, reminder.status, reminder.reason)
