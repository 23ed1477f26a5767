"""Throttling: 10 failures in 15 minutes lock an account (unlock by emailed code); per-IP limit."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_redis import get_redis_connection

from accounts.login import KEY_PREFIX
from accounts.models import User
from tests.accounts.login_helpers import (
    audit_actions,
    password_login,
    request_code,
    signed_in_user_id,
    start,
    without_csrf,
)
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

WRONG = "wrong-password-0000"


def fail_times(client, email, times):
    start(client, email)
    responses = [client.post("/login/verify", {"password": WRONG}) for _ in range(times)]
    return responses[-1]


def locked_until(seeded, user, in_tenant):
    with in_tenant(seeded):
        return User.objects.get(pk=user.pk).locked_until


def test_ten_failures_lock_the_account_with_a_clear_message_and_an_audit_event(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    ninth = fail_times(client, doctor.email, 9)
    assert b"do not match" in ninth.content
    assert locked_until(clinic_a, doctor, in_tenant) is None
    tenth = client.post("/login/verify", {"password": WRONG})
    until = locked_until(clinic_a, doctor, in_tenant)
    assert until is not None
    assert timedelta(minutes=14) < until - timezone.now() <= timedelta(minutes=15)
    hhmm = timezone.localtime(until, ZoneInfo(clinic_a.clinic.timezone)).strftime("%H:%M")
    expected = f"Too many failed attempts; try again after {hhmm} or unlock with a code sent to your email."
    assert expected.encode() in tenth.content
    assert b"Email me an unlock code" in tenth.content
    [lockout] = audit_actions(clinic_a, action="auth.lockout", object_id=str(doctor.pk))
    assert lockout.metadata["failures"] == 10
    assert len(audit_actions(clinic_a, action="auth.login_failed", object_id=str(doctor.pk))) == 10
    # The right password does not get in while locked, and neither does a sign-in code.
    right = client.post("/login/verify", {"password": PASSWORD})
    assert expected.encode() in right.content
    assert signed_in_user_id(client, clinic_a) is None
    assert expected.encode() in client.post("/login/code/send", {"purpose": "login"}).content


def test_locked_user_unlocks_with_an_emailed_code_then_signs_in_as_usual(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    fail_times(client, doctor.email, 10)
    assert locked_until(clinic_a, doctor, in_tenant) is not None
    response = client.post("/login/code/send", {"purpose": "unlock"})
    assert response["Location"] == "/login/unlock"
    assert "unlock" in smtp.to(doctor.email)[-1]["Subject"]
    response = client.post("/login/unlock", {"code": smtp.last_code(doctor.email)})
    # The unlock code lifts the lock but is not a sign-in: back to the password step.
    assert response.status_code == 302 and response["Location"] == "/login/verify"
    assert locked_until(clinic_a, doctor, in_tenant) is None
    assert signed_in_user_id(client, clinic_a) is None
    assert audit_actions(clinic_a, action="auth.unlock", object_id=str(doctor.pk))
    assert not audit_actions(clinic_a, action="auth.login", actor_id=doctor.pk)
    assert client.post("/login/verify", {"password": PASSWORD})["Location"] == "/"
    [login] = audit_actions(clinic_a, action="auth.login", actor_id=doctor.pk)
    assert login.metadata["method"] == "password"


def test_a_sign_in_code_cannot_unlock(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    request_code(client, doctor.email)
    login_code = smtp.last_code(doctor.email)
    fail_times(client, doctor.email, 10)
    assert client.post("/login/unlock", {"code": login_code}).status_code == 400
    assert client.post("/login/code", {"code": login_code}).status_code == 400
    assert locked_until(clinic_a, doctor, in_tenant) is not None


def test_lock_ends_by_itself_after_the_window(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    fail_times(client, doctor.email, 10)
    # The window passes: the lock ends, and the failure count (which started earlier) expires too.
    with in_tenant(clinic_a):
        User.objects.filter(pk=doctor.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    redis = get_redis_connection("default")
    for key in redis.scan_iter(f"{KEY_PREFIX}:fail:acct:*"):
        redis.delete(key)
    assert client.post("/login/verify", {"password": PASSWORD})["Location"] == "/"


def test_unknown_email_locks_the_same_way(clinic_a, client_for):
    known, unknown = client_for(clinic_a), client_for(clinic_a)
    email = clinic_a.users["doctor"].email
    known_page = fail_times(known, email, 10)
    unknown_page = fail_times(unknown, "nobody@alpha.example.in", 10)
    assert b"Too many failed attempts" in unknown_page.content
    assert without_csrf(known_page.content.replace(email.encode(), b"EMAIL")) == without_csrf(
        unknown_page.content.replace(b"nobody@alpha.example.in", b"EMAIL")
    )


def test_a_lockout_does_not_end_an_existing_session(clinic_a, client_for):
    doctor = clinic_a.users["doctor"]
    working = client_for(clinic_a, "doctor")
    fail_times(client_for(clinic_a), doctor.email, 10)
    assert working.get("/").status_code == 200


def test_successful_sign_in_resets_the_failure_count(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    fail_times(client_for(clinic_a), doctor.email, 9)
    assert password_login(client_for(clinic_a), doctor.email, PASSWORD)["Location"] == "/"
    fail_times(client_for(clinic_a), doctor.email, 9)
    assert locked_until(clinic_a, doctor, in_tenant) is None


def test_too_many_failures_from_one_address_block_it(clinic_a, client_for, settings):
    settings.DOCOS_IP_FAILURE_LIMIT = 4
    client = client_for(clinic_a)
    for role in ("doctor", "nurse", "pharmacist", "front_desk"):
        password_login(client, clinic_a.users[role].email, WRONG)
    response = password_login(client, clinic_a.users["owner"].email, PASSWORD)
    assert response.status_code == 400
    assert b"from your network" in response.content
    other_address = client_for(clinic_a, REMOTE_ADDR="10.1.2.3")
    assert password_login(other_address, clinic_a.users["owner"].email, PASSWORD)["Location"] == "/"
