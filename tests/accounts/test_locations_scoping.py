"""`locations_for` and `scope_to_user_locations`: the location scoping every app's selectors reuse."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser

from accounts.models import Location
from accounts.selectors import locations_for, scope_to_user_locations, user_can_access_location
from audit.models import AuditEvent
from audit.services import audit_record
from tests.accounts.console_helpers import make_user


def test_user_without_assigned_locations_works_at_every_active_location(clinic_a, in_tenant):
    nurse = make_user(clinic_a, "floater@alpha.example.in", "nurse")
    with in_tenant(clinic_a):
        extra = Location.objects.create(name="Closed branch", is_active=False)
        names = [loc.name for loc in locations_for(nurse)]
    assert names == ["East branch", "Main branch"]
    assert extra.name not in names


def test_user_with_assigned_locations_sees_only_those(clinic_a, in_tenant):
    east, main = clinic_a.locations
    nurse = make_user(clinic_a, "east-nurse@alpha.example.in", "nurse", locations=[east])
    with in_tenant(clinic_a):
        assert list(locations_for(nurse)) == [east]
        assert user_can_access_location(nurse, east)
        assert not user_can_access_location(nurse, main)


def test_assignment_to_a_deactivated_location_does_not_widen_access(clinic_a, in_tenant):
    east, _ = clinic_a.locations
    nurse = make_user(clinic_a, "east-only@alpha.example.in", "nurse", locations=[east])
    with in_tenant(clinic_a):
        Location.objects.filter(pk=east.pk).update(is_active=False)
        assert list(locations_for(nurse)) == []


def _events_at(clinic, locations):
    ids = {}
    for location in locations:
        ids[location.name if location else None] = audit_record(
            actor=None, action="test.scoped", object_id="x", location_id=location.pk if location else None
        ).pk
    return ids


def test_scope_filters_rows_to_the_users_locations(clinic_a, in_tenant):
    east, main = clinic_a.locations
    restricted = make_user(clinic_a, "scoped@alpha.example.in", "front_desk", locations=[east])
    everywhere = make_user(clinic_a, "everywhere@alpha.example.in", "front_desk")
    with in_tenant(clinic_a):
        ids = _events_at(clinic_a, [east, main, None])
        rows = AuditEvent.objects.filter(action="test.scoped")
        assert set(scope_to_user_locations(rows, restricted, field="location_id").values_list("pk", flat=True)) == {
            ids["East branch"]
        }
        with_unassigned = scope_to_user_locations(rows, restricted, field="location_id", include_unassigned=True)
        assert set(with_unassigned.values_list("pk", flat=True)) == {ids["East branch"], ids[None]}
        assert scope_to_user_locations(rows, everywhere, field="location_id").count() == 3


def test_scope_works_on_foreign_key_paths_and_hides_everything_from_anonymous(clinic_a, in_tenant):
    _, main = clinic_a.locations
    restricted = make_user(clinic_a, "fk@alpha.example.in", "front_desk", locations=[main])
    with in_tenant(clinic_a):
        assert list(scope_to_user_locations(Location.objects.all(), restricted, field="pk")) == [main]
        staff_at_main = scope_to_user_locations(
            Location.objects.get(pk=main.pk).staff.all(), restricted, field="locations"
        )
        assert list(staff_at_main) == [restricted]
        assert scope_to_user_locations(Location.objects.all(), AnonymousUser(), field="pk").count() == 0
        assert list(locations_for(AnonymousUser())) == []


def test_unknown_location_id_is_not_accessible_to_restricted_staff(clinic_a, in_tenant):
    east, _ = clinic_a.locations
    restricted = make_user(clinic_a, "u@alpha.example.in", "front_desk", locations=[east])
    with in_tenant(clinic_a):
        assert not user_can_access_location(restricted, uuid.uuid4())
        assert not user_can_access_location(restricted, None)
