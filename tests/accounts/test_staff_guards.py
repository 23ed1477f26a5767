"""Staff changes: role and location changes, deactivation, and the guards against privilege escalation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import User
from docos.capabilities import ALL
from tests.accounts.console_helpers import audit_events, fresh, get_user, is_login_redirect, make_role, make_user, role


def edit_data(seeded, member, **overrides):
    data = {
        "full_name": member.full_name,
        "role": str(member.role_id),
        "location_scope": "all",
        "phone": "",
        "registration_number": "",
        "qualifications": "",
    }
    data.update(overrides)
    return data


def test_owner_changes_a_colleagues_role_and_locations(clinic_a, client_for, in_tenant):
    nurse = clinic_a.users["nurse"]
    east = clinic_a.locations[0]
    response = client_for(clinic_a, "owner").post(
        f"/settings/staff/{nurse.pk}/",
        edit_data(
            clinic_a, nurse, role=str(role(clinic_a, "front_desk").pk), location_scope="some", locations=[str(east.pk)]
        ),
    )
    assert response.status_code == 302
    nurse = get_user(clinic_a, pk=nurse.pk)
    assert nurse.role.slug == "front_desk"
    with in_tenant(clinic_a):
        assert list(nurse.locations.all()) == [east]
    (event,) = audit_events(clinic_a, "staff.update")
    assert set(event.changed_fields) == {"role", "locations"}
    assert event.metadata["role"] == {"from": "nurse", "to": "front_desk"}


def test_administrator_cannot_make_someone_owner(clinic_a, client_for):
    client = client_for(clinic_a, "administrator")
    front_desk = clinic_a.users["front_desk"]
    response = client.post(
        f"/settings/staff/{front_desk.pk}/", edit_data(clinic_a, front_desk, role=str(role(clinic_a, "owner").pk))
    )
    assert response.status_code == 200
    assert "You cannot give the Owner role" in response.content.decode()
    assert get_user(clinic_a, pk=front_desk.pk).role.slug == "front_desk"

    invited = client.post(
        "/settings/staff/invite/",
        {
            "full_name": "New Boss",
            "email": "boss@alpha.example.in",
            "role": str(role(clinic_a, "owner").pk),
            "location_scope": "all",
        },
    )
    assert invited.status_code == 200
    assert "You cannot give the Owner role" in invited.content.decode()
    assert get_user(clinic_a, email="boss@alpha.example.in") is None


def test_administrator_is_not_offered_roles_it_cannot_grant(clinic_a, client_for):
    html = client_for(clinic_a, "administrator").get("/settings/staff/invite/").content.decode()
    assert ">Front desk<" in html
    assert ">Owner<" not in html


def test_administrator_cannot_demote_or_deactivate_an_owner(clinic_a, client_for):
    owner = clinic_a.users["owner"]
    client = client_for(clinic_a, "administrator")
    page = client.get(f"/settings/staff/{owner.pk}/").content.decode()
    assert "You cannot change" in page
    assert f"/settings/staff/{owner.pk}/deactivate/" not in page
    response = client.post(f"/settings/staff/{owner.pk}/deactivate/", follow=True)
    assert "You cannot change" in response.content.decode()
    demoted = client.post(
        f"/settings/staff/{owner.pk}/", edit_data(clinic_a, owner, role=str(role(clinic_a, "front_desk").pk))
    )
    assert "You cannot change" in demoted.content.decode()
    owner = get_user(clinic_a, pk=owner.pk)
    assert owner.is_active and owner.role.slug == "owner"


def test_administrator_can_deactivate_a_doctor_but_not_grant_the_doctor_role(clinic_a, client_for):
    doctor = clinic_a.users["doctor"]
    client = client_for(clinic_a, "administrator")
    assert client.post(f"/settings/staff/{doctor.pk}/deactivate/").status_code == 302
    assert not get_user(clinic_a, pk=doctor.pk).is_active
    response = client.post(
        f"/settings/staff/{clinic_a.users['front_desk'].pk}/",
        edit_data(clinic_a, clinic_a.users["front_desk"], role=str(role(clinic_a, "doctor").pk)),
    )
    assert "You cannot give the Doctor role" in response.content.decode()


def test_location_restricted_manager_cannot_grant_other_or_all_locations(clinic_a, in_tenant):
    east, main = clinic_a.locations
    manager = make_user(clinic_a, "east-admin@alpha.example.in", "administrator", locations=[east])
    with in_tenant(clinic_a):
        with pytest.raises(ValidationError, match="you do not work there"):
            services.staff_invite(
                clinic=clinic_a.clinic,
                actor=manager,
                email="x@alpha.example.in",
                full_name="X",
                role=role(clinic_a, "front_desk"),
                locations=[main],
            )
        with pytest.raises(ValidationError, match="cannot give access to all locations"):
            services.staff_invite(
                clinic=clinic_a.clinic,
                actor=manager,
                email="y@alpha.example.in",
                full_name="Y",
                role=role(clinic_a, "front_desk"),
                locations=[],
            )
        user = services.staff_invite(
            clinic=clinic_a.clinic,
            actor=manager,
            email="z@alpha.example.in",
            full_name="Z",
            role=role(clinic_a, "front_desk"),
            locations=[east],
        )
        assert list(user.locations.all()) == [east]
        # Staff working everywhere reach further than this manager.
        assert not services.can_manage(manager, fresh(clinic_a, clinic_a.users["front_desk"]))


def test_nobody_can_deactivate_themselves(clinic_a, client_for):
    owner = clinic_a.users["owner"]
    response = client_for(clinic_a, "owner").post(f"/settings/staff/{owner.pk}/deactivate/", follow=True)
    assert "You cannot deactivate yourself" in response.content.decode()
    assert get_user(clinic_a, pk=owner.pk).is_active


def test_the_last_active_owner_cannot_be_demoted_or_deactivated(clinic_a, client_for, in_tenant):
    owner = clinic_a.users["owner"]
    client = client_for(clinic_a, "owner")
    response = client.post(
        f"/settings/staff/{owner.pk}/", edit_data(clinic_a, owner, role=str(role(clinic_a, "administrator").pk))
    )
    assert "only active owner" in response.content.decode()
    assert get_user(clinic_a, pk=owner.pk).role.slug == "owner"

    # Someone with every capability (a custom role) still cannot remove the last owner.
    make_role(clinic_a, "Everything", sorted(ALL))
    superuser = make_user(clinic_a, "all@alpha.example.in", "everything")
    with in_tenant(clinic_a), pytest.raises(ValidationError, match="only active owner"):
        services.staff_deactivate(user=fresh(clinic_a, owner), actor=superuser)


def test_with_two_owners_one_may_step_down(clinic_a, client_for):
    owner = clinic_a.users["owner"]
    second = make_user(clinic_a, "co-owner@alpha.example.in", "owner")
    client = client_for(clinic_a).login_as(second)
    assert client.post(f"/settings/staff/{owner.pk}/deactivate/").status_code == 302
    assert not get_user(clinic_a, pk=owner.pk).is_active
    # Now `second` is the only active owner.
    response = client.post(
        f"/settings/staff/{second.pk}/", edit_data(clinic_a, second, role=str(role(clinic_a, "administrator").pk))
    )
    assert "only active owner" in response.content.decode()


def test_deactivation_ends_the_users_sessions_at_once(clinic_a, client_for):
    nurse_client = client_for(clinic_a, "nurse")
    assert nurse_client.get("/settings/tokens/").status_code == 200
    nurse = clinic_a.users["nurse"]
    before = get_user(clinic_a, pk=nurse.pk).session_epoch
    assert client_for(clinic_a, "owner").post(f"/settings/staff/{nurse.pk}/deactivate/").status_code == 302
    assert is_login_redirect(nurse_client.get("/settings/tokens/"))
    assert is_login_redirect(nurse_client.get("/"))
    after = get_user(clinic_a, pk=nurse.pk)
    assert not after.is_active and after.session_epoch == before + 1
    assert len(audit_events(clinic_a, "staff.deactivate")) == 1


def test_reactivated_user_signs_in_again_but_old_sessions_stay_ended(clinic_a, client_for):
    nurse = clinic_a.users["nurse"]
    nurse_client = client_for(clinic_a, "nurse")
    owner_client = client_for(clinic_a, "owner")
    owner_client.post(f"/settings/staff/{nurse.pk}/deactivate/")
    assert owner_client.post(f"/settings/staff/{nurse.pk}/reactivate/").status_code == 302
    assert get_user(clinic_a, pk=nurse.pk).is_active
    assert is_login_redirect(nurse_client.get("/settings/tokens/"))
    assert client_for(clinic_a).login_as(get_user(clinic_a, pk=nurse.pk)).get("/settings/tokens/").status_code == 200


def test_edit_page_keeps_the_current_role_even_if_the_manager_could_not_grant_it(clinic_a, client_for):
    doctor = clinic_a.users["doctor"]
    client = client_for(clinic_a, "administrator")
    html = client.get(f"/settings/staff/{doctor.pk}/").content.decode()
    assert ">Doctor<" in html
    response = client.post(f"/settings/staff/{doctor.pk}/", edit_data(clinic_a, doctor, phone="+91 98450 00000"))
    assert response.status_code == 302
    assert get_user(clinic_a, pk=doctor.pk).phone == "+91 98450 00000"


def test_user_model_has_no_role_escalation_through_custom_roles(clinic_a, in_tenant):
    limited = make_role(clinic_a, "Team lead", ["staff.manage", "patients.view"])
    lead = make_user(clinic_a, "teamlead@alpha.example.in", "team-lead")
    with in_tenant(clinic_a):
        assert limited.capabilities == ["patients.view", "staff.manage"]
        with pytest.raises(ValidationError, match="Front desk"):
            services.staff_update(
                user=User.objects.get(pk=clinic_a.users["no_role"].pk), actor=lead, role=role(clinic_a, "front_desk")
            )
