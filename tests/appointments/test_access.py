"""Who may do what, and isolation: another clinic's or another location's appointments are a 404."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.accounts.api_helpers import bearer, make_token
from tests.appointments.helpers import at, book, give_hours, make_patient, make_type, next_weekday, user


@pytest.fixture
def booked(clinic_a):
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0])
    make_type(clinic_a)
    return book(clinic_a, patient=make_patient(clinic_a), starts_at=at(next_weekday(0), 10))


@pytest.mark.parametrize(
    ("role", "page", "status"),
    [
        ("front_desk", "/appointments/", 200),
        ("nurse", "/appointments/", 200),
        ("doctor", "/appointments/mine", 200),
        ("pharmacist", "/appointments/", 403),
        ("no_role", "/queue/", 403),
        ("front_desk", "/appointments/schedules/", 403),  # schedules.manage: administrators and owners
        ("doctor", "/appointments/schedules/", 403),
        ("administrator", "/appointments/schedules/", 200),
        ("pharmacist", "/queue/board", 403),
    ],
)
def test_pages_follow_the_capability_registry(clinic_a, client_for, role, page, status):
    assert client_for(clinic_a, role).get(page).status_code == status


def test_viewing_without_managing_shows_no_actions_and_refuses_them(booked, clinic_a, client_for):
    with tenant_context(clinic_a.clinic):
        from accounts.models import Role

        Role.objects.filter(slug="front_desk").update(capabilities=["appointments.view", "patients.view"])
    client = client_for(clinic_a, "front_desk")
    detail = client.get(f"/appointments/{booked.pk}/").content.decode()
    assert "Reschedule" not in detail and "Cancel…" not in detail
    assert client.post(f"/appointments/{booked.pk}/cancel", {"reason": "patient_request"}).status_code == 403


def test_another_clinic_sees_a_404_for_our_appointment(booked, clinic_b, client_for):
    client = client_for(clinic_b, "owner")
    assert client.get(f"/appointments/{booked.pk}/").status_code == 404
    assert client.post(f"/appointments/{booked.pk}/check-in").status_code == 404
    auth = bearer(make_token(clinic_b, clinic_b.users["owner"]))
    response = client_for(clinic_b).get(f"/api/v1/appointments/{booked.pk}", **auth)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_staff_of_another_location_see_a_404_and_no_rows(booked, clinic_a, client_for):
    with tenant_context(clinic_a.clinic):
        user(clinic_a, "front_desk").locations.set([clinic_a.locations[1]])
    client = client_for(clinic_a, "front_desk")
    assert client.get(f"/appointments/{booked.pk}/").status_code == 404
    assert client.get(f"/appointments/?location={clinic_a.locations[0].pk}").status_code == 404
    auth = bearer(make_token(clinic_a, clinic_a.users["front_desk"]))
    api = client_for(clinic_a)
    assert api.get(f"/api/v1/appointments/{booked.pk}", **auth).status_code == 404
    listed = api.get(f"/api/v1/appointments?date={next_weekday(0)}", **auth).json()
    assert listed["count"] == 0
    other_place = api.get(f"/api/v1/appointments?location={clinic_a.locations[0].pk}", **auth)
    assert other_place.status_code == 404
    board = client.get(f"/queue/board/data?location={clinic_a.locations[0].pk}")
    assert board.status_code == 404


def test_the_owner_sees_every_location(booked, clinic_a, client_for):
    auth = bearer(make_token(clinic_a, clinic_a.users["owner"]))
    listed = client_for(clinic_a).get(f"/api/v1/appointments?date={next_weekday(0)}", **auth).json()
    assert [a["id"] for a in listed["results"]] == [str(booked.pk)]
