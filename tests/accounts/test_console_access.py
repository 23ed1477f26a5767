"""Who may open which settings page: capabilities, anonymous visitors and the other clinic's ids."""

from __future__ import annotations

import pytest

from accounts.models import ApiToken, Location, Role
from tests.accounts.console_helpers import is_login_redirect, make_role, make_user

SETTINGS_PAGES = [
    "/settings/profile/",
    "/settings/security/",
    "/settings/locations/",
    "/settings/locations/new/",
]
STAFF_PAGES = ["/settings/staff/", "/settings/staff/invite/", "/settings/roles/", "/settings/roles/new/"]


@pytest.mark.parametrize("path", ["/settings/", "/settings/tokens/", *SETTINGS_PAGES, *STAFF_PAGES])
def test_anonymous_visitor_is_sent_to_login(clinic_a, client_for, path):
    assert is_login_redirect(client_for(clinic_a).get(path))


@pytest.mark.parametrize("path", ["/settings/", *SETTINGS_PAGES, *STAFF_PAGES])
@pytest.mark.parametrize("role_slug", ["doctor", "front_desk", "no_role"])
def test_staff_without_admin_capabilities_get_403(clinic_a, client_for, path, role_slug):
    assert client_for(clinic_a, role_slug).get(path).status_code == 403


@pytest.mark.parametrize("path", ["/settings/", *SETTINGS_PAGES, *STAFF_PAGES])
def test_owner_and_administrator_open_every_page(clinic_a, client_for, path):
    assert client_for(clinic_a, "owner").get(path).status_code == 200
    assert client_for(clinic_a, "administrator").get(path).status_code == 200


def test_staff_manager_without_settings_manage_cannot_open_clinic_settings(clinic_a, client_for):
    make_role(clinic_a, "Staff lead", ["staff.manage"])
    lead = make_user(clinic_a, "lead@alpha.example.in", "staff-lead")
    client = client_for(clinic_a).login_as(lead)
    assert client.get("/settings/staff/").status_code == 200
    for path in SETTINGS_PAGES:
        assert client.get(path).status_code == 403


def test_overview_shows_only_sections_the_user_may_use(clinic_a, client_for):
    make_role(clinic_a, "Auditor", ["audit.view"])
    auditor = make_user(clinic_a, "auditor@alpha.example.in", "auditor")
    page = client_for(clinic_a).login_as(auditor).get("/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/settings/audit/"' in html
    assert 'href="/settings/tokens/"' in html
    assert 'href="/settings/profile/"' not in html
    assert 'href="/settings/staff/"' not in html

    owner_html = client_for(clinic_a, "owner").get("/settings/").content.decode()
    for href in ("/settings/profile/", "/settings/locations/", "/settings/security/", "/settings/staff/"):
        assert f'href="{href}"' in owner_html


def test_every_signed_in_user_may_manage_their_own_tokens(clinic_a, client_for):
    assert client_for(clinic_a, "no_role").get("/settings/tokens/").status_code == 200


def test_other_clinics_staff_location_and_role_ids_give_404(clinic_a, clinic_b, client_for, in_tenant):
    client = client_for(clinic_a, "owner")
    b_user = clinic_b.users["nurse"]
    b_location = clinic_b.locations[0]
    with in_tenant(clinic_b):
        b_role = Role.objects.get(slug="nurse")
        b_token = ApiToken.objects.create(user=b_user, name="b", prefix="docos_b", token_hash="b" * 64)
    assert client.get(f"/settings/staff/{b_user.pk}/").status_code == 404
    assert client.post(f"/settings/staff/{b_user.pk}/deactivate/").status_code == 404
    assert client.post(f"/settings/staff/{b_user.pk}/", {"full_name": "X"}).status_code == 404
    assert client.post(f"/settings/staff/{b_user.pk}/tokens/{b_token.pk}/revoke/").status_code == 404
    assert client.get(f"/settings/locations/{b_location.pk}/").status_code == 404
    assert client.post(f"/settings/locations/{b_location.pk}/deactivate/").status_code == 404
    assert client.get(f"/settings/roles/{b_role.pk}/").status_code == 404
    assert client.post(f"/settings/tokens/{b_token.pk}/revoke/").status_code == 404
    with in_tenant(clinic_b):
        assert Location.objects.get(pk=b_location.pk).is_active
        b_user.refresh_from_db()
        assert b_user.is_active
        assert ApiToken.objects.get(pk=b_token.pk).revoked_at is None


def test_state_changing_console_actions_refuse_get(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    nurse = clinic_a.users["nurse"]
    assert client.get(f"/settings/staff/{nurse.pk}/deactivate/").status_code == 405
    assert client.get(f"/settings/locations/{clinic_a.locations[0].pk}/deactivate/").status_code == 405
