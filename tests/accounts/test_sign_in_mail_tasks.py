"""Sign-in codes and reset links are emailed by Celery tasks queued after the commit, never by the
request (whose timing would otherwise tell real accounts from unknown ones)."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts import login, tasks
from accounts.models import LoginCode
from tests.accounts.login_helpers import request_code

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")


@pytest.fixture
def queued(monkeypatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Messages the code would put on the broker (task name, args), instead of sending them."""
    sent: list[tuple[str, tuple[Any, ...]]] = []
    for task in (tasks.login_code_email_task, tasks.password_reset_email_task):
        monkeypatch.setattr(task, "delay", lambda *args, _name=task.name: sent.append((_name, args)))
    return sent


def test_a_code_request_sends_nothing_itself_and_queues_the_task_after_commit(
    clinic_a, client_for, mailoutbox, queued, django_capture_on_commit_callbacks
):
    nurse = clinic_a.users["nurse"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = request_code(client_for(clinic_a), nurse.email)
    assert response.status_code == 302
    assert mailoutbox == []  # no SMTP in the request
    assert queued == []  # nothing queued before the commit
    for callback in callbacks:
        callback()
    with tenant_context(clinic_a.clinic):
        login_code = LoginCode.objects.get(user=nurse)
    assert queued == [("accounts.login_code_email", (str(login_code.pk),))]
    assert login_code.code_hash == ""  # the code is drawn by the task: it never travels in the message


def test_an_unknown_email_queues_nothing(clinic_a, client_for, mailoutbox, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_code(client_for(clinic_a), "nobody@alpha.example.in")
        client_for(clinic_a).post("/password-reset", {"email": "nobody@alpha.example.in"})
    assert queued == [] and mailoutbox == []


def test_a_reset_request_sends_nothing_itself_and_queues_ids_only(
    clinic_a, client_for, mailoutbox, queued, django_capture_on_commit_callbacks
):
    nurse = clinic_a.users["nurse"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(clinic_a).post("/password-reset", {"email": nurse.email})
    assert response.status_code == 200 and mailoutbox == []
    [(name, (user_id, delivery_id))] = queued
    assert name == "accounts.password_reset_email" and user_id == str(nurse.pk)
    assert len(delivery_id) == 32 and "/" not in delivery_id  # a random id, not a link or token


def test_tasks_have_explicit_names_queue_acks_late_and_retry_smtp_errors():
    for task in (tasks.login_code_email_task, tasks.password_reset_email_task):
        assert task.name in {"accounts.login_code_email", "accounts.password_reset_email"}
        assert task.queue == "default"
        assert task.acks_late is True
        assert {smtplib.SMTPException, OSError} <= set(task.autoretry_for)  # refused connections, 4xx/5xx
        assert task.retry_backoff and task.max_retries == 5


def _fresh_code(seeded, user, *, purpose="login", minutes=10) -> str:
    with tenant_context(seeded.clinic):
        return str(
            LoginCode.objects.create(
                user=user, purpose=purpose, code_hash="", expires_at=timezone.now() + timedelta(minutes=minutes)
            ).pk
        )


def test_the_code_task_is_idempotent(clinic_a, smtp):
    nurse = clinic_a.users["nurse"]
    code_id = _fresh_code(clinic_a, nurse)
    with tenant_context(clinic_a.clinic):
        assert tasks.login_code_email_task.apply(args=[code_id]).get() is True
        first_hash = LoginCode.objects.get(pk=code_id).code_hash
        assert tasks.login_code_email_task.apply(args=[code_id]).get() is False  # redelivered message
        assert LoginCode.objects.get(pk=code_id).code_hash == first_hash
    assert len(smtp.to(nurse.email)) == 1
    code = smtp.last_code(nurse.email)
    assert first_hash == login._code_hash(code_id, code)


def test_the_code_task_skips_codes_that_moved_on(clinic_a, smtp):
    nurse = clinic_a.users["nurse"]
    expired = _fresh_code(clinic_a, nurse, minutes=-1)
    with tenant_context(clinic_a.clinic):
        assert tasks.login_code_email_task.apply(args=[expired]).get() is False
        assert tasks.login_code_email_task.apply(args=["00000000-0000-0000-0000-000000000000"]).get() is False
    assert smtp.messages == []


def test_an_smtp_failure_is_retried_and_only_the_mailed_code_is_stored(clinic_a, smtp, monkeypatch):
    nurse = clinic_a.users["nurse"]
    code_id = _fresh_code(clinic_a, nurse)
    real_send = login.send_mail
    calls = {"n": 0}

    def flaky_send(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(login, "send_mail", flaky_send)
    with tenant_context(clinic_a.clinic):
        # Eagerly, Celery runs the retry at once (no backoff).
        tasks.login_code_email_task.apply(args=[code_id], throw=False)
        stored = LoginCode.objects.get(pk=code_id).code_hash
    assert calls["n"] == 2
    assert len(smtp.to(nurse.email)) == 1
    assert stored == login._code_hash(code_id, smtp.last_code(nurse.email))


def test_the_reset_task_sends_once_per_delivery(clinic_a, smtp):
    nurse = clinic_a.users["nurse"]
    with tenant_context(clinic_a.clinic):
        for _ in range(2):
            tasks.password_reset_email_task.apply(args=[str(nurse.pk), "d" * 32])
        tasks.password_reset_email_task.apply(args=[str(nurse.pk), "e" * 32])
    assert len(smtp.to(nurse.email)) == 2
    assert "/set-password/" in smtp.last_link(nurse.email)


def test_a_rolled_back_request_emails_nothing(clinic_a, smtp):
    nurse = clinic_a.users["nurse"]
    request = RequestFactory().post("/login/code/send", REMOTE_ADDR="198.51.100.4")
    with tenant_context(clinic_a.clinic):
        with pytest.raises(RuntimeError), transaction.atomic():
            login.login_code_send(request=request, email=nurse.email)
            raise RuntimeError("something later in the request failed")
        login.login_code_send(request=request, email=nurse.email)
    assert len(smtp.to(nurse.email)) == 1
    assert mail.outbox == []  # the real SMTP server got it; nothing went through the locmem backend
