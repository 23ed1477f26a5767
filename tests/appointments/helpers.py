"""Helpers for the appointments tests: patients, schedules, types, rules and a future working day."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, User
from appointments import services
from appointments.models import Appointment, AppointmentType, ReminderRule, WorkingHours
from appointments.schedule import local_datetime
from patients.models import Patient

MORNING = (dt.time(9, 30), dt.time(13, 30))
EVENING = (dt.time(17, 0), dt.time(20, 30))
IST = zoneinfo.ZoneInfo("Asia/Kolkata")


def make_patient(seeded: Any, *, consent: bool = True, **fields: Any) -> Patient:
    defaults: dict[str, Any] = {
        "mrn": f"T-{uuid.uuid4().hex[:8].upper()}",
        "given_name": "Asha",
        "family_name": "Verma",
        "sex": "F",
        "phone": "+919812345678",
        "registered_location": seeded.locations[0],
    }
    if consent:
        defaults.update(whatsapp_consent_at=timezone.now(), whatsapp_consent_source="registration")
    defaults.update(fields)
    with tenant_context(seeded.clinic):
        return Patient.objects.create(**defaults)


def user(seeded: Any, role: str) -> User:
    with tenant_context(seeded.clinic):
        return User.objects.select_related("role").get(pk=seeded.users[role].pk)


def next_weekday(weekday: int, *, weeks_ahead: int = 1, tz: zoneinfo.ZoneInfo = IST) -> dt.date:
    """A date with that weekday (Mon=0), at least `weeks_ahead` weeks from today: always in the future."""
    today = timezone.now().astimezone(tz).date()
    start = today + dt.timedelta(days=7 * weeks_ahead)
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


def at(day: dt.date, hh: int, mm: int = 0, tz: zoneinfo.ZoneInfo = IST) -> dt.datetime:
    return local_datetime(day, dt.time(hh, mm), tz)


def give_hours(
    seeded: Any,
    clinician: User,
    location: Location,
    *,
    weekdays: Iterable[int] = range(6),
    sessions: Iterable[tuple[dt.time, dt.time]] = (MORNING, EVENING),
) -> list[WorkingHours]:
    owner = user(seeded, "owner")
    created: list[WorkingHours] = []
    with tenant_context(seeded.clinic):
        for start, end in sessions:
            created += services.working_hours_add(
                clinician=clinician,
                location=location,
                weekdays=list(weekdays),
                start_time=start,
                end_time=end,
                actor=owner,
            )
    return created


def make_type(seeded: Any, name: str = "Consultation", minutes: int = 15, colour: str = "#0b6bcb") -> AppointmentType:
    with tenant_context(seeded.clinic):
        return services.appointment_type_save(
            actor=user(seeded, "owner"), name=name, duration_minutes=minutes, colour=colour
        )


def make_rule(
    seeded: Any,
    *,
    name: str = "24 hours before",
    kind: str = ReminderRule.Kind.BEFORE_APPOINTMENT,
    template: str = "appointment_reminder",
    **fields: Any,
) -> ReminderRule:
    with tenant_context(seeded.clinic):
        return services.reminder_rule_save(
            actor=user(seeded, "owner"), name=name, kind=kind, template_name=template, language="en", **fields
        )


def book(
    seeded: Any,
    *,
    patient: Patient,
    starts_at: dt.datetime,
    clinician: User | None = None,
    location: Location | None = None,
    appointment_type: AppointmentType | None = None,
    actor_role: str = "front_desk",
    **kwargs: Any,
) -> Appointment:
    with tenant_context(seeded.clinic):
        return services.appointment_book(
            patient=patient,
            clinician=clinician or user(seeded, "doctor"),
            location=location or seeded.locations[0],
            appointment_type=appointment_type or AppointmentType.objects.order_by("position", "name").first(),
            starts_at=starts_at,
            actor=user(seeded, actor_role),
            **kwargs,
        )
