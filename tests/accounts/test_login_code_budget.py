"""Emailed codes share one budget of wrong guesses per account: asking for a new code (sign-in or
unlock) does not reset it, and an unlock code only lifts the lock."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.accounts.login_helpers import audit_actions, password_login, request_code, signed_in_user_id, start
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

WRONG_PASSWORD = "wrong-password-0000"
BUDGET_SPENT = b"Too many wrong codes for this account"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def lock(client, email):
    start(client, email)
    for _ in range(10):
        response = client.post("/login/verify", {"password": WRONG_PASSWORD})
    assert b"Too many failed attempts" in response.content


def is_locked(seeded, user, in_tenant) -> bool:
    with in_tenant(seeded):
        return User.objects.get(pk=user.pk).locked_until is not None


def test_new_unlock_codes_do_not_reset_the_wrong_code_budget(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    lock(client, doctor.email)
    for _ in range(2):  # two codes, five wrong guesses each: the budget of ten is spent
        client.post("/login/code/send", {"purpose": "unlock"})
        code = smtp.last_code(doctor.email)
        for _ in range(5):
            assert client.post("/login/unlock", {"code": wrong(code)}).status_code == 400
    client.post("/login/code/send", {"purpose": "unlock"})
    response = client.post("/login/unlock", {"code": smtp.last_code(doctor.email)})
    assert response.status_code == 400 and BUDGET_SPENT in response.content
    assert is_locked(clinic_a, doctor, in_tenant)
    assert not audit_actions(clinic_a, action="auth.unlock", object_id=str(doctor.pk))


def test_the_budget_spans_sign_in_and_unlock_codes(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    for guesses in (5, 4):  # nine wrong sign-in codes over two codes (nine failures: not locked yet)
        request_code(client, nurse.email)
        code = smtp.last_code(nurse.email)
        for _ in range(guesses):
            assert client.post("/login/code", {"code": wrong(code)}).status_code == 400
    assert not is_locked(clinic_a, nurse, in_tenant)
    assert b"Too many failed attempts" in password_login(client, nurse.email, WRONG_PASSWORD).content
    client.post("/login/code/send", {"purpose": "unlock"})
    code = smtp.last_code(nurse.email)
    assert client.post("/login/unlock", {"code": wrong(code)}).status_code == 400  # the tenth wrong code
    response = client.post("/login/unlock", {"code": code})
    assert response.status_code == 400 and BUDGET_SPENT in response.content
    assert is_locked(clinic_a, nurse, in_tenant)


def test_an_unlock_code_does_not_sign_in(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    doctor = clinic_a.users["doctor"]
    lock(client, doctor.email)
    client.post("/login/code/send", {"purpose": "unlock"})
    response = client.post("/login/unlock", {"code": smtp.last_code(doctor.email)})
    assert response.status_code == 302 and response["Location"] == "/login/verify"
    assert not is_locked(clinic_a, doctor, in_tenant)
    assert signed_in_user_id(client, clinic_a) is None
    assert client.get("/")["Location"].startswith("/login")
    assert client.post("/login/verify", {"password": PASSWORD})["Location"] == "/"


def test_an_unknown_email_gets_the_same_budget_and_replies(clinic_a, client_for, smtp):
    known, unknown = client_for(clinic_a), client_for(clinic_a)
    email = clinic_a.users["doctor"].email
    lock(known, email)
    lock(unknown, "nobody@alpha.example.in")
    replies = {}
    for name, client in (("known", known), ("unknown", unknown)):
        for _ in range(2):
            client.post("/login/code/send", {"purpose": "unlock"})
            for _ in range(5):
                client.post("/login/unlock", {"code": "000000" if name == "unknown" else wrong(smtp.last_code(email))})
        client.post("/login/code/send", {"purpose": "unlock"})
        replies[name] = client.post("/login/unlock", {"code": "123456"})
    assert replies["known"].status_code == replies["unknown"].status_code == 400
    assert BUDGET_SPENT in replies["known"].content and BUDGET_SPENT in replies["unknown"].content
