"""Free slots: weekly hours, breaks, leaves, holidays, other bookings, the past, time zones."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location
from appointments import services
from appointments.schedule import free_slots
from tests.appointments.helpers import IST, at, book, give_hours, make_patient, make_type, next_weekday, user

DUBAI = zoneinfo.ZoneInfo("Asia/Dubai")


@pytest.fixture
def setup(clinic_a):
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0], weekdays=[0, 1, 2, 3, 4, 5])
    consult = make_type(clinic_a)
    return clinic_a, doctor, consult


def _times(seeded, doctor, day, kind, location=None, tz=IST, now=None):
    location = location or seeded.locations[0]
    with tenant_context(seeded.clinic):
        slots = free_slots(clinician=doctor, location=location, day=day, appointment_type=kind, now=now)
    return [s.starts_at.astimezone(tz).strftime("%H:%M") for s in slots]


def test_slots_fill_both_sessions_at_the_type_length(setup):
    clinic, doctor, consult = setup
    times = _times(clinic, doctor, next_weekday(0), consult)
    assert times[:3] == ["09:30", "09:45", "10:00"] and times[15] == "13:15"
    assert "13:30" not in times and times[16] == "17:00" and times[-1] == "20:15"
    assert len(times) == 16 + 14


def test_no_slots_on_a_day_off(setup):
    clinic, doctor, consult = setup
    assert _times(clinic, doctor, next_weekday(6), consult) == []  # Sunday


def test_breaks_are_not_offered_and_the_grid_restarts_after_them(setup):
    clinic, doctor, consult = setup
    with tenant_context(clinic.clinic):
        morning = doctor.working_hours.get(weekday=0, start_time=dt.time(9, 30))
        services.break_add(
            session=morning,
            start_time=dt.time(11, 0),
            end_time=dt.time(11, 20),
            label="Tea",
            actor=user(clinic, "owner"),
        )
    times = _times(clinic, doctor, next_weekday(0), consult)
    assert "10:45" in times and "11:00" not in times and "11:15" not in times
    assert "11:20" in times and "11:35" in times  # the grid restarts at the break's end
    assert "11:00" in _times(clinic, doctor, next_weekday(1), consult)  # Tuesday has no break


def test_a_leave_removes_its_hours_at_every_location(setup):
    clinic, doctor, consult = setup
    day = next_weekday(2)
    with tenant_context(clinic.clinic):
        services.leave_add(
            clinician=doctor,
            starts_at=at(day, 12),
            ends_at=at(day, 18),
            reason="Conference",
            actor=user(clinic, "owner"),
        )
    times = _times(clinic, doctor, day, consult)
    assert times[-1] == "20:15" and "11:45" in times
    assert not [t for t in times if "12:00" <= t < "18:00"]


def test_a_holiday_closes_the_location_for_the_day(setup):
    clinic, doctor, consult = setup
    day = next_weekday(3)
    with tenant_context(clinic.clinic):
        services.holiday_add(day=day, name="Diwali", actor=user(clinic, "owner"))
    assert _times(clinic, doctor, day, consult) == []
    assert _times(clinic, doctor, day + dt.timedelta(days=1), consult)


def test_a_holiday_of_another_location_does_not_close_this_one(setup):
    clinic, doctor, consult = setup
    day = next_weekday(3)
    with tenant_context(clinic.clinic):
        services.holiday_add(day=day, name="Local festival", location=clinic.locations[1], actor=user(clinic, "owner"))
    assert _times(clinic, doctor, day, consult)


def test_booked_time_is_skipped_and_longer_types_fit_around_it(setup):
    clinic, doctor, consult = setup
    procedure = make_type(clinic, name="Procedure", minutes=30)
    day = next_weekday(0)
    book(clinic, patient=make_patient(clinic), starts_at=at(day, 10, 0), appointment_type=consult)
    times = _times(clinic, doctor, day, consult)
    assert "10:00" not in times and "09:45" in times and "10:15" in times
    long_times = _times(clinic, doctor, day, procedure)
    assert long_times[:2] == ["09:30", "10:15"]  # 09:30-10:00 fits; then after the booking


def test_a_booking_at_another_location_blocks_the_doctor_here_too(setup):
    clinic, doctor, consult = setup
    day = next_weekday(0)
    book(
        clinic,
        patient=make_patient(clinic),
        starts_at=at(day, 19, 0),
        location=clinic.locations[1],
        outside_hours=True,
    )
    assert "19:00" not in _times(clinic, doctor, day, consult)


def test_slots_in_the_past_are_not_offered(setup):
    clinic, doctor, consult = setup
    day = next_weekday(0)
    times = _times(clinic, doctor, day, consult, now=at(day, 12, 5))
    assert times[0] == "12:15"


def test_hours_are_read_in_the_location_time_zone(clinic_a):
    """A Dubai branch: 09:30-13:30 there is 11:00-15:00 in India, and slots are stored as such."""
    doctor = user(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic):
        dubai = Location.objects.create(name="Dubai Healthcare City", timezone="Asia/Dubai")
    give_hours(clinic_a, doctor, dubai, weekdays=[0], sessions=[(dt.time(9, 30), dt.time(13, 30))])
    consult = make_type(clinic_a)
    day = next_weekday(0, tz=DUBAI)
    with tenant_context(clinic_a.clinic):
        slots = free_slots(clinician=doctor, location=dubai, day=day, appointment_type=consult)
    first = slots[0].starts_at
    assert first.astimezone(DUBAI).strftime("%H:%M") == "09:30"
    assert first.astimezone(IST).strftime("%H:%M") == "11:00"
    assert first.astimezone(dt.UTC).strftime("%H:%M") == "05:30"
    # Booking 09:30 Dubai time is inside the hours; 09:30 India time (08:00 in Dubai) is not.
    patient = make_patient(clinic_a)
    appointment = book(clinic_a, patient=patient, starts_at=first, location=dubai)
    assert appointment.starts_at == first
    with pytest.raises(services.ValidationError, match="outside"):
        book(clinic_a, patient=patient, starts_at=at(day, 9, 30, tz=IST), location=dubai)
    assert timezone.is_aware(appointment.starts_at)


def test_a_doctor_cannot_have_overlapping_sessions_at_two_locations(setup):
    clinic, doctor, _ = setup
    here = clinic.locations[0].name
    with pytest.raises(services.ValidationError, match=f"already works 09:30-13:30 on Mondays at {here}"):
        give_hours(clinic, doctor, clinic.locations[1], weekdays=[0], sessions=[(dt.time(13, 0), dt.time(15, 0))])
    give_hours(clinic, doctor, clinic.locations[1], weekdays=[0], sessions=[(dt.time(14, 0), dt.time(16, 0))])
