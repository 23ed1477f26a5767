"""Session policy: idle timeout (per clinic), 12-hour lifetime, keepalive, deactivation, sign out everywhere."""

from __future__ import annotations

import re
import time

import pytest

from accounts.middleware import SESSION_LAST_SEEN, SESSION_STARTED
from accounts.models import User
from clinics.models import Clinic
from tests.accounts.login_helpers import audit_actions, password_login, shift_session, signed_in_user_id
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")


def signed_in(seeded, client_for, role="doctor"):
    client = client_for(seeded)
    assert password_login(client, seeded.users[role].email, PASSWORD)["Location"] == "/"
    return client


def test_idle_session_is_signed_out_with_a_message(clinic_a, client_for):
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_last_seen=16 * 60)  # default idle timeout is 15 minutes
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Faccount%2F"
    assert b"signed out because of inactivity" in client.get(response["Location"]).content
    assert signed_in_user_id(client, clinic_a) is None
    [event] = audit_actions(clinic_a, action="auth.session_expired")
    assert event.metadata == {"reason": "idle"}
    assert event.actor_id == clinic_a.users["doctor"].pk


def test_activity_within_the_timeout_keeps_the_session(clinic_a, client_for, in_tenant):
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_last_seen=14 * 60)
    assert client.get("/").status_code == 200
    with in_tenant(clinic_a):
        assert time.time() - client.session[SESSION_LAST_SEEN] < 5


def test_idle_timeout_follows_the_clinic_setting(clinic_a, client_for):
    Clinic.objects.filter(pk=clinic_a.clinic.pk).update(idle_timeout_minutes=5)
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_last_seen=6 * 60)
    assert client.get("/")["Location"].startswith("/login")
    assert b'data-idle-seconds="300"' not in client.get("/login").content  # signed out: no idle banner
    other = signed_in(clinic_a, client_for)
    assert b'data-idle-seconds="300"' in other.get("/").content


def test_session_ends_after_twelve_hours_even_when_active(clinic_a, client_for):
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_started=12 * 3600 + 1, docos_last_seen=10)
    response = client.get("/")
    assert response["Location"].startswith("/login")
    assert b"at most 12 hours" in client.get(response["Location"]).content
    [event] = audit_actions(clinic_a, action="auth.session_expired")
    assert event.metadata == {"reason": "absolute"}


def test_session_is_fine_just_under_twelve_hours(clinic_a, client_for):
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_started=12 * 3600 - 60, docos_last_seen=10)
    assert client.get("/").status_code == 200


def test_keepalive_counts_as_activity_and_status_does_not(clinic_a, client_for, in_tenant):
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_last_seen=10 * 60)
    status = client.get("/session/status").json()
    assert status["authenticated"] is True
    assert 4 * 60 <= status["idle_seconds_left"] <= 5 * 60
    with in_tenant(clinic_a):
        assert time.time() - client.session[SESSION_LAST_SEEN] >= 10 * 60 - 5
    keepalive = client.post("/session/keepalive")
    assert keepalive.status_code == 200
    assert keepalive.json()["idle_seconds_left"] >= 15 * 60 - 5
    with in_tenant(clinic_a):
        assert time.time() - client.session[SESSION_LAST_SEEN] < 5


def test_keepalive_is_post_only_and_needs_a_session(clinic_a, client_for):
    assert client_for(clinic_a).post("/session/keepalive")["Location"].startswith("/login")
    assert signed_in(clinic_a, client_for).get("/session/keepalive").status_code == 405


def test_keepalive_after_the_timeout_answers_401_json(clinic_a, client_for):
    client = signed_in(clinic_a, client_for)
    shift_session(client, clinic_a, docos_last_seen=16 * 60)
    response = client.post("/session/keepalive")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"


def test_sign_in_stamps_a_fresh_session(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a)
    client.get("/login")
    with in_tenant(clinic_a):
        before = client.session.session_key
    password_login(client, clinic_a.users["doctor"].email, PASSWORD)
    with in_tenant(clinic_a):
        session = client.session
        assert session.session_key != before  # no session fixation
        assert time.time() - session[SESSION_STARTED] < 5


def test_deactivating_a_user_ends_their_sessions_at_once(clinic_a, client_for, in_tenant):
    client = signed_in(clinic_a, client_for, "nurse")
    assert client.get("/").status_code == 200
    with in_tenant(clinic_a):
        User.objects.filter(pk=clinic_a.users["nurse"].pk).update(is_active=False)
    assert client.get("/")["Location"].startswith("/login")
    assert signed_in_user_id(client, clinic_a) is None
    assert client.post("/session/keepalive").status_code == 302


def test_sign_out_everywhere_ends_other_sessions_and_keeps_this_one(clinic_a, client_for):
    here = signed_in(clinic_a, client_for)
    elsewhere = signed_in(clinic_a, client_for)
    assert elsewhere.get("/").status_code == 200
    response = here.post("/account/sign-out-everywhere")
    assert response["Location"] == "/account/"
    assert elsewhere.get("/")["Location"].startswith("/login")
    assert here.get("/").status_code == 200
    assert audit_actions(clinic_a, action="auth.sessions_revoked", actor_id=clinic_a.users["doctor"].pk)


def test_sign_out_everywhere_does_not_touch_other_users(clinic_a, client_for):
    here = signed_in(clinic_a, client_for, "doctor")
    colleague = signed_in(clinic_a, client_for, "nurse")
    here.post("/account/sign-out-everywhere")
    assert colleague.get("/").status_code == 200


def test_changing_the_password_ends_other_sessions(clinic_a, client_for):
    here = signed_in(clinic_a, client_for)
    elsewhere = signed_in(clinic_a, client_for)
    new_password = "a-brand-new-passphrase-77"
    response = here.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": new_password, "new_password_again": new_password},
    )
    assert response["Location"] == "/account/"
    assert here.get("/").status_code == 200
    assert elsewhere.get("/")["Location"].startswith("/login")
    assert password_login(client_for(clinic_a), clinic_a.users["doctor"].email, new_password)["Location"] == "/"
    assert audit_actions(clinic_a, action="auth.password_change", actor_id=clinic_a.users["doctor"].pk)


def test_password_change_needs_the_current_password_and_a_strong_new_one(clinic_a, client_for):
    client = signed_in(clinic_a, client_for)
    wrong = client.post(
        "/account/password",
        {
            "current_password": "not-it-at-all-1",
            "new_password": "a-brand-new-passphrase-77",
            "new_password_again": "a-brand-new-passphrase-77",
        },
    )
    assert wrong.status_code == 400 and b"current password is not right" in wrong.content
    short = client.post(
        "/account/password", {"current_password": PASSWORD, "new_password": "short1", "new_password_again": "short1"}
    )
    assert short.status_code == 400 and b"at least 12 characters" in short.content
    common = client.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "password1234", "new_password_again": "password1234"},
    )
    assert common.status_code == 400 and b"too common" in common.content


def test_theme_preference_is_saved(clinic_a, client_for, in_tenant):
    client = signed_in(clinic_a, client_for)
    assert client.post("/account/theme", {"theme": "dark"}).status_code == 204
    with in_tenant(clinic_a):
        assert User.objects.get(pk=clinic_a.users["doctor"].pk).theme == "dark"
    assert b'data-theme="dark"' in client.get("/").content
    assert client.post("/account/theme", {"theme": "neon"}).status_code == 400
    assert client.post("/account/theme", {"theme": "light", "from": "account"})["Location"] == "/account/"
    assert client_for(clinic_a).post("/account/theme", {"theme": "dark"})["Location"].startswith("/login")


def test_account_page_renders_for_signed_in_staff(clinic_a, client_for):
    response = signed_in(clinic_a, client_for, "front_desk").get("/account/")
    assert response.status_code == 200
    for text in (b"Change password", b"Two-factor authentication", b"Sign out everywhere"):
        assert text in response.content
    assert b"<script>" not in response.content and b"style=" not in response.content


def test_keepalive_works_with_the_csrf_token_the_page_carries(clinic_a, client_for):
    """docos.js sends the token from <meta name="csrf-token"> (the cookie is HttpOnly in production)."""
    client = client_for(clinic_a, enforce_csrf_checks=True)
    assert client.post("/login", {"email": clinic_a.users["doctor"].email}).status_code == 403
    page = client.get("/login")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    client.post("/login", {"email": clinic_a.users["doctor"].email, "csrfmiddlewaretoken": token})
    verify = client.get("/login/verify")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', verify.content).group(1).decode()
    assert client.post("/login/verify", {"password": PASSWORD, "csrfmiddlewaretoken": token})["Location"] == "/"
    home = client.get("/")
    meta = re.search(rb'<meta name="csrf-token" content="([^"]+)">', home.content).group(1).decode()
    assert client.post("/session/keepalive").status_code == 403
    assert client.post("/session/keepalive", HTTP_X_CSRFTOKEN=meta).status_code == 200
    assert client.post("/account/theme", {"theme": "dark"}, HTTP_X_CSRFTOKEN=meta).status_code == 204
