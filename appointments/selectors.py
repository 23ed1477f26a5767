"""Reads of appointments, queues and schedules, scoped to the acting user's locations.

A user restricted to some locations sees appointments and queues only there; another clinic's
id (another schema), another location's id and a missing id all raise the same Http404.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Location, User
from accounts.selectors import clinician_choices, locations_for, scope_to_user_locations
from appointments.models import (
    Appointment,
    AppointmentSettings,
    AppointmentType,
    Holiday,
    Leave,
    QueueEntry,
    Reminder,
    ReminderRule,
    WorkingHours,
)
from docos.ids import parse_uuid
from patients.access import patient_access, record_access, scope_patient_records, scope_patients
from patients.models import Patient

PATIENT_LOOKUP_LIMIT = 20


def appointment_settings() -> AppointmentSettings:
    """The clinic's settings row, or the defaults when none was saved yet (reads never write)."""
    return AppointmentSettings.objects.filter(pk=1).first() or AppointmentSettings(pk=1)


def clinic_tz() -> zoneinfo.ZoneInfo:
    tenant = getattr(connection, "tenant", None)
    return zoneinfo.ZoneInfo(getattr(tenant, "timezone", None) or "Asia/Kolkata")


# --- people ----------------------------------------------------------------------------------------


def clinician_get(clinician_id: Any) -> User:
    pk = parse_uuid(clinician_id)
    clinician = clinician_choices().filter(pk=pk).first() if pk else None
    if clinician is None:
        raise Http404("No such clinician")
    return clinician


def location_get(*, user: User, location_id: Any) -> Location:
    pk = parse_uuid(location_id)
    location = locations_for(user).filter(pk=pk).first() if pk else None
    if location is None:
        raise Http404("No such location")
    return location


def patient_for_booking(*, user: User, patient_id: Any) -> Patient:
    """A patient the user may open and book for (merged records are not bookable): else Http404."""
    patient = patient_access(user=user, patient_id=patient_id, what="booking")
    if patient.merged_into_id is not None:
        raise Http404("No such patient")
    return patient


def patient_lookup(query: str, *, user: User, limit: int = PATIENT_LOOKUP_LIMIT) -> list[Patient]:
    """Patients the user may open matching an MRN, a phone number (any 6+ digits of it) or a name, for booking."""
    text = " ".join((query or "").split())[:80]
    if len(text) < 2:
        return []
    digits = "".join(ch for ch in text if ch.isdigit())
    condition = Q(mrn__iexact=text)
    if len(digits) >= 6:
        condition |= (
            Q(phone__endswith=digits) | Q(whatsapp_number__endswith=digits) | Q(guardian_phone__endswith=digits)
        )
    words = text.split()
    if not digits:
        name = Q()
        for word in words[:3]:
            name &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
        condition |= name
    return list(
        scope_patients(
            # restricted records are hidden from every search, as in the patient list (privacy erasure)
            Patient.objects.filter(condition, merged_into__isnull=True, is_active=True, restricted_at__isnull=True),
            user,
        ).order_by("given_name", "family_name")[:limit]
    )


def public_name(patient: Patient) -> str:
    """What a public screen may show: the first name and the initial of the family name."""
    given = (patient.given_name or "").strip().split(" ")[0]
    initial = (patient.family_name or "").strip()[:1]
    return f"{given} {initial}." if initial else given


# --- appointments ----------------------------------------------------------------------------------


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("patient", "clinician", "location", "appointment_type")


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    return scope_patient_records(_appointments(), user)


def appointment_access(*, user: User, appointment_id: Any, what: str = "appointment") -> Appointment:
    """The appointment, or Http404 (see patients.access for the rule)."""
    return record_access(_appointments(), user=user, record_id=appointment_id, label="appointment", what=what)


def local_day_range(day: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    from appointments.schedule import day_bounds

    return day_bounds(day, tz)


def appointment_list(
    *,
    user: User,
    day: dt.date | None = None,
    days: int = 1,
    clinician: User | None = None,
    location: Location | None = None,
    status: str = "",
    patient: Patient | None = None,
) -> QuerySet[Appointment]:
    """Appointments visible to `user`, filtered. `day` (+ `days`) is read in the location's time zone,
    or the clinic's when no location is given."""
    appointments = appointments_visible_to(user)
    if day is not None:
        tz = zoneinfo.ZoneInfo(location.timezone) if location is not None else clinic_tz()
        start, _ = local_day_range(day, tz)
        _, end = local_day_range(day + dt.timedelta(days=max(days, 1) - 1), tz)
        appointments = appointments.filter(starts_at__gte=start, starts_at__lt=end)
    if clinician is not None:
        appointments = appointments.filter(clinician=clinician)
    if location is not None:
        appointments = appointments.filter(location=location)
    if patient is not None:
        appointments = appointments.filter(patient=patient)
    if status == "active":
        appointments = appointments.filter(status__in=Appointment.ACTIVE)
    elif status in Appointment.Status.values:
        appointments = appointments.filter(status=status)
    return appointments.order_by("starts_at", "clinician__full_name")


def reminders_of(appointment: Appointment) -> QuerySet[Reminder]:
    return Reminder.objects.filter(appointment=appointment).select_related("rule", "message").order_by("due_at")


def status_counts(appointments: Iterable[Appointment]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for appointment in appointments:
        counts[appointment.status] = counts.get(appointment.status, 0) + 1
    return counts


# --- calendars -------------------------------------------------------------------------------------


@dataclass
class CalendarCell:
    starts_at: dt.datetime
    column: Any
    open: bool = False
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class CalendarRow:
    label: str
    starts_at: dt.datetime
    cells: list[CalendarCell]


@dataclass
class Calendar:
    tz: zoneinfo.ZoneInfo
    columns: list[Any]  # clinicians (day view) or dates (week view)
    rows: list[CalendarRow]
    step_minutes: int
    holidays: dict[dt.date, str]
    count: int


def _grid_hours(times: Iterable[tuple[dt.time, dt.time]]) -> tuple[int, int]:
    """First and last minute of the day the grid shows: whole hours around the given spans."""
    spans = list(times)
    if not spans:
        return 9 * 60, 18 * 60
    first = min(start.hour * 60 for start, _ in spans)
    last = max(end.hour * 60 + end.minute for _, end in spans)
    return first, min(24 * 60, -(-last // 60) * 60)


def calendar_build(
    *,
    user: User,
    location: Location,
    start_day: dt.date,
    days: int,
    clinicians: list[User],
    step_minutes: int,
) -> Calendar:
    """A time grid for the location: day view = one column per clinician, week view (one clinician,
    or all) = one column per day. Each cell lists the appointments starting in it and says whether
    it is working time (a drop target for drag-to-reschedule)."""
    from appointments.schedule import day_schedule, local_datetime

    tz = zoneinfo.ZoneInfo(location.timezone)
    day_list = [start_day + dt.timedelta(days=i) for i in range(days)]
    appointments = list(
        appointment_list(user=user, day=start_day, days=days, location=location).filter(
            clinician__in=clinicians, status__in=[*Appointment.ACTIVE, Appointment.Status.COMPLETED]
        )
    )
    spans = [
        (s.start_time, s.end_time) for s in WorkingHours.objects.filter(location=location, clinician__in=clinicians)
    ]
    spans += [(a.starts_at.astimezone(tz).time(), a.ends_at.astimezone(tz).time()) for a in appointments]
    spans = [(start, end if end > start else dt.time(23, 59)) for start, end in spans]
    minutes, end_minutes = _grid_hours(spans)
    # Working time per (clinician, day), for the "open" shading.
    open_spans: dict[tuple[Any, dt.date], list[tuple[dt.datetime, dt.datetime]]] = {}
    for clinician in clinicians:
        for day in day_list:
            open_spans[(clinician.pk, day)] = day_schedule(clinician=clinician, location=location, day=day).open
    holidays = {
        h.date: h.name
        for h in Holiday.objects.filter(Q(location=location) | Q(location__isnull=True), date__in=day_list)
    }
    step = dt.timedelta(minutes=step_minutes)
    columns: list[Any] = clinicians if days == 1 else day_list
    rows: list[CalendarRow] = []
    while minutes < end_minutes:
        at = dt.time(minutes // 60, minutes % 60)
        cells = []
        for column in columns:
            day = start_day if days == 1 else column
            starts_at = local_datetime(day, at, tz)
            ends_at = starts_at + step
            cell_clinicians = [column] if days == 1 else clinicians
            is_open = any(s <= starts_at and ends_at <= e for c in cell_clinicians for s, e in open_spans[(c.pk, day)])
            cell = CalendarCell(starts_at=starts_at, column=column, open=is_open)
            cell.appointments = [
                a
                for a in appointments
                if starts_at <= a.starts_at < ends_at and (days != 1 or a.clinician_id == column.pk)
            ]
            cells.append(cell)
        rows.append(CalendarRow(label=at.strftime("%H:%M"), starts_at=local_datetime(start_day, at, tz), cells=cells))
        minutes += step_minutes
    return Calendar(
        tz=tz, columns=columns, rows=rows, step_minutes=step_minutes, holidays=holidays, count=len(appointments)
    )


def clinicians_at(location: Location) -> list[User]:
    """Clinicians with working hours at the location (all clinicians if none has any yet)."""
    with_hours = clinician_choices().filter(working_hours__location=location).distinct()
    return list(with_hours) or list(clinician_choices())


# --- queue -----------------------------------------------------------------------------------------


def queue_entries(
    *, user: User, location: Location, day: dt.date, clinician: User | None = None
) -> QuerySet[QueueEntry]:
    entries = scope_to_user_locations(
        QueueEntry.objects.select_related("patient", "clinician", "appointment", "location"), user
    ).filter(location=location, day=day)
    if clinician is not None:
        entries = entries.filter(clinician=clinician)
    return entries.order_by("clinician__full_name", "token")


def queue_entry_access(*, user: User, entry_id: Any) -> QueueEntry:
    pk = parse_uuid(entry_id)
    entry = (
        scope_to_user_locations(QueueEntry.objects.select_related("appointment", "location"), user)
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if entry is None:
        raise Http404("No such queue entry")
    return entry


def queue_board(*, user: User, location: Location, day: dt.date, clinician: User | None = None) -> dict[str, Any]:
    """The waiting-area screen: per clinician, who is in consultation and who waits, by token.
    Names are shortened to the first name and an initial; no phone numbers or MRNs."""
    entries = queue_entries(user=user, location=location, day=day, clinician=clinician).filter(
        status__in=[QueueEntry.Status.WAITING, QueueEntry.Status.IN_CONSULTATION]
    )
    boards: dict[Any, dict[str, Any]] = {}
    for entry in entries:
        board = boards.setdefault(
            entry.clinician_id, {"clinician": entry.clinician.full_name, "now": [], "waiting": []}
        )
        item = {"token": entry.token, "name": public_name(entry.patient)}
        board["now" if entry.status == QueueEntry.Status.IN_CONSULTATION else "waiting"].append(item)
    return {
        "location": location.name,
        "updated_at": timezone.now().astimezone(zoneinfo.ZoneInfo(location.timezone)).strftime("%H:%M"),
        "boards": sorted(boards.values(), key=lambda b: b["clinician"]),
    }


# --- schedules -------------------------------------------------------------------------------------


def working_hours_list(*, location: Location | None = None, clinician: User | None = None) -> QuerySet[WorkingHours]:
    sessions = WorkingHours.objects.select_related("clinician", "location").prefetch_related("breaks")
    if location is not None:
        sessions = sessions.filter(location=location)
    if clinician is not None:
        sessions = sessions.filter(clinician=clinician)
    return sessions.order_by("clinician__full_name", "location__name", "weekday", "start_time")


def leaves_upcoming() -> QuerySet[Leave]:
    return Leave.objects.filter(ends_at__gt=timezone.now()).select_related("clinician").order_by("starts_at")


def holidays_upcoming() -> QuerySet[Holiday]:
    today = timezone.now().astimezone(clinic_tz()).date()
    return Holiday.objects.filter(date__gte=today - dt.timedelta(days=1)).select_related("location").order_by("date")


def appointments_affected_by_leave(leave: Leave) -> QuerySet[Appointment]:
    return Appointment.objects.filter(
        clinician=leave.clinician_id,
        status__in=Appointment.ACTIVE,
        starts_at__lt=leave.ends_at,
        ends_at__gt=leave.starts_at,
    ).select_related("patient", "location")


def appointment_types(*, active_only: bool = True) -> QuerySet[AppointmentType]:
    types = AppointmentType.objects.all()
    return types.filter(is_active=True) if active_only else types


def default_appointment_type() -> AppointmentType | None:
    return appointment_types().order_by("position", "name").first()


def reminder_rules() -> QuerySet[ReminderRule]:
    return ReminderRule.objects.all()
