"""From the queue to the consultation screen: "Call in" opens it for the doctor (the front desk stays on
the queue), and "Sign and next patient" signs, finishes the token and opens the next waiting patient."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import consult_flow, services
from appointments.models import QueueEntry
from clinical.models import Visit
from tests.appointments.helpers import IST, book, make_patient, make_type, user
from tests.clinical.clinical_helpers import ITEM, clinic_files, signing_doctor  # noqa: F401  (fixture)
from tests.clinical.test_consultation import screen

pytestmark = pytest.mark.usefixtures("clinic_files")


def _walk_in(clinic, patient, *, clinician=None):
    with tenant_context(clinic.clinic):
        return services.queue_add_walk_in(
            patient=patient, clinician=clinician or user(clinic, "doctor"), location=clinic.locations[0],
            actor=user(clinic, "front_desk"),
        )  # fmt: skip


def _status(clinic, entry):
    with tenant_context(clinic.clinic):
        return QueueEntry.objects.get(pk=entry.pk).status


def test_call_in_opens_the_consultation_screen_for_the_doctor(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    entry = _walk_in(clinic_a, patient)
    response = client_for(clinic_a, "doctor").post(f"/queue/{entry.pk}/call", {"next": "/queue/"})
    assert response.status_code == 302
    assert response["Location"] == f"/consult/{patient.pk}?location={clinic_a.locations[0].pk}"
    page = client_for(clinic_a, "doctor").get(response["Location"]).content.decode()
    assert "Sign and next patient" in page and f"/queue/consult/{patient.pk}/sign-next" in page


def test_front_desk_calling_in_stays_on_the_queue(clinic_a, client_for, clock):
    entry = _walk_in(clinic_a, make_patient(clinic_a))
    response = client_for(clinic_a, "front_desk").post(f"/queue/{entry.pk}/call", {"next": "/queue/"})
    assert response.status_code == 302 and response["Location"] == "/queue/"
    assert _status(clinic_a, entry) == "in_consultation"


def test_sign_and_next_signs_finishes_the_token_and_opens_the_next_patient(clinic_a, client_for, clock):
    signing_doctor(clinic_a)
    first, second = make_patient(clinic_a), make_patient(clinic_a, given_name="Ravi")
    entry = _walk_in(clinic_a, first)
    waiting = _walk_in(clinic_a, second)
    client = client_for(clinic_a, "doctor")
    client.post(f"/queue/{entry.pk}/call")
    response = client.post(f"/queue/consult/{first.pk}/sign-next", screen(clinic_a, items=[ITEM], action="sign_next"))
    assert response.status_code == 302
    assert response["Location"] == f"/consult/{second.pk}?location={clinic_a.locations[0].pk}"
    with tenant_context(clinic_a.clinic):
        visit = Visit.objects.get(patient=first)
        assert visit.status == "signed"
        assert visit.prescriptions.get().status == "signed"
    assert _status(clinic_a, entry) == "done"
    assert _status(clinic_a, waiting) == "in_consultation"
    # The last patient: signing leads to My day.
    last = client.post(f"/queue/consult/{second.pk}/sign-next", screen(clinic_a, action="sign_next"))
    assert last.status_code == 302 and last["Location"] == "/appointments/mine"
    assert _status(clinic_a, waiting) == "done"


def test_sign_and_next_refused_by_a_finding_leaves_the_token_in_consultation(clinic_a, client_for, clock):
    signing_doctor(clinic_a)
    patient = make_patient(clinic_a)
    entry = _walk_in(clinic_a, patient)
    nobody_yet = _walk_in(clinic_a, make_patient(clinic_a, given_name="Ravi"))
    client = client_for(clinic_a, "doctor")
    client.post(f"/queue/{entry.pk}/call")
    lacking = {**ITEM, "dose": ""}
    response = client.post(f"/queue/consult/{patient.pk}/sign-next", screen(clinic_a, items=[lacking]))
    assert response.status_code == 400 and "Enter the dose" in response.content.decode()
    assert _status(clinic_a, entry) == "in_consultation"
    assert _status(clinic_a, nobody_yet) == "waiting"


def test_front_desk_cannot_sign_and_next(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "front_desk").post(f"/queue/consult/{patient.pk}/sign-next", screen(clinic_a))
    assert response.status_code == 403


def test_my_day_links_back_to_the_consultation_in_progress(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    entry = _walk_in(clinic_a, patient)
    client = client_for(clinic_a, "doctor")
    client.post(f"/queue/{entry.pk}/call")
    page = client.get("/appointments/mine").content.decode()
    assert f"/consult/{patient.pk}?location={clinic_a.locations[0].pk}" in page


def _checked_in_on(clinic, clock, patient, moment):
    """A patient booked and checked in on the local day of `moment` (the clock moved there and back)."""
    back = timezone.now()
    clock.move_to(moment)
    appointment = book(clinic, patient=patient, starts_at=moment + dt.timedelta(minutes=30), outside_hours=True)
    with tenant_context(clinic.clinic):
        entry = services.appointment_check_in(appointment=appointment, actor=user(clinic, "front_desk"))
    clock.move_to(back)
    return entry


def test_next_patient_is_only_ever_from_todays_queue(clinic_a, client_for, clock):
    # Yesterday's patient who was never seen and tomorrow's checked-in patient are still "waiting" in
    # this doctor's queue at this location, but on other days: neither is offered as the next patient.
    signing_doctor(clinic_a)
    make_type(clinic_a)
    now = timezone.now()
    yesterday = _checked_in_on(clinic_a, clock, make_patient(clinic_a, given_name="Yamini"), now - dt.timedelta(days=1))
    tomorrow = _checked_in_on(clinic_a, clock, make_patient(clinic_a, given_name="Tarun"), now + dt.timedelta(days=1))
    assert (yesterday.status, tomorrow.status) == ("waiting", "waiting")
    assert yesterday.day < timezone.localdate(now, IST) < tomorrow.day
    patient = make_patient(clinic_a)
    entry = _walk_in(clinic_a, patient)
    client = client_for(clinic_a, "doctor")
    client.post(f"/queue/{entry.pk}/call")
    response = client.post(f"/queue/consult/{patient.pk}/sign-next", screen(clinic_a, items=[ITEM], action="sign_next"))
    assert response.status_code == 302 and response["Location"] == "/appointments/mine"
    assert _status(clinic_a, entry) == "done"
    assert _status(clinic_a, yesterday) == "waiting" and _status(clinic_a, tomorrow) == "waiting"


def test_next_patient_skips_other_days_for_todays_waiting_patient(clinic_a, client_for, clock):
    signing_doctor(clinic_a)
    make_type(clinic_a)
    now = timezone.now()
    _checked_in_on(clinic_a, clock, make_patient(clinic_a, given_name="Yamini"), now - dt.timedelta(days=1))
    _checked_in_on(clinic_a, clock, make_patient(clinic_a, given_name="Tarun"), now + dt.timedelta(days=1))
    patient, later = make_patient(clinic_a), make_patient(clinic_a, given_name="Ravi")
    entry = _walk_in(clinic_a, patient)
    waiting = _walk_in(clinic_a, later)
    doctor = user(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic):
        services.queue_call(entry=entry, actor=doctor)
        visit = Visit(patient=patient, clinician=doctor, location=clinic_a.locations[0])  # only its location counts
        following = consult_flow.call_next(actor=doctor, visit=visit)
    assert following is not None and following.pk == waiting.pk
    assert following.day == timezone.localdate(now, IST)
