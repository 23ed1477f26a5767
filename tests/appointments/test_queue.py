"""The walk-in queue: tokens per location and day; call, done, left; the public board."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import services
from appointments.models import Appointment
from tests.appointments.helpers import book, give_hours, make_patient, make_type, user
from tests.clock import CLINIC_MORNING


@pytest.fixture
def setup(clinic_a, clock):
    # The queue is per local day: on the pinned clock (tests/clock.py) "in two minutes" is still today.
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0], weekdays=range(7), sessions=[(dt.time(0, 0), dt.time(23, 59))])
    make_type(clinic_a)
    return clinic_a, doctor


def _walk_in(clinic, patient, *, clinician=None, location=None):
    with tenant_context(clinic.clinic):
        return services.queue_add_walk_in(
            patient=patient, clinician=clinician or user(clinic, "doctor"), location=location or clinic.locations[0],
            actor=user(clinic, "front_desk"),
        )  # fmt: skip


def test_tokens_count_up_per_location_across_its_doctors(setup):
    # The waiting room shows every doctor's queue: two patients must never both be "1".
    clinic, _ = setup
    owner = user(clinic, "owner")
    first = _walk_in(clinic, make_patient(clinic))
    second = _walk_in(clinic, make_patient(clinic, given_name="Ravi"))
    other_doctor = _walk_in(clinic, make_patient(clinic), clinician=owner)
    other_place = _walk_in(clinic, make_patient(clinic), location=clinic.locations[1])
    assert (first.token, second.token, other_doctor.token, other_place.token) == (1, 2, 3, 1)
    assert first.day == CLINIC_MORNING.date()


def test_checked_in_appointments_share_the_walk_in_token_sequence(setup):
    clinic, _ = setup
    _walk_in(clinic, make_patient(clinic))
    appointment = book(
        clinic, patient=make_patient(clinic), outside_hours=True,
        starts_at=(timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0),
    )  # fmt: skip
    with tenant_context(clinic.clinic):
        entry = services.appointment_check_in(appointment=appointment, actor=user(clinic, "front_desk"))
    assert entry.token == 2 and entry.appointment_id == appointment.pk


def test_the_same_patient_cannot_wait_twice_in_one_queue(setup):
    clinic, _ = setup
    patient = make_patient(clinic)
    _walk_in(clinic, patient)
    with pytest.raises(ValidationError, match="already in this queue"):
        _walk_in(clinic, patient)


def test_call_then_done_and_refusals_out_of_order(setup):
    clinic, _ = setup
    entry = _walk_in(clinic, make_patient(clinic))
    desk = user(clinic, "front_desk")
    with tenant_context(clinic.clinic):
        with pytest.raises(
            ValidationError, match="Token 1 is waiting; it cannot be marked done before it is called in"
        ):
            services.queue_finish(entry=entry, actor=desk)
        services.queue_call(entry=entry, actor=desk)
        assert entry.status == "in_consultation" and entry.called_at
        with pytest.raises(ValidationError, match="cannot be marked as left"):
            services.queue_mark_left(entry=entry, actor=desk)
        services.queue_finish(entry=entry, actor=desk)
        assert entry.status == "done"


def test_a_checked_in_patient_who_leaves_cancels_the_appointment(setup):
    clinic, _ = setup
    appointment = book(
        clinic, patient=make_patient(clinic), outside_hours=True,
        starts_at=(timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0),
    )  # fmt: skip
    desk = user(clinic, "front_desk")
    with tenant_context(clinic.clinic):
        entry = services.appointment_check_in(appointment=appointment, actor=desk)
        services.queue_mark_left(entry=entry, actor=desk)
        appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "left")


@pytest.mark.parametrize(("role", "opens_visit"), [("doctor", True), ("front_desk", False)])
def test_calling_and_finishing_a_token_moves_its_appointment(setup, role, opens_visit):
    """Finishing completes the appointment; only a clinician's finish opens a visit."""
    clinic, _ = setup
    appointment = book(
        clinic, patient=make_patient(clinic), outside_hours=True,
        starts_at=(timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0),
    )  # fmt: skip
    actor = user(clinic, role)
    with tenant_context(clinic.clinic):
        entry = services.appointment_check_in(appointment=appointment, actor=user(clinic, "front_desk"))
        services.queue_call(entry=entry, actor=actor)
        assert Appointment.objects.get(pk=appointment.pk).status == "in_consultation"
        services.queue_finish(entry=entry, actor=actor)
        done = Appointment.objects.get(pk=appointment.pk)
    assert (entry.status, done.status, done.visit_id is not None) == ("done", "completed", opens_visit)


def test_the_board_shows_tokens_and_first_names_only(setup, client_for):
    clinic, _ = setup
    patient = make_patient(clinic, given_name="Meenakshi", family_name="Sundaram", phone="+919876501234")
    waiting = _walk_in(clinic, patient)
    called = _walk_in(clinic, make_patient(clinic, given_name="Arjun", family_name="Kapoor"))
    with tenant_context(clinic.clinic):
        services.queue_call(entry=called, actor=user(clinic, "front_desk"))
    client = client_for(clinic, "front_desk")
    location = clinic.locations[0].pk
    data = client.get(f"/queue/board/data?location={location}").json()
    board = data["boards"][0]
    assert board["now"] == [{"token": called.token, "name": "Arjun K."}]
    assert board["waiting"] == [{"token": waiting.token, "name": "Meenakshi S."}]
    page = client.get(f"/queue/board?location={location}")
    html = page.content.decode()
    assert page.status_code == 200 and "Meenakshi S." in html and "Arjun K." in html
    for secret in ("Sundaram", "Kapoor", "98765", patient.mrn):
        assert secret not in html and secret not in str(data)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline scripts
    assert " style=" not in html
