"""Appointment states: every action from the states it allows, refusals with clear messages, visits."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import services
from appointments.models import Appointment, QueueEntry
from audit.models import AuditEvent
from clinical.models import Visit
from tests.appointments.helpers import at, book, give_hours, make_patient, make_type, next_weekday, user


@pytest.fixture
def setup(clinic_a, clock):
    # Check-in is only on the day: on the pinned clock (tests/clock.py) "in two minutes" is still today.
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0], weekdays=range(7), sessions=[(dt.time(0, 0), dt.time(23, 59))])
    make_type(clinic_a)
    return clinic_a, doctor


def _today_soon(minutes: int = 2) -> dt.datetime:
    moment = timezone.now() + dt.timedelta(minutes=minutes)
    return moment.replace(second=0, microsecond=0)


def _today_appointment(clinic, **kwargs) -> Appointment:
    """An appointment starting in a minute or two (so today, and checkable-in)."""
    return book(clinic, patient=make_patient(clinic), starts_at=_today_soon(), outside_hours=True, **kwargs)


def _act(clinic, service, appointment, role="front_desk", **kwargs):
    with tenant_context(clinic.clinic):
        return service(appointment=appointment, actor=user(clinic, role), **kwargs)


def test_check_in_start_complete_opens_a_draft_visit_for_the_clinician(setup):
    clinic, doctor = setup
    appointment = _today_appointment(clinic)
    entry = _act(clinic, services.appointment_check_in, appointment)
    assert entry.token == 1 and entry.status == QueueEntry.Status.WAITING and appointment.status == "checked_in"
    _act(clinic, services.appointment_start, appointment, role="doctor")
    assert appointment.status == "in_consultation"
    _act(clinic, services.appointment_complete, appointment, role="doctor")
    with tenant_context(clinic.clinic):
        done = Appointment.objects.select_related("visit").get(pk=appointment.pk)
        assert done.status == "completed" and done.completed_at is not None
        assert done.visit.status == Visit.Status.DRAFT
        assert (done.visit.patient_id, done.visit.clinician_id, done.visit.location_id) == (
            appointment.patient_id,
            doctor.pk,
            appointment.location_id,
        )
        assert QueueEntry.objects.get(pk=entry.pk).status == "done"
        assert AuditEvent.objects.filter(action="visit.create", object_id=str(done.visit_id)).exists()


def test_a_doctor_completing_opens_the_visit_through_the_clinical_service(setup):
    clinic, doctor = setup
    location = clinic.locations[1]  # not the location the doctor's hours are at
    appointment = _today_appointment(clinic, location=location)
    _act(clinic, services.appointment_check_in, appointment)
    with mock.patch.object(services, "visit_create", wraps=services.visit_create) as visit_create:
        _act(clinic, services.appointment_complete, appointment, role="doctor")
    visit_create.assert_called_once()
    with tenant_context(clinic.clinic):
        visit = Appointment.objects.select_related("visit").get(pk=appointment.pk).visit
        assert (visit.location_id, visit.clinician_id, visit.patient_id, visit.status) == (
            location.pk,
            doctor.pk,
            appointment.patient_id,
            Visit.Status.DRAFT,
        )
        opened = AuditEvent.objects.get(action="visit.create", object_id=str(visit.pk))
        assert (opened.actor_id, opened.location_id) == (doctor.pk, location.pk)
        assert opened.metadata == {"patient": str(appointment.patient_id)}  # the clinical service's own event
        completed = AuditEvent.objects.get(action="appointment.complete", object_id=str(appointment.pk))
        assert completed.metadata == {"visit": str(visit.pk)} and completed.changed_fields == ["status", "visit"]


def test_front_desk_completing_without_a_visit_links_none(setup):
    """Only clinicians open visits (clinical records); the front desk may still close the appointment."""
    clinic, _ = setup
    appointment = _today_appointment(clinic)
    entry = _act(clinic, services.appointment_check_in, appointment)
    _act(clinic, services.appointment_complete, appointment)  # front desk has no clinical.edit
    assert appointment.status == "completed" and appointment.visit_id is None
    with tenant_context(clinic.clinic):
        assert not Visit.objects.filter(patient=appointment.patient).exists()
        assert QueueEntry.objects.get(pk=entry.pk).status == "done"
        completed = AuditEvent.objects.get(action="appointment.complete", object_id=str(appointment.pk))
        assert completed.changed_fields == ["status"] and completed.metadata == {}


def test_complete_links_an_existing_visit_of_the_same_patient_only(setup):
    clinic, doctor = setup
    appointment = _today_appointment(clinic)
    _act(clinic, services.appointment_check_in, appointment)
    with tenant_context(clinic.clinic):
        mine = Visit.objects.create(patient=appointment.patient, location=appointment.location, clinician=doctor)
        other = Visit.objects.create(patient=make_patient(clinic), location=appointment.location, clinician=doctor)
    with pytest.raises(ValidationError, match="another patient"):
        _act(clinic, services.appointment_complete, appointment, role="doctor", visit=other)
    _act(clinic, services.appointment_complete, appointment, role="doctor", visit=mine)
    assert appointment.visit_id == mine.pk
    with tenant_context(clinic.clinic):
        assert Visit.objects.filter(patient=appointment.patient).count() == 1


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (services.appointment_start, "You cannot start the consultation of an appointment that is booked."),
        (services.appointment_complete, "You cannot complete an appointment that is booked."),
    ],
)
def test_steps_cannot_be_skipped(setup, action, message):
    clinic, _ = setup
    appointment = _today_appointment(clinic)
    with pytest.raises(ValidationError) as refused:
        _act(clinic, action, appointment, role="doctor")
    assert refused.value.messages == [message]


def test_finished_appointments_refuse_every_change(setup):
    clinic, _ = setup
    appointment = _today_appointment(clinic)
    _act(clinic, services.appointment_cancel, appointment, reason="patient_request")
    for service, extra, phrase in [
        (services.appointment_check_in, {}, "check in"),
        (services.appointment_cancel, {"reason": "other", "note": "x"}, "cancel"),
        (services.appointment_reschedule, {"starts_at": _today_soon(60)}, "reschedule"),
        (services.appointment_mark_no_show, {}, "mark as a no-show"),
    ]:
        text = f"You cannot {phrase} an appointment that is cancelled."
        with pytest.raises(ValidationError) as refused:
            _act(clinic, service, appointment, **extra)
        assert refused.value.messages == [text]
        assert refused.value.code == "illegal_transition"


def test_cancel_needs_a_reason_and_other_needs_a_note(setup):
    clinic, _ = setup
    appointment = _today_appointment(clinic)
    with pytest.raises(ValidationError, match="Choose why"):
        _act(clinic, services.appointment_cancel, appointment, reason="")
    with pytest.raises(ValidationError, match="Say why"):
        _act(clinic, services.appointment_cancel, appointment, reason="other")
    _act(clinic, services.appointment_cancel, appointment, reason="other", note="Doctor called away")
    assert (
        appointment.cancel_note == "Doctor called away" and appointment.cancelled_by_id == clinic.users["front_desk"].pk
    )


def test_no_show_only_after_the_start_time(setup):
    clinic, _ = setup
    appointment = _today_appointment(clinic)
    with pytest.raises(ValidationError, match="only after that"):
        _act(clinic, services.appointment_mark_no_show, appointment)
    with tenant_context(clinic.clinic):
        Appointment.objects.filter(pk=appointment.pk).update(
            starts_at=timezone.now() - dt.timedelta(minutes=20), ends_at=timezone.now() - dt.timedelta(minutes=5)
        )
    _act(clinic, services.appointment_mark_no_show, appointment)
    assert appointment.status == "no_show"


def test_check_in_only_on_the_day(setup):
    clinic, _ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    with pytest.raises(ValidationError, match="patients check in on the day"):
        _act(clinic, services.appointment_check_in, appointment)


def test_reschedule_moves_keeps_one_row_and_clears_the_confirmation(setup):
    clinic, _ = setup
    day = next_weekday(2)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(day, 11))
    with tenant_context(clinic.clinic):
        services.appointment_confirm_by_patient(appointment=appointment)
    _act(clinic, services.appointment_reschedule, appointment, starts_at=at(day, 12))
    assert (appointment.status, appointment.confirmed_at, appointment.reschedule_count) == ("booked", None, 1)
    assert appointment.ends_at == at(day, 12, 15)
    other = book(clinic, patient=make_patient(clinic), starts_at=at(day, 13))
    with pytest.raises(services.SlotTaken):
        _act(clinic, services.appointment_reschedule, appointment, starts_at=at(day, 13, 10))
    with tenant_context(clinic.clinic):
        assert Appointment.objects.get(pk=appointment.pk).starts_at == at(day, 12)  # the refusal changed nothing
    assert other.pk


def test_patient_replies_confirm_cancel_and_ask_to_reschedule(setup):
    clinic, _ = setup
    day = next_weekday(2)
    first = book(clinic, patient=make_patient(clinic), starts_at=at(day, 11))
    second = book(clinic, patient=make_patient(clinic), starts_at=at(day, 12))
    third = book(clinic, patient=make_patient(clinic), starts_at=at(day, 13))
    with tenant_context(clinic.clinic):
        services.appointment_confirm_by_patient(appointment=first)
        services.appointment_confirm_by_patient(appointment=first)  # a repeated button press
        services.appointment_cancel_by_patient(appointment=second)
        services.appointment_cancel_by_patient(appointment=second)
        services.appointment_request_reschedule_by_patient(appointment=third)
        assert first.status == "confirmed" and first.confirmed_at
        assert second.status == "cancelled" and second.cancel_reason == "patient_whatsapp"
        assert third.status == "booked" and third.reschedule_requested_at
        events = AuditEvent.objects.filter(object_id__in=[str(first.pk), str(second.pk), str(third.pk)])
        assert sorted(e.action for e in events if e.actor_id is None) == [
            "appointment.cancel", "appointment.confirm", "appointment.reschedule_request",
        ]  # fmt: skip
        assert all(e.metadata.get("channel") == "whatsapp" for e in events if e.actor_id is None)
        Appointment.objects.filter(pk=first.pk).update(status="checked_in")  # the patient is at the desk
        with pytest.raises(ValidationError, match="can no longer be cancelled by message"):
            services.appointment_cancel_by_patient(appointment=first)
