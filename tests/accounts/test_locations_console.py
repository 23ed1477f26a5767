"""Locations: list, add, edit, deactivate, with names unique regardless of case."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import services
from accounts.models import Location
from tests.accounts.console_helpers import audit_events, fresh


def test_list_shows_locations_with_status(clinic_a, client_for):
    html = client_for(clinic_a, "owner").get("/settings/locations/").content.decode()
    assert "Main branch" in html and "East branch" in html


def test_add_location_is_saved_and_audited(clinic_a, client_for, in_tenant):
    response = client_for(clinic_a, "administrator").post(
        "/settings/locations/new/",
        {"name": "  Whitefield ", "address": "ITPL Main Rd", "phone": "+91 80 4123 4567", "timezone": "Asia/Kolkata"},
    )
    assert response.status_code == 302
    with in_tenant(clinic_a):
        location = Location.objects.get(name="Whitefield")
        assert location.phone == "+91 80 4123 4567"
    (event,) = audit_events(clinic_a, "location.create")
    assert event.object_id == str(location.pk)


def test_location_name_is_unique_ignoring_case(clinic_a, client_for, in_tenant):
    response = client_for(clinic_a, "owner").post(
        "/settings/locations/new/", {"name": "MAIN BRANCH", "timezone": "Asia/Kolkata"}
    )
    assert response.status_code == 200
    assert "A location named MAIN BRANCH already exists." in response.content.decode()
    with in_tenant(clinic_a):
        assert Location.objects.count() == 2


def test_bad_phone_and_timezone_are_rejected_by_the_service(clinic_a, in_tenant):
    with in_tenant(clinic_a), pytest.raises(ValidationError) as exc:
        services.location_create(actor=None, name="Jayanagar", phone="call me", timezone="Moon/Base")
    assert set(exc.value.message_dict) == {"phone", "timezone"}


def test_edit_location_keeps_its_own_name_and_audits_changed_fields(clinic_a, client_for, in_tenant):
    east = clinic_a.locations[0]
    response = client_for(clinic_a, "owner").post(
        f"/settings/locations/{east.pk}/", {"name": "east branch", "phone": "080-2345 6789", "timezone": "Asia/Kolkata"}
    )
    assert response.status_code == 302
    with in_tenant(clinic_a):
        east = Location.objects.get(pk=east.pk)
    assert east.name == "east branch"
    (event,) = audit_events(clinic_a, "location.update")
    assert set(event.changed_fields) == {"name", "phone"}


def test_renaming_onto_another_locations_name_is_rejected(clinic_a, client_for):
    east, main = clinic_a.locations
    response = client_for(clinic_a, "owner").post(
        f"/settings/locations/{east.pk}/", {"name": main.name.upper(), "timezone": "Asia/Kolkata"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_deactivate_location_but_never_the_last_active_one(clinic_a, client_for, in_tenant):
    east, main = clinic_a.locations
    client = client_for(clinic_a, "owner")
    assert client.post(f"/settings/locations/{east.pk}/deactivate/").status_code == 302
    response = client.post(f"/settings/locations/{main.pk}/deactivate/", follow=True)
    assert "at least one active location" in response.content.decode()
    with in_tenant(clinic_a):
        assert not Location.objects.get(pk=east.pk).is_active
        assert Location.objects.get(pk=main.pk).is_active
    assert len(audit_events(clinic_a, "location.deactivate")) == 1
    assert client.post(f"/settings/locations/{east.pk}/reactivate/").status_code == 302
    with in_tenant(clinic_a):
        assert Location.objects.get(pk=east.pk).is_active


def test_locations_list_paginates_at_50(clinic_a, client_for, in_tenant):
    with in_tenant(clinic_a):
        Location.objects.bulk_create([Location(name=f"Branch {n:03d}") for n in range(60)])
    connection.set_schema_to_public()
    client = client_for(clinic_a, "owner")
    first = client.get("/settings/locations/").content.decode()
    assert "Page 1 of 2" in first
    second = client.get("/settings/locations/?page=2").content.decode()
    assert "Page 2 of 2" in second


def test_deactivated_location_is_no_longer_offered_to_staff(clinic_a, in_tenant):
    from accounts.selectors import locations_for

    east = clinic_a.locations[0]
    owner = fresh(clinic_a, clinic_a.users["owner"])
    with in_tenant(clinic_a):
        services.location_deactivate(location=east, actor=owner)
        assert list(locations_for(owner)) == [clinic_a.locations[1]]
