"""Races against the real database: two front desks booking one slot, two scans claiming reminders.

The data must be committed for other connections to see it, so these tests do not use `db`: the
`race_clinic` fixture creates a throwaway clinic with `clinic_create` (committed, inside
`django_db_blocker.unblock()`), each racer is a thread with its own connection, and the clinic's
schema and row are dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from appointments import reminders, services
from appointments.models import Appointment, AppointmentType, Reminder, ReminderRule
from clinics.models import Clinic
from clinics.services import clinic_create
from patients.models import Patient
from tests.appointments.helpers import at, next_weekday
from tests.clock import CLINIC_MORNING
from tests.conftest import PASSWORD


@dataclass
class RaceClinic:
    clinic: Clinic
    doctor_id: uuid.UUID
    desk_ids: list[uuid.UUID]
    patient_ids: list[uuid.UUID]
    location_id: uuid.UUID
    type_id: uuid.UUID


@pytest.fixture
def race_clinic(committed_test_database: None, django_db_blocker: Any) -> Iterator[RaceClinic]:
    slug = f"race-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        created = clinic_create(
            slug=slug, name="Race Clinic", owner_email=f"owner@{slug}.example.in", owner_password=PASSWORD,
            locations=("Main branch",),
        )  # fmt: skip
        with tenant_context(created.clinic):
            owner = created.owner
            doctor = User.objects.create_user(
                f"doctor@{slug}.example.in", PASSWORD, full_name="Dr. Race", role=Role.objects.get(slug="doctor")
            )
            desks = [
                User.objects.create_user(
                    f"desk{i}@{slug}.example.in",
                    PASSWORD,
                    full_name=f"Desk {i}",
                    role=Role.objects.get(slug="front_desk"),
                )
                for i in range(2)
            ]
            location = Location.objects.get()
            kind = services.appointment_type_save(actor=owner, name="Consultation", duration_minutes=15)
            services.working_hours_add(
                clinician=doctor, location=location, weekdays=list(range(7)), start_time=dt.time(0, 0),
                end_time=dt.time(23, 59), actor=owner,
            )  # fmt: skip
            patients = [
                Patient.objects.create(
                    mrn=f"R-{i}", given_name=f"Racer{i}", phone="+919812345678", registered_location=location,
                    whatsapp_consent_at=timezone.now(),
                )
                for i in range(2)
            ]  # fmt: skip
        connection.set_schema_to_public()
    try:
        yield RaceClinic(
            clinic=created.clinic, doctor_id=doctor.pk, desk_ids=[d.pk for d in desks],
            patient_ids=[p.pk for p in patients], location_id=location.pk, type_id=kind.pk,
        )  # fmt: skip
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            Clinic.objects.get(pk=created.clinic.pk).delete(force_drop=True)  # DROP SCHEMA ... CASCADE, then the row
            connection.set_schema_to_public()


def _race(clinic: Clinic, racers: list[Callable[[threading.Barrier], Any]]) -> list[Any]:
    """Run each racer in its own thread (own connection, in the clinic's schema), released together."""
    barrier = threading.Barrier(len(racers))
    results: list[Any] = [None] * len(racers)

    def run(index: int) -> None:
        try:
            connection.set_tenant(clinic)
            results[index] = racers[index](barrier)
        except BaseException as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_front_desks_booking_one_slot_get_one_booking_and_one_clear_conflict(race_clinic, django_db_blocker):
    day = next_weekday(2)

    def desk(index: int, starts_at: dt.datetime) -> Callable[[threading.Barrier], Any]:
        def book(barrier: threading.Barrier) -> Any:
            kwargs = {
                "patient": Patient.objects.get(pk=race_clinic.patient_ids[index]),
                "clinician": User.objects.get(pk=race_clinic.doctor_id),
                "location": User.objects.get(pk=race_clinic.doctor_id).working_hours.first().location,
                "appointment_type": AppointmentType.objects.get(pk=race_clinic.type_id),
                "actor": User.objects.select_related("role").get(pk=race_clinic.desk_ids[index]),
                "starts_at": starts_at,
            }
            barrier.wait()
            return services.appointment_book(**kwargs)

        return book

    with django_db_blocker.unblock():
        for round_number in range(7):
            starts = at(day, 9 + 2 * round_number, 15 * round_number % 60)  # rounds far apart: no cross-talk
            # The second desk aims at an overlapping (not identical) time in odd rounds.
            other = starts + dt.timedelta(minutes=5 if round_number % 2 else 0)
            outcomes = _race(race_clinic.clinic, [desk(0, starts), desk(1, other)])
            booked = [o for o in outcomes if isinstance(o, Appointment)]
            refused = [o for o in outcomes if isinstance(o, services.SlotTaken)]
            assert len(booked) == 1 and len(refused) == 1, outcomes
            assert "Dr. Race already has an appointment from" in refused[0].messages[0]
        with tenant_context(race_clinic.clinic):
            assert Appointment.objects.filter(status="booked").count() == 7
        connection.set_schema_to_public()


def test_concurrent_scans_claim_every_due_reminder_exactly_once(race_clinic, django_db_blocker, monkeypatch):
    enqueued: list[list[str]] = []
    monkeypatch.setattr(reminders, "reminders_enqueue", lambda ids: enqueued.append(list(ids)))
    now = CLINIC_MORNING  # the scans run at this moment (explicit `now`): never in quiet hours
    with django_db_blocker.unblock():
        with tenant_context(race_clinic.clinic):
            ReminderRule.objects.create(name="24 h", kind="appointment", offset_minutes=1440, template_name="r24")
            kind = AppointmentType.objects.get(pk=race_clinic.type_id)
            # 300 appointments over the next day, booked two days ago: every 24-hour reminder is due.
            Appointment.objects.bulk_create(
                [
                    Appointment(
                        patient_id=race_clinic.patient_ids[i % 2], clinician_id=race_clinic.doctor_id,
                        location_id=race_clinic.location_id, appointment_type=kind,
                        starts_at=now + dt.timedelta(minutes=60 + 4 * i),
                        ends_at=now + dt.timedelta(minutes=63 + 4 * i),
                        scheduled_at=now - dt.timedelta(days=2),
                    )
                    for i in range(300)
                ]
            )  # fmt: skip
        connection.set_schema_to_public()

        def scan(barrier: threading.Barrier) -> list[str]:
            barrier.wait()
            return reminders.reminders_scan(now=now).claimed

        outcomes = _race(race_clinic.clinic, [scan, scan, scan])
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        claimed = [rid for result in outcomes for rid in result]
        assert len(claimed) == len(set(claimed)) == 300
        assert sorted(rid for batch in enqueued for rid in batch) == sorted(claimed)
        again = _race(race_clinic.clinic, [scan, scan])
        assert again == [[], []]
        with tenant_context(race_clinic.clinic):
            assert Reminder.objects.count() == 300
            assert Reminder.objects.filter(status="sending").count() == 300
        connection.set_schema_to_public()
