"""Password reset by emailed link, and one-time set-password links (invitations, new clinics)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import password_set_url
from tests.accounts.login_helpers import audit_actions, password_login, signed_in_user_id, without_csrf
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

NEW_PASSWORD = "monsoon-tea-garden-2031"


def fresh(seeded, role):
    """The user as stored now (the seeded object in memory may carry a stale last_login)."""
    return User.objects.get(pk=seeded.users[role].pk)


def set_password(client, path, password=NEW_PASSWORD, again=None):
    return client.post(path, {"new_password": password, "new_password_again": again or password})


def test_password_reset_by_emailed_link(clinic_a, client_for, smtp):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    assert client.get("/password-reset").status_code == 200
    response = client.post("/password-reset", {"email": nurse.email})
    assert response.status_code == 200
    assert b"Check your email" in response.content
    link = urlparse(smtp.last_link(nurse.email))
    assert link.hostname == clinic_a.host
    assert link.path.startswith("/set-password/")
    assert client.get(link.path).status_code == 200
    response = set_password(client, link.path)
    assert response.status_code == 302 and response["Location"] == "/login/verify"
    assert client.post("/login/verify", {"password": NEW_PASSWORD})["Location"] == "/"
    assert signed_in_user_id(client, clinic_a) == str(nurse.pk)
    assert password_login(client_for(clinic_a), nurse.email, PASSWORD).status_code == 400
    assert audit_actions(clinic_a, action="auth.password_reset_requested", object_id=str(nurse.pk))
    [event] = audit_actions(clinic_a, action="auth.password_set", object_id=str(nurse.pk))
    assert event.changed_fields == ["password"]
    assert NEW_PASSWORD not in str(event.metadata)


def test_the_link_works_only_once(clinic_a, client_for, smtp):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    client.post("/password-reset", {"email": nurse.email})
    path = urlparse(smtp.last_link(nurse.email)).path
    assert set_password(client, path).status_code == 302
    again = client_for(clinic_a)
    assert again.get(path).status_code == 400
    response = set_password(again, path, "another-passphrase-4242")
    assert response.status_code == 400
    assert b"no longer works" in response.content
    assert password_login(client_for(clinic_a), nurse.email, NEW_PASSWORD)["Location"] == "/"


def test_reset_for_an_unknown_email_sends_nothing_and_looks_the_same(clinic_a, client_for, smtp):
    known = client_for(clinic_a).post("/password-reset", {"email": clinic_a.users["nurse"].email})
    unknown = client_for(clinic_a).post("/password-reset", {"email": "nobody@alpha.example.in"})
    assert len(smtp.messages) == 1
    assert without_csrf(known.content.replace(clinic_a.users["nurse"].email.encode(), b"EMAIL")) == without_csrf(
        unknown.content.replace(b"nobody@alpha.example.in", b"EMAIL")
    )


def test_invitation_link_sets_the_first_password(clinic_a, client_for, in_tenant):
    with in_tenant(clinic_a):
        invited = User.objects.create_user(
            "invited@alpha.example.in", None, full_name="New Colleague", role=Role.objects.get(slug="nurse")
        )
        path = password_set_url(invited)
    client = client_for(clinic_a)
    assert b"invited@alpha.example.in" in client.get(path).content
    assert set_password(client, path)["Location"] == "/login/verify"
    assert client.post("/login/verify", {"password": NEW_PASSWORD})["Location"] == "/"
    assert client_for(clinic_a).get(path).status_code == 400


def test_set_password_applies_the_password_rules(clinic_a, client_for, in_tenant):
    with in_tenant(clinic_a):
        path = password_set_url(fresh(clinic_a, "nurse"))
    client = client_for(clinic_a)
    short = set_password(client, path, "short-1")
    assert short.status_code == 400 and b"at least 12 characters" in short.content
    numeric = set_password(client, path, "492817364510")
    assert numeric.status_code == 400 and b"entirely numeric" in numeric.content
    like_email = set_password(client, path, "nurse@alpha.example.in")
    assert like_email.status_code == 400 and b"too similar" in like_email.content
    mismatch = set_password(client, path, NEW_PASSWORD, "something-else-entirely-9")
    assert mismatch.status_code == 400 and b"not the same" in mismatch.content
    # None of those used the link up.
    assert set_password(client, path).status_code == 302


def test_a_tampered_or_foreign_link_is_refused(clinic_a, clinic_b, client_for, in_tenant):
    with in_tenant(clinic_a):
        path = password_set_url(fresh(clinic_a, "nurse"))
    assert client_for(clinic_a).get(path[:-2] + "xx").status_code == 400
    assert client_for(clinic_a).get("/set-password/bm90LWEtdXVpZA/abc-def").status_code == 400
    assert client_for(clinic_b).get(path).status_code == 400


def test_link_of_a_deactivated_user_is_refused(clinic_a, client_for, in_tenant):
    with in_tenant(clinic_a):
        path = password_set_url(fresh(clinic_a, "nurse"))
        User.objects.filter(pk=clinic_a.users["nurse"].pk).update(is_active=False)
    assert client_for(clinic_a).get(path).status_code == 400


def test_setting_a_password_ends_sessions_and_lifts_a_lockout(clinic_a, client_for, in_tenant):
    nurse = clinic_a.users["nurse"]
    elsewhere = client_for(clinic_a)
    assert password_login(elsewhere, nurse.email, PASSWORD)["Location"] == "/"
    with in_tenant(clinic_a):
        User.objects.filter(pk=nurse.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
        path = password_set_url(User.objects.get(pk=nurse.pk))
    set_password(client_for(clinic_a), path)
    assert elsewhere.get("/")["Location"].startswith("/login")
    assert password_login(client_for(clinic_a), nurse.email, NEW_PASSWORD)["Location"] == "/"
