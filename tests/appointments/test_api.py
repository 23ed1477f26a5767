"""/api/v1/appointments and /api/v1/availability."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from drf_spectacular.validation import validate_schema

from appointments.models import Appointment
from tests.accounts.api_helpers import bearer, make_token
from tests.appointments.helpers import at, book, give_hours, make_patient, make_rule, make_type, next_weekday, user


@pytest.fixture
def setup(clinic_a, clock):
    # Check-in is only on the day: on the pinned clock (tests/clock.py) "in two minutes" is still today.
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0])
    consult = make_type(clinic_a)
    make_rule(clinic_a)
    return clinic_a, doctor, consult


def _api(client_for, clinic, role="front_desk"):
    client = client_for(clinic)
    token = bearer(make_token(clinic, user(clinic, role)))
    return client, token


def test_book_list_move_and_cancel_through_the_api(setup, client_for):
    clinic, doctor, consult = setup
    client, auth = _api(client_for, clinic)
    patient = make_patient(clinic)
    day = next_weekday(1)
    body = {
        "patient": str(patient.pk), "clinician": str(doctor.pk), "location": str(clinic.locations[0].pk),
        "starts_at": f"{day}T10:30:00+05:30", "notes": "Fever",
    }  # fmt: skip
    created = client.post("/api/v1/appointments", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["status"] == "booked" and data["appointment_type"]["id"] == str(consult.pk)
    assert data["local_start"] == f"{day}T10:30:00+05:30" and data["source"] == "api"
    assert [r["status"] for r in data["reminders"]] == ["scheduled"]

    clash = client.post("/api/v1/appointments", {**body, "patient": str(make_patient(clinic).pk)},
                        content_type="application/json", **auth)  # fmt: skip
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "slot_taken"
    assert "10:30 to 10:45" in clash.json()["error"]["message"]

    naive = client.post("/api/v1/appointments", {**body, "starts_at": f"{day}T11:00:00"},
                        content_type="application/json", **auth)  # fmt: skip
    assert naive.status_code == 400 and "starts_at" in naive.json()["error"]["fields"]

    listed = client.get(f"/api/v1/appointments?date={day}&doctor={doctor.pk}&status=active", **auth).json()
    assert [a["id"] for a in listed["results"]] == [data["id"]]
    assert client.get(f"/api/v1/appointments?date={day + dt.timedelta(days=1)}", **auth).json()["count"] == 0

    moved = client.patch(f"/api/v1/appointments/{data['id']}", {"starts_at": f"{day}T17:00:00+05:30", "notes": "Cough"},
                         content_type="application/json", **auth)  # fmt: skip
    assert moved.status_code == 200
    assert moved.json()["local_start"] == f"{day}T17:00:00+05:30" and moved.json()["notes"] == "Cough"

    cancelled = client.post(f"/api/v1/appointments/{data['id']}/cancel", {"reason": "patient_request"},
                            content_type="application/json", **auth)  # fmt: skip
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["reminders"][0]["status"] == "cancelled"
    again = client.post(f"/api/v1/appointments/{data['id']}/cancel", {"reason": "patient_request"},
                        content_type="application/json", **auth)  # fmt: skip
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    assert again.json()["error"]["message"] == "You cannot cancel an appointment that is cancelled."


def test_availability_lists_free_slots_in_location_time(setup, client_for):
    clinic, doctor, _ = setup
    day = next_weekday(0)
    book(clinic, patient=make_patient(clinic), starts_at=at(day, 9, 45))
    client, auth = _api(client_for, clinic)
    response = client.get(
        f"/api/v1/availability?doctor={doctor.pk}&location={clinic.locations[0].pk}&date={day}", **auth
    )
    assert response.status_code == 200
    data = response.json()
    times = [s["local_time"] for s in data["slots"]]
    assert times[:3] == ["09:30", "10:00", "10:15"] and data["timezone"] == "Asia/Kolkata"
    assert dt.datetime.fromisoformat(data["slots"][0]["starts_at"]) == at(day, 9, 30)
    assert data["closed"] is None
    missing = client.get(f"/api/v1/availability?doctor={doctor.pk}&date={day}", **auth)
    assert missing.status_code == 400 and "location" in missing.json()["error"]["fields"]


def test_check_in_and_complete_through_the_api(setup, client_for):
    clinic, _, _ = setup

    soon = (timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=soon, outside_hours=True)
    client, auth = _api(client_for, clinic, role="doctor")
    checked = client.post(f"/api/v1/appointments/{appointment.pk}/check-in", **auth)
    assert checked.status_code == 200 and checked.json()["queue_token"] == 1
    early = client.post(f"/api/v1/appointments/{appointment.pk}/no-show", **auth)
    assert early.status_code == 409
    done = client.post(f"/api/v1/appointments/{appointment.pk}/complete", {}, content_type="application/json", **auth)
    assert done.status_code == 200 and done.json()["status"] == "completed" and done.json()["visit"]


def test_viewers_cannot_write_and_the_schema_documents_the_endpoints(setup, client_for):
    clinic, _, _ = setup
    client, auth = _api(client_for, clinic, role="pharmacist")
    assert client.get("/api/v1/appointments", **auth).status_code == 403
    schema = client_for(clinic).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate_schema(schema)
    paths = schema["paths"]
    assert {"/api/v1/appointments", "/api/v1/appointments/{id}", "/api/v1/availability"} <= set(paths)
    assert "409" in paths["/api/v1/appointments"]["post"]["responses"]
    with tenant_context(clinic.clinic):
        assert not Appointment.objects.exists()
