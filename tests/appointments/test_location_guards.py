"""The services refuse staff restricted to one branch who act on another branch's appointment or queue.

Pages and the API already answer 404 for another location's rows (test_access.py); these tests call
the services directly, as a task, a command or a future view would, so each service's own location
check is what refuses. Every refusal leaves the database as it was, and the same call goes through
once the user also works at that branch, so the refusal is the location check and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, User
from appointments import services
from appointments.models import Appointment, QueueEntry, Reminder
from audit.models import AuditEvent
from clinical.models import Visit
from tests.appointments.helpers import at, book, give_hours, make_patient, make_rule, make_type, next_weekday, user
from tests.conftest import SeededClinic

APPOINTMENT_REFUSAL = "You do not work at this appointment's location."
QUEUE_REFUSAL = "You do not work at this queue's location."


@pytest.fixture
def branches(clinic_a: SeededClinic, clock: Any) -> tuple[SeededClinic, Location, Location]:
    """Clinic A's doctor works at its East branch; its front desk will work at Main branch only."""
    east, main = clinic_a.locations  # sorted by name
    give_hours(clinic_a, user(clinic_a, "doctor"), east)
    make_type(clinic_a)
    make_rule(clinic_a)  # so a refused reschedule or cancel would also have reminders to touch
    return clinic_a, east, main


def _works_at(seeded: SeededClinic, *locations: Location) -> User:
    """The front desk, restricted to `locations` (a fresh instance: the location ids are cached on it)."""
    with tenant_context(seeded.clinic):
        User.objects.get(pk=seeded.users["front_desk"].pk).locations.set(locations)
    return user(seeded, "front_desk")


def _db_state(seeded: SeededClinic) -> dict[str, Any]:
    with tenant_context(seeded.clinic):
        return {
            "appointments": list(Appointment.objects.order_by("pk").values()),
            "queue": list(QueueEntry.objects.order_by("pk").values()),
            "reminders": list(Reminder.objects.order_by("pk").values()),
            "visits": list(Visit.objects.order_by("pk").values_list("pk", flat=True)),
            "audit_events": AuditEvent.objects.count(),
        }


def _today(seeded: SeededClinic, east: Location) -> Appointment:
    """An appointment at East branch starting in two minutes (today, on the pinned clock)."""
    soon = (timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    return book(seeded, patient=make_patient(seeded), starts_at=soon, location=east, outside_hours=True)


def _next_week(seeded: SeededClinic, east: Location) -> Appointment:
    return book(seeded, patient=make_patient(seeded), starts_at=at(next_weekday(2), 11), location=east)


def _checked_in(seeded: SeededClinic, east: Location) -> Appointment:
    appointment = _today(seeded, east)
    with tenant_context(seeded.clinic):
        services.appointment_check_in(appointment=appointment, actor=user(seeded, "owner"))
    return appointment


def _started_without_the_patient(seeded: SeededClinic, east: Location) -> Appointment:
    appointment = _today(seeded, east)
    with tenant_context(seeded.clinic):
        past = timezone.now() - dt.timedelta(minutes=20)
        Appointment.objects.filter(pk=appointment.pk).update(starts_at=past, ends_at=past + dt.timedelta(minutes=15))
        appointment.refresh_from_db()
    return appointment


AppointmentAction = Callable[[Appointment, User], Any]
APPOINTMENT_ACTIONS: dict[str, tuple[Callable[[SeededClinic, Location], Appointment], AppointmentAction]] = {
    "reschedule": (
        _next_week,
        lambda a, actor: services.appointment_reschedule(
            appointment=a, starts_at=a.starts_at + dt.timedelta(hours=1), actor=actor
        ),
    ),
    "update_notes": (
        _next_week,
        lambda a, actor: services.appointment_update_notes(appointment=a, notes="Bring old reports", actor=actor),
    ),
    "cancel": (
        _next_week,
        lambda a, actor: services.appointment_cancel(appointment=a, reason="patient_request", actor=actor),
    ),
    "check_in": (_today, lambda a, actor: services.appointment_check_in(appointment=a, actor=actor)),
    "start": (_checked_in, lambda a, actor: services.appointment_start(appointment=a, actor=actor)),
    "complete": (_checked_in, lambda a, actor: services.appointment_complete(appointment=a, actor=actor)),
    "no_show": (
        _started_without_the_patient,
        lambda a, actor: services.appointment_mark_no_show(appointment=a, actor=actor),
    ),
}


@pytest.mark.parametrize("action", list(APPOINTMENT_ACTIONS))
def test_staff_of_one_branch_cannot_act_on_another_branchs_appointment(branches, action):
    clinic, east, main = branches
    prepare, act = APPOINTMENT_ACTIONS[action]
    appointment = prepare(clinic, east)
    desk = _works_at(clinic, main)
    before = _db_state(clinic)
    with tenant_context(clinic.clinic), pytest.raises(ValidationError) as refused:
        act(appointment, desk)
    assert refused.value.messages == [APPOINTMENT_REFUSAL]
    assert _db_state(clinic) == before
    # Working at East branch too, the same call goes through: the location was the only obstacle.
    with tenant_context(clinic.clinic):
        act(Appointment.objects.get(pk=appointment.pk), _works_at(clinic, main, east))
    assert _db_state(clinic) != before


def _waiting(seeded: SeededClinic, east: Location) -> QueueEntry:
    with tenant_context(seeded.clinic):
        return services.queue_add_walk_in(
            patient=make_patient(seeded), clinician=user(seeded, "doctor"), location=east, actor=user(seeded, "owner")
        )


def _called_in(seeded: SeededClinic, east: Location) -> QueueEntry:
    entry = _waiting(seeded, east)
    with tenant_context(seeded.clinic):
        services.queue_call(entry=entry, actor=user(seeded, "owner"))
    return entry


QueueAction = Callable[[QueueEntry, User], Any]
QUEUE_ACTIONS: dict[str, tuple[Callable[[SeededClinic, Location], QueueEntry], QueueAction]] = {
    "call": (_waiting, lambda e, actor: services.queue_call(entry=e, actor=actor)),
    "finish": (_called_in, lambda e, actor: services.queue_finish(entry=e, actor=actor)),
    "mark_left": (_waiting, lambda e, actor: services.queue_mark_left(entry=e, actor=actor)),
}


@pytest.mark.parametrize("action", list(QUEUE_ACTIONS))
def test_staff_of_one_branch_cannot_move_another_branchs_queue(branches, action):
    clinic, east, main = branches
    prepare, act = QUEUE_ACTIONS[action]
    entry = prepare(clinic, east)
    desk = _works_at(clinic, main)
    before = _db_state(clinic)
    with tenant_context(clinic.clinic), pytest.raises(ValidationError) as refused:
        act(entry, desk)
    assert refused.value.messages == [QUEUE_REFUSAL]
    assert _db_state(clinic) == before
    with tenant_context(clinic.clinic):
        act(QueueEntry.objects.get(pk=entry.pk), _works_at(clinic, main, east))
    assert _db_state(clinic) != before
