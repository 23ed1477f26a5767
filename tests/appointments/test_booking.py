"""Booking: working time, past times, the double-booking constraint, overbooking, outside hours."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from appointments import services
from appointments.models import Appointment
from tests.appointments.helpers import at, book, give_hours, make_patient, make_type, next_weekday, user


@pytest.fixture
def setup(clinic_a):
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0])
    make_type(clinic_a)
    return clinic_a, doctor


def test_front_desk_books_a_free_slot_in_working_hours(setup):
    clinic, doctor = setup
    day = next_weekday(0)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.ends_at - appointment.starts_at == __import__("datetime").timedelta(minutes=15)


def test_booking_the_same_time_twice_is_refused_by_the_database(setup):
    clinic, doctor = setup
    day = next_weekday(0)
    book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    with pytest.raises(services.SlotTaken) as refused:
        book(clinic, patient=make_patient(clinic, given_name="Ravi"), starts_at=at(day, 10, 5))
    assert "already has an appointment from 10:00 to 10:15" in refused.value.messages[0]
