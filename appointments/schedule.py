"""Working time and free slots, computed from weekly hours, breaks, leaves, holidays and bookings.

Everything is computed in the location's time zone: a Monday 09:30-13:30 session at a Dubai
location is 09:30-13:30 Dubai time, stored and compared as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from accounts.models import Location, User
from appointments.models import Appointment, AppointmentType, Holiday, Leave, WorkingHours

Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class DaySchedule:
    """A clinician's working time at a location on one local date."""

    day: dt.date
    tz: zoneinfo.ZoneInfo
    sessions: list[Interval]  # the weekly hours of that weekday (breaks not removed)
    open: list[Interval]  # bookable time: sessions minus breaks and leaves; empty on a holiday
    holiday: Holiday | None
    leaves: list[Leave]


def location_tz(location: Location) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(location.timezone)


def local_datetime(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The aware moment of wall-clock `at` on `day` in `tz` (a time skipped by a DST change moves forward)."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    round_trip = aware.astimezone(dt.UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != naive:  # in a spring-forward gap
        return round_trip
    return aware


def day_bounds(day: dt.date, tz: zoneinfo.ZoneInfo) -> Interval:
    return local_datetime(day, dt.time(0), tz), local_datetime(day + dt.timedelta(days=1), dt.time(0), tz)


def subtract(intervals: Iterable[Interval], cut: Interval) -> list[Interval]:
    """The parts of `intervals` outside `cut`."""
    out: list[Interval] = []
    cut_start, cut_end = cut
    for start, end in intervals:
        if cut_end <= start or cut_start >= end:
            out.append((start, end))
            continue
        if start < cut_start:
            out.append((start, cut_start))
        if cut_end < end:
            out.append((cut_end, end))
    return out


def holiday_on(day: dt.date, location: Location) -> Holiday | None:
    return (
        Holiday.objects.filter(Q(location=location) | Q(location__isnull=True), date=day).order_by("location").first()
    )


def day_schedule(*, clinician: User, location: Location, day: dt.date) -> DaySchedule:
    tz = location_tz(location)
    holiday = holiday_on(day, location)
    hours = list(
        WorkingHours.objects.filter(clinician=clinician, location=location, weekday=day.weekday())
        .prefetch_related("breaks")
        .order_by("start_time")
    )
    sessions: list[Interval] = []
    open_time: list[Interval] = []
    for session in hours:
        span = (local_datetime(day, session.start_time, tz), local_datetime(day, session.end_time, tz))
        sessions.append(span)
        pieces = [span]
        for pause in session.breaks.all():
            pieces = subtract(
                pieces, (local_datetime(day, pause.start_time, tz), local_datetime(day, pause.end_time, tz))
            )
        open_time.extend(pieces)
    start, end = day_bounds(day, tz)
    leaves = list(Leave.objects.filter(clinician=clinician, starts_at__lt=end, ends_at__gt=start).order_by("starts_at"))
    for leave in leaves:
        open_time = subtract(open_time, (leave.starts_at, leave.ends_at))
    if holiday is not None:
        open_time = []
    return DaySchedule(day=day, tz=tz, sessions=sessions, open=sorted(open_time), holiday=holiday, leaves=leaves)


def busy_intervals(
    *, clinician: User, start: dt.datetime, end: dt.datetime, exclude: Appointment | None = None
) -> list[Interval]:
    """Times the clinician is booked (any location, overbooked ones included)."""
    appointments = Appointment.objects.filter(
        clinician=clinician, status__in=Appointment.ACTIVE, starts_at__lt=end, ends_at__gt=start
    )
    if exclude is not None:
        appointments = appointments.exclude(pk=exclude.pk)
    return sorted(appointments.values_list("starts_at", "ends_at"))


def free_slots(
    *,
    clinician: User,
    location: Location,
    day: dt.date,
    appointment_type: AppointmentType,
    now: dt.datetime | None = None,
) -> list[Slot]:
    """Bookable slots of `appointment_type`'s length on `day` (location time), in the future.

    Slots follow a grid of the type's length from each session's start; after a booking or a
    break the grid restarts where it ends, so no usable gap is lost.
    """
    now = now or timezone.now()
    schedule = day_schedule(clinician=clinician, location=location, day=day)
    if not schedule.open:
        return []
    length = appointment_type.duration
    busy = busy_intervals(clinician=clinician, start=schedule.open[0][0], end=schedule.open[-1][1])
    slots: list[Slot] = []
    for open_start, open_end in schedule.open:
        cursor = open_start
        while cursor + length <= open_end:
            slot_end = cursor + length
            clash = next((b for b in busy if b[0] < slot_end and b[1] > cursor), None)
            if clash is not None:
                cursor = max(clash[1], cursor + dt.timedelta(minutes=1))
                continue
            if cursor >= now:
                slots.append(Slot(cursor, slot_end))
            cursor = slot_end
    return slots


def outside_schedule_reason(
    *, clinician: User, location: Location, starts_at: dt.datetime, ends_at: dt.datetime
) -> str:
    """Why [starts_at, ends_at) is not bookable working time ("" when it is)."""
    tz = location_tz(location)
    day = starts_at.astimezone(tz).date()
    schedule = day_schedule(clinician=clinician, location=location, day=day)
    if schedule.holiday is not None:
        return f"{location.name} is closed on {day:%a %d %b %Y} ({schedule.holiday.name})."
    for leave in schedule.leaves:
        if leave.starts_at < ends_at and leave.ends_at > starts_at:
            return f"{clinician} is on leave then."
    if any(start <= starts_at and ends_at <= end for start, end in schedule.open):
        return ""
    if not schedule.sessions:
        return f"{clinician} does not work at {location.name} on {day:%A}s."
    hours = ", ".join(f"{s.astimezone(tz):%H:%M}-{e.astimezone(tz):%H:%M}" for s, e in schedule.sessions)
    inside_session = any(start <= starts_at and ends_at <= end for start, end in schedule.sessions)
    if inside_session:
        return f"That time falls in {clinician}'s break."
    return f"That time is outside {clinician}'s hours at {location.name} on {day:%A}s ({hours})."


def quiet_hours_end(moment: dt.datetime, tz: zoneinfo.ZoneInfo, start: dt.time, end: dt.time) -> dt.datetime | None:
    """When the quiet hours that `moment` falls in end (None if it is not in quiet hours).

    Quiet hours run from `start` to `end` local time, across midnight when start > end
    (21:00-08:00); equal times mean no quiet hours. Mirrors the SQL in appointments.reminders."""
    if start == end:
        return None
    local = moment.astimezone(tz)
    at = local.time().replace(tzinfo=None)
    if start > end:
        if at >= start:
            return local_datetime(local.date() + dt.timedelta(days=1), end, tz)
        if at < end:
            return local_datetime(local.date(), end, tz)
        return None
    if start <= at < end:
        return local_datetime(local.date(), end, tz)
    return None
