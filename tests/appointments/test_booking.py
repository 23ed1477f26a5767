"""Booking: working time, the past, double booking (the database constraint), overbooking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from appointments import services
from appointments.models import Appointment
from audit.models import AuditEvent
from tests.appointments.helpers import at, book, give_hours, make_patient, make_type, next_weekday, user


@pytest.fixture
def setup(clinic_a):
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0])
    make_type(clinic_a)
    return clinic_a, doctor


def test_front_desk_books_a_free_slot_and_it_is_audited_without_phi(setup):
    clinic, _ = setup
    patient = make_patient(clinic)
    appointment = book(clinic, patient=patient, starts_at=at(next_weekday(0), 10), notes="Fever for 3 days")
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=15)
    with tenant_context(clinic.clinic):
        event = AuditEvent.objects.get(action="appointment.book", object_id=str(appointment.pk))
        assert event.metadata == {"patient": str(patient.pk), "clinician": str(clinic.users["doctor"].pk)}
        assert Appointment.objects.get(pk=appointment.pk).notes == "Fever for 3 days"


def test_overlapping_booking_of_the_same_doctor_is_refused_with_a_clear_message(setup):
    clinic, _ = setup
    day = next_weekday(0)
    book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    with pytest.raises(services.SlotTaken) as refused:
        book(clinic, patient=make_patient(clinic, given_name="Ravi"), starts_at=at(day, 10, 5))
    assert refused.value.messages == [
        "Doctor Alpha Clinic already has an appointment from 10:00 to 10:15. Choose another slot."
    ]


def test_the_database_refuses_double_booking_even_without_the_service(setup):
    clinic, doctor = setup
    day = next_weekday(0)
    first = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    with tenant_context(clinic.clinic), pytest.raises(IntegrityError, match="appointment_no_double_booking"):
        with transaction.atomic():
            Appointment.objects.create(
                patient=first.patient,
                clinician=doctor,
                location=clinic.locations[1],
                appointment_type=first.appointment_type,
                starts_at=at(day, 10, 10),
                ends_at=at(day, 10, 25),
            )


def test_back_to_back_appointments_do_not_clash(setup):
    clinic, _ = setup
    day = next_weekday(0)
    first = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    second = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10, 15))
    assert first.ends_at == second.starts_at == at(day, 10, 15)
    assert (first.status, second.status) == ("booked", "booked") and not second.is_overbooked
    with tenant_context(clinic.clinic):
        assert Appointment.objects.filter(status="booked").count() == 2


def test_a_cancelled_appointment_frees_its_slot(setup):
    clinic, _ = setup
    day = next_weekday(0)
    first = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    with tenant_context(clinic.clinic):
        services.appointment_cancel(appointment=first, reason="patient_request", actor=user(clinic, "front_desk"))
    second = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    assert second.pk != first.pk and second.status == "booked" and not second.is_overbooked
    with tenant_context(clinic.clinic):
        slot = Appointment.objects.filter(starts_at=at(day, 10)).order_by("scheduled_at")
        assert [(a.pk, a.status) for a in slot] == [(first.pk, "cancelled"), (second.pk, "booked")]


def test_another_doctor_may_be_booked_at_the_same_time(setup):
    clinic, _ = setup
    owner = user(clinic, "owner")
    give_hours(clinic, owner, clinic.locations[1])
    day = next_weekday(0)
    first = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    second = book(
        clinic, patient=make_patient(clinic), starts_at=at(day, 10), clinician=owner, location=clinic.locations[1]
    )
    assert (first.clinician_id, second.clinician_id) == (clinic.users["doctor"].pk, owner.pk)
    assert first.starts_at == second.starts_at and not first.is_overbooked and not second.is_overbooked
    with tenant_context(clinic.clinic):
        assert Appointment.objects.filter(starts_at=at(day, 10), status="booked").count() == 2


def test_overbooking_needs_the_clinic_setting_and_an_explicit_choice(setup):
    clinic, _ = setup
    day = next_weekday(0)
    book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    with pytest.raises(ValidationError, match="does not allow overbooking"):
        book(clinic, patient=make_patient(clinic), starts_at=at(day, 10), overbook=True)
    with tenant_context(clinic.clinic):
        services.appointment_settings_update(actor=user(clinic, "owner"), allow_overbooking=True)
    with pytest.raises(services.SlotTaken, match="or overbook explicitly"):
        book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    extra = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10), overbook=True)
    assert extra.is_overbooked
    with tenant_context(clinic.clinic):
        assert AuditEvent.objects.get(object_id=str(extra.pk), action="appointment.book").metadata["overbooked"]


def test_booking_outside_working_hours_is_refused_unless_chosen_explicitly(setup):
    clinic, _ = setup
    day = next_weekday(0)
    with pytest.raises(ValidationError) as refused:
        book(clinic, patient=make_patient(clinic), starts_at=at(day, 14))
    assert refused.value.messages == [
        f"That time is outside Doctor Alpha Clinic's hours at {clinic.locations[0].name} on Mondays "
        "(09:30-13:30, 17:00-20:30)."
    ]
    with pytest.raises(ValidationError, match=r"does not work at .* on Sundays"):
        book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(6), 10))
    extra = book(clinic, patient=make_patient(clinic), starts_at=at(day, 14), outside_hours=True)
    assert extra.status == "booked"


def test_booking_in_a_break_on_leave_or_on_a_holiday_is_refused(setup):
    clinic, doctor = setup
    owner = user(clinic, "owner")
    day = next_weekday(1)
    with tenant_context(clinic.clinic):
        session = doctor.working_hours.get(weekday=1, start_time=dt.time(9, 30))
        services.break_add(session=session, start_time=dt.time(11), end_time=dt.time(11, 15), actor=owner)
        services.leave_add(clinician=doctor, starts_at=at(day, 17), ends_at=at(day, 21), actor=owner)
        services.holiday_add(day=day + dt.timedelta(days=1), name="Ugadi", actor=owner)
    with pytest.raises(ValidationError) as refused:
        book(clinic, patient=make_patient(clinic), starts_at=at(day, 11, 5))
    assert refused.value.messages == ["That time falls in Doctor Alpha Clinic's break."]
    with pytest.raises(ValidationError, match="is on leave"):
        book(clinic, patient=make_patient(clinic), starts_at=at(day, 18))
    with pytest.raises(ValidationError, match=r"closed on .* \(Ugadi\)"):
        book(clinic, patient=make_patient(clinic), starts_at=at(day + dt.timedelta(days=1), 10))


def test_booking_in_the_past_is_refused(setup):
    clinic, _ = setup
    with pytest.raises(ValidationError, match="cannot start in the past"):
        book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(0, weeks_ahead=-1), 10))


def test_naive_times_are_refused(setup):
    clinic, _ = setup
    with pytest.raises(ValidationError, match="time zone"):
        book(clinic, patient=make_patient(clinic), starts_at=dt.datetime.combine(next_weekday(0), dt.time(10)))


def test_only_active_clinicians_and_patients_can_be_booked(setup):
    clinic, _ = setup
    day = next_weekday(0)
    with pytest.raises(ValidationError, match="doctor or clinician"):
        book(clinic, patient=make_patient(clinic), starts_at=at(day, 10), clinician=user(clinic, "front_desk"))
    survivor = make_patient(clinic)
    merged = make_patient(clinic, merged_into=survivor)
    with pytest.raises(ValidationError, match="merged"):
        book(clinic, patient=merged, starts_at=at(day, 10))


def test_booking_needs_appointments_manage(setup):
    clinic, _ = setup
    with pytest.raises(PermissionDenied):
        book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(0), 10), actor_role="pharmacist")


def test_a_user_restricted_to_another_location_cannot_book_here(setup):
    clinic, _ = setup
    with tenant_context(clinic.clinic):
        desk = user(clinic, "front_desk")
        desk.locations.set([clinic.locations[1]])
    with pytest.raises(ValidationError, match="You do not work at"):
        book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(0), 10))
