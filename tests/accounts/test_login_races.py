"""Concurrent wrong secrets: each attempt is counted before it is checked, so no more than the
lockout limit are ever evaluated, and the count is not reset when the lock falls.

Real parallel requests would need committed transactions (the seeded clinics must stay clean), so
the race is replayed deterministically, in one thread: while an attempt is inside the secret check,
the next attempt starts. That is the interleaving where every request used to pass the lock check
before any failure had been counted (measured: 24 of 40 simultaneous wrong passwords evaluated).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from accounts import login
from accounts.models import User
from tests.accounts.login_helpers import audit_actions

pytest_plugins = ["tests.accounts.auth_fixtures"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

IN_FLIGHT = 40


def _request(seeded):
    request = RequestFactory().post("/login/verify", REMOTE_ADDR="198.51.100.23", HTTP_HOST=seeded.host)
    request.tenant = seeded.clinic
    return request


def _race(attempt: Callable[[], None]) -> tuple[Callable[[], None], dict[str, int], Callable[..., Any]]:
    """A stand-in for the secret check: while one attempt is being checked, the next ones start (and
    those refused unchecked finish) before it answers "wrong". So every attempt that gets as far as
    the check is in flight at once. Returns the starter, the tally and the stand-in."""
    tally = {"started": 0, "evaluated": 0, "refused": 0}

    def run_one() -> None:
        tally["started"] += 1
        evaluated_before = tally["evaluated"]
        try:
            attempt()
        except login.AuthError as exc:
            if tally["evaluated"] == evaluated_before:  # refused without checking the secret
                assert "Too many failed attempts" in exc.message
                tally["refused"] += 1

    def wrong_secret(*args: Any, **kwargs: Any) -> Any:
        tally["evaluated"] += 1
        while tally["started"] < IN_FLIGHT:  # the others arrive while this one is being checked
            run_one()
        return None

    return run_one, tally, wrong_secret


def test_parallel_wrong_passwords_are_evaluated_at_most_up_to_the_lockout(clinic_a, monkeypatch, settings):
    doctor = clinic_a.users["doctor"]
    with tenant_context(clinic_a.clinic):
        start, tally, wrong_secret = _race(
            lambda: login.login_password_check(request=_request(clinic_a), email=doctor.email, password="guess")
        )
        monkeypatch.setattr(login, "authenticate", wrong_secret)
        start()
        assert User.objects.get(pk=doctor.pk).locked_until is not None
    assert tally["started"] == IN_FLIGHT
    assert tally["evaluated"] == settings.DOCOS_LOCKOUT_FAILURES
    assert tally["refused"] == IN_FLIGHT - settings.DOCOS_LOCKOUT_FAILURES
    assert len(audit_actions(clinic_a, action="auth.login_failed", object_id=str(doctor.pk))) == 10
    # One lock, not a new one every ten failures (the count is not reset when the lock falls).
    assert len(audit_actions(clinic_a, action="auth.lockout", object_id=str(doctor.pk))) == 1


def test_parallel_wrong_totp_codes_are_evaluated_at_most_up_to_the_lockout(clinic_a, monkeypatch, settings):
    doctor = clinic_a.users["doctor"]
    with tenant_context(clinic_a.clinic):
        user = User.objects.get(pk=doctor.pk)
        start, tally, wrong_secret = _race(
            lambda: login.login_totp_check(request=_request(clinic_a), user=user, code="000000")
        )
        monkeypatch.setattr(login, "totp_code_valid", wrong_secret)
        start()
        assert User.objects.get(pk=doctor.pk).locked_until is not None
    assert tally["evaluated"] == settings.DOCOS_LOCKOUT_FAILURES
    assert len(audit_actions(clinic_a, action="auth.lockout", object_id=str(doctor.pk))) == 1


def test_unknown_email_gets_the_same_cap(clinic_a, monkeypatch, settings):
    with tenant_context(clinic_a.clinic):
        start, tally, wrong_secret = _race(
            lambda: login.login_password_check(
                request=_request(clinic_a), email="nobody@alpha.example.in", password="guess"
            )
        )
        monkeypatch.setattr(login, "authenticate", wrong_secret)
        start()
    assert tally["evaluated"] == settings.DOCOS_LOCKOUT_FAILURES


def test_a_right_password_gives_its_reservation_back(clinic_a, client_for):
    """Right answers are not failures: nine failures, a right password, one more failure: no lock."""
    from tests.accounts.login_helpers import password_login
    from tests.conftest import PASSWORD

    doctor = clinic_a.users["doctor"]
    client = client_for(clinic_a)
    for _ in range(9):
        password_login(client, doctor.email, "wrong-password-0000")
    with tenant_context(clinic_a.clinic):
        # The first factor alone (as before a TOTP step) does not clear the count.
        login.login_password_check(request=_request(clinic_a), email=doctor.email, password=PASSWORD)
        assert User.objects.get(pk=doctor.pk).locked_until is None
    tenth = password_login(client, doctor.email, "wrong-password-0000")
    assert b"Too many failed attempts" in tenth.content
