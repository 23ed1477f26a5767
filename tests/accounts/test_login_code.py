"""Sign-in with a 6-digit code emailed through a real (local) SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import LoginCode
from tests.accounts.login_helpers import audit_actions, request_code, signed_in_user_id, without_csrf

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")


def test_staff_signs_in_with_a_code_from_the_email(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    response = request_code(client, nurse.email)
    assert response.status_code == 302 and response["Location"] == "/login/code"
    [mail] = smtp.to(nurse.email)
    assert "sign-in code" in mail["Subject"]
    code = smtp.last_code(nurse.email)
    with in_tenant(clinic_a):
        stored = LoginCode.objects.get(user=nurse)
        assert stored.purpose == "login"
        assert code not in stored.code_hash and len(stored.code_hash) == 64
        assert abs((stored.expires_at - stored.created_at) - timedelta(minutes=10)) < timedelta(seconds=1)
    response = client.post("/login/code", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(client, clinic_a) == str(nurse.pk)
    [event] = audit_actions(clinic_a, action="auth.login", actor_id=nurse.pk)
    assert event.metadata["method"] == "code"
    assert code not in str(event.metadata)


def test_no_code_is_sent_for_an_unknown_email_and_the_reply_is_the_same(clinic_a, client_for, smtp):
    known, unknown = client_for(clinic_a), client_for(clinic_a)
    nurse_email = clinic_a.users["nurse"].email
    request_code(known, nurse_email)
    request_code(unknown, "nobody@alpha.example.in")
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["X-Envelope-To"] == nurse_email

    def page(client, email):
        return without_csrf(client.get("/login/code").content.replace(email.encode(), b"EMAIL"))

    assert page(known, nurse_email) == page(unknown, "nobody@alpha.example.in")
    for _ in range(2):
        wrong_known = known.post("/login/code", {"code": "000000"})
        wrong_unknown = unknown.post("/login/code", {"code": "000000"})
        assert wrong_known.status_code == wrong_unknown.status_code == 400
        assert without_csrf(wrong_known.content.replace(nurse_email.encode(), b"EMAIL")) == without_csrf(
            wrong_unknown.content.replace(b"nobody@alpha.example.in", b"EMAIL")
        )


def test_wrong_code_is_refused(clinic_a, client_for, smtp):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    request_code(client, nurse.email)
    right = smtp.last_code(nurse.email)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    response = client.post("/login/code", {"code": wrong})
    assert response.status_code == 400
    assert b"That code is not right. 4 attempts left." in response.content
    assert signed_in_user_id(client, clinic_a) is None
    [event] = audit_actions(clinic_a, action="auth.login_failed", object_id=str(nurse.pk))
    assert event.metadata == {"method": "code", "reason": "bad_code"}


def test_expired_code_is_refused(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    request_code(client, nurse.email)
    code = smtp.last_code(nurse.email)
    with in_tenant(clinic_a):
        # Ten minutes and a second later.
        LoginCode.objects.filter(user=nurse).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post("/login/code", {"code": code})
    assert response.status_code == 400
    assert b"expired" in response.content
    assert signed_in_user_id(client, clinic_a) is None


def test_code_is_still_good_just_before_it_expires(clinic_a, client_for, smtp, in_tenant):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    request_code(client, nurse.email)
    with in_tenant(clinic_a):
        LoginCode.objects.filter(user=nurse).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert client.post("/login/code", {"code": smtp.last_code(nurse.email)})["Location"] == "/"


def test_a_code_works_only_once(clinic_a, client_for, smtp):
    nurse = clinic_a.users["nurse"]
    first = client_for(clinic_a)
    request_code(first, nurse.email)
    code = smtp.last_code(nurse.email)
    assert first.post("/login/code", {"code": code})["Location"] == "/"
    second = client_for(clinic_a)
    second.post("/login", {"email": nurse.email})
    response = second.post("/login/code", {"code": code})
    assert response.status_code == 400
    assert signed_in_user_id(second, clinic_a) is None


def test_a_code_dies_after_five_wrong_attempts(clinic_a, client_for, smtp):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    request_code(client, nurse.email)
    right = smtp.last_code(nurse.email)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        assert f"{left} attempt".encode() in client.post("/login/code", {"code": wrong}).content
    assert b"Too many wrong codes" in client.post("/login/code", {"code": wrong}).content
    response = client.post("/login/code", {"code": right})
    assert response.status_code == 400
    assert b"Too many wrong codes" in response.content
    assert signed_in_user_id(client, clinic_a) is None


def test_a_new_code_replaces_the_previous_one(clinic_a, client_for, smtp):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    request_code(client, nurse.email)
    old = smtp.last_code(nurse.email)
    client.post("/login/code/send", {"purpose": "login"})
    new = smtp.last_code(nurse.email)
    if old != new:
        assert client.post("/login/code", {"code": old}).status_code == 400
    assert client.post("/login/code", {"code": new})["Location"] == "/"


def test_code_emails_are_limited_per_account(clinic_a, client_for, smtp):
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    for _ in range(5):
        request_code(client, nurse.email)
    response = request_code(client, nurse.email)
    assert response.status_code == 400
    assert b"already emailed several codes" in response.content
    assert len(smtp.to(nurse.email)) == 5


def test_code_of_clinic_a_user_does_not_sign_in_on_clinic_b(clinic_a, clinic_b, client_for, smtp):
    client = client_for(clinic_b)
    owner_a = clinic_a.users["owner"]
    request_code(client, owner_a.email)
    assert smtp.messages == []
    response = client.post("/login/code", {"code": "123456"})
    assert response.status_code == 400
    assert signed_in_user_id(client, clinic_b) is None


@pytest.mark.parametrize(("ttl_seconds", "minutes"), [(600, 10), (15 * 60 + 59, 15)])
def test_code_page_notice_and_email_state_the_same_lifetime(clinic_a, client_for, smtp, settings, ttl_seconds, minutes):
    settings.DOCOS_LOGIN_CODE_TTL_SECONDS = ttl_seconds
    client = client_for(clinic_a)
    nurse = clinic_a.users["nurse"]
    response = request_code(client, nurse.email)
    page = client.get(response["Location"]).content.decode()
    [mail] = smtp.to(nurse.email)
    assert f"for {minutes} minutes" in smtp.body(mail)
    assert f"The code works for {minutes} minutes." in page  # the notice after sending
    assert f"works once, for {minutes} minutes" in page  # the page itself, also after a reload
    assert "minutes" not in client.get("/login/code").content.decode().replace(f"{minutes} minutes", "")
