"""A staff manager restricted to some branches sees (console and API) only staff working within them."""

from __future__ import annotations

from tests.accounts.api_helpers import bearer, make_token
from tests.accounts.branch_helpers import branches


def test_branch_manager_lists_only_staff_within_their_branch(clinic_a, client_for):
    b = branches(clinic_a)
    page = client_for(clinic_a).login_as(b.manager).get("/settings/staff/", {"status": "all"})
    assert page.status_code == 200
    body = page.content.decode()
    assert b.main_clerk.email in body and b.manager.email in body
    assert b.east_clerk.email not in body
    # Seeded staff work at every location: beyond a branch manager.
    assert clinic_a.users["owner"].email not in body and clinic_a.users["doctor"].email not in body


def test_branch_manager_gets_404_for_staff_outside_their_branch(clinic_a, client_for):
    b = branches(clinic_a)
    client = client_for(clinic_a).login_as(b.manager)
    assert client.get(f"/settings/staff/{b.main_clerk.pk}/").status_code == 200
    for outside in (b.east_clerk, clinic_a.users["owner"]):
        assert client.get(f"/settings/staff/{outside.pk}/").status_code == 404
        assert client.post(f"/settings/staff/{outside.pk}/deactivate/").status_code == 404


def test_the_api_directory_is_scoped_the_same_way(clinic_a, client_for):
    b = branches(clinic_a)
    api = client_for(clinic_a, **bearer(make_token(clinic_a, b.manager)))
    listed = api.get("/api/v1/staff", {"status": "all"})
    assert listed.status_code == 200
    emails = {row["email"] for row in listed.json()["results"]}
    assert emails == {b.manager.email, b.main_clerk.email}
    assert api.get(f"/api/v1/staff/{b.main_clerk.pk}").status_code == 200
    assert api.get(f"/api/v1/staff/{b.east_clerk.pk}").status_code == 404
    assert api.get(f"/api/v1/staff/{clinic_a.users['owner'].pk}").status_code == 404


def test_an_unrestricted_manager_sees_everyone(clinic_a, client_for):
    b = branches(clinic_a)
    api = client_for(clinic_a, **bearer(make_token(clinic_a, clinic_a.users["administrator"])))
    emails = {row["email"] for row in api.get("/api/v1/staff", {"status": "all"}).json()["results"]}
    assert {b.east_clerk.email, b.main_clerk.email, clinic_a.users["owner"].email} <= emails


def test_the_overview_counts_only_visible_staff(clinic_a, client_for):
    b = branches(clinic_a)
    page = client_for(clinic_a).login_as(b.manager).get("/settings/")
    assert page.status_code == 200
    assert page.context["staff_count"] == 2  # the manager and the Main branch clerk
