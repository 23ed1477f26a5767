"""Two-step sign-in with a password, on a clinic's host."""

from __future__ import annotations

import pytest

from tests.accounts.login_helpers import audit_actions, password_login, signed_in_user_id, start, without_csrf
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")


def test_login_page_asks_for_email_first(clinic_a, client_for):
    response = client_for(clinic_a).get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert b'name="password"' not in response.content


def test_staff_signs_in_with_email_then_password(clinic_a, client_for):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    start(client, doctor.email.upper())
    step_two = client.get("/login/verify")
    assert step_two.status_code == 200
    assert doctor.email.encode() in step_two.content
    response = client.post("/login/verify", {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client, clinic_a) == str(doctor.pk)
    assert client.get("/").status_code == 200
    [event] = audit_actions(clinic_a, action="auth.login", actor_id=doctor.pk)
    assert event.metadata == {"method": "password", "second_factor": "none"}
    assert PASSWORD not in str(event.metadata)


def test_sign_in_returns_to_the_page_asked_for(clinic_a, client_for):
    client = client_for(clinic_a)
    assert client.get("/account/")["Location"].startswith("/login?next=")
    client.post("/login", {"email": clinic_a.users["nurse"].email, "next": "/account/"})
    response = client.post("/login/verify", {"password": PASSWORD})
    assert response["Location"] == "/account/"


def test_sign_in_ignores_a_next_url_on_another_host(clinic_a, client_for):
    client = client_for(clinic_a)
    client.post("/login", {"email": clinic_a.users["nurse"].email, "next": "https://evil.example/phish"})
    response = client.post("/login/verify", {"password": PASSWORD})
    assert response["Location"] == "/"


def test_wrong_password_is_refused_and_audited_without_the_password(clinic_a, client_for):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    response = password_login(client, nurse.email, "not-the-password-123")
    assert response.status_code == 400
    assert b"do not match" in response.content
    assert signed_in_user_id(client, clinic_a) is None
    [event] = audit_actions(clinic_a, action="auth.login_failed", object_id=str(nurse.pk))
    assert event.metadata == {"method": "password", "reason": "bad_password"}
    assert "not-the-password" not in str(event.metadata)


def test_step_two_looks_the_same_for_an_unknown_email(clinic_a, client_for):
    known, unknown = client_for(clinic_a), client_for(clinic_a)
    start(known, clinic_a.users["nurse"].email)
    start(unknown, "nobody@alpha.example.in")
    known_page = known.get("/login/verify").content.replace(clinic_a.users["nurse"].email.encode(), b"EMAIL")
    unknown_page = unknown.get("/login/verify").content.replace(b"nobody@alpha.example.in", b"EMAIL")
    strip = without_csrf
    assert strip(known_page) == strip(unknown_page)
    wrong_known = known.post("/login/verify", {"password": "wrong-password-123"})
    wrong_unknown = unknown.post("/login/verify", {"password": "wrong-password-123"})
    assert wrong_known.status_code == wrong_unknown.status_code == 400
    assert strip(wrong_known.content.replace(clinic_a.users["nurse"].email.encode(), b"EMAIL")) == strip(
        wrong_unknown.content.replace(b"nobody@alpha.example.in", b"EMAIL")
    )


def test_inactive_user_cannot_sign_in_with_the_right_password(clinic_a, client_for, in_tenant):
    nurse = clinic_a.users["nurse"]
    with in_tenant(clinic_a):
        type(nurse).objects.filter(pk=nurse.pk).update(is_active=False)
    client = client_for(clinic_a)
    response = password_login(client, nurse.email, PASSWORD)
    assert response.status_code == 400
    assert signed_in_user_id(client, clinic_a) is None


def test_user_of_clinic_a_cannot_sign_in_on_clinic_b(clinic_a, clinic_b, client_for):
    client = client_for(clinic_b)
    response = password_login(client, clinic_a.users["owner"].email, PASSWORD)
    assert response.status_code == 400
    assert b"do not match" in response.content
    assert signed_in_user_id(client, clinic_b) is None
    assert client.get("/")["Location"].startswith("/login")
    [event] = audit_actions(clinic_b, action="auth.login_failed")
    assert event.metadata["reason"] == "unknown_account"


def test_session_cookie_is_httponly_and_lax(clinic_a, client_for):
    client = client_for(clinic_a)
    password_login(client, clinic_a.users["doctor"].email, PASSWORD)
    from django.conf import settings

    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_logout_requires_post_ends_the_session_and_is_audited(clinic_a, client_for):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    password_login(client, doctor.email, PASSWORD)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert signed_in_user_id(client, clinic_a) is None
    assert audit_actions(clinic_a, action="auth.logout", actor_id=doctor.pk)
