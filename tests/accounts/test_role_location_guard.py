"""Editing a role changes everyone who holds it, so a manager restricted to some branches may edit or
delete only roles whose holders all work within those branches."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts import services
from accounts.models import Role
from tests.accounts.branch_helpers import branches
from tests.accounts.console_helpers import fresh, make_role, make_user


def role_caps(seeded, role):
    with tenant_context(seeded.clinic):
        return sorted(Role.objects.get(pk=role.pk).capabilities)


def test_branch_manager_cannot_change_a_role_held_at_another_branch(clinic_a, client_for):
    b = branches(clinic_a)
    client = client_for(clinic_a).login_as(b.manager)
    response = client.post(
        f"/settings/roles/{b.reception.pk}/",
        {"name": "Reception", "capabilities": ["patients.view", "appointments.view", "documents.upload"]},
    )
    assert response.status_code == 200
    assert "beyond the locations or access you manage" in response.content.decode()
    assert role_caps(clinic_a, b.reception) == ["appointments.view", "patients.view"]


def test_the_role_page_is_read_only_for_such_a_manager(clinic_a, client_for):
    b = branches(clinic_a)
    page = client_for(clinic_a).login_as(b.manager).get(f"/settings/roles/{b.reception.pk}/")
    assert page.status_code == 200
    assert page.context["editable"] is False


def test_branch_manager_edits_a_role_held_only_within_their_branch(clinic_a):
    b = branches(clinic_a)
    local = make_role(clinic_a, "Main desk", ["patients.view"])
    make_user(clinic_a, "main-desk@alpha.example.in", "main-desk", locations=[clinic_a.locations[1]])
    with tenant_context(clinic_a.clinic):
        changed = services.role_update(
            role=local,
            actor=fresh(clinic_a, b.manager),
            name="Main desk",
            capabilities=["patients.view", "appointments.view"],
        )
    assert changed == ["capabilities"]


def test_a_holder_working_at_every_location_is_beyond_a_branch_manager(clinic_a):
    b = branches(clinic_a)
    make_user(clinic_a, "roaming@alpha.example.in", "reception")  # no locations: all of them
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError, match="beyond the locations"):
        services.role_update(
            role=b.reception,
            actor=fresh(clinic_a, b.manager),
            name="Reception",
            capabilities=["patients.view"],
        )


def test_branch_manager_cannot_delete_a_role_held_at_another_branch(clinic_a):
    b = branches(clinic_a)
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError, match="beyond the locations"):
        services.role_delete(role=b.reception, actor=fresh(clinic_a, b.manager))


def test_an_unrestricted_manager_edits_the_role(clinic_a):
    b = branches(clinic_a)
    with tenant_context(clinic_a.clinic):
        services.role_update(
            role=b.reception,
            actor=fresh(clinic_a, clinic_a.users["administrator"]),
            name="Reception",
            capabilities=["patients.view"],
        )
    assert role_caps(clinic_a, b.reception) == ["patients.view"]
