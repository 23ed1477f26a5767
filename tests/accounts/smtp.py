"""A real SMTP server for tests (aiosmtpd), and Django's SMTP backend pointed at it.

Use with `pytest_plugins = ["tests.accounts.smtp"]` and the `smtp` fixture:
`smtp.messages` holds every received mail (email.message.EmailMessage), newest last.

Sign-in emails are sent by Celery tasks queued with `transaction.on_commit`. Tests run inside a
transaction that is never committed, so the `smtp` fixture also uses `mail_tasks_run`: commit
callbacks run when the code under test leaves its outermost transaction (as a real commit would
trigger them; a rolled-back block drops its callbacks as in production), and Celery runs the
tasks eagerly, in this process, through the real task code.
"""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connections
from django.db.transaction import Atomic

from docos.celery import app as celery_app


class MailCollector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"

    def clear(self) -> None:
        self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def last_code(self, address: str) -> str:
        """The 6-digit code in the latest mail to `address`."""
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        found = re.search(r"\b(\d{6})\b", self.body(mails[-1]))
        assert found, "no 6-digit code in the mail"
        return found.group(1)

    def last_link(self, address: str) -> str:
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        found = re.search(r"https?://\S+", self.body(mails[-1]))
        assert found, "no link in the mail"
        return found.group(0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[MailCollector, int]]:
    collector = MailCollector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


@pytest.fixture
def mail_tasks_run(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run `on_commit` callbacks when a transaction block of the code under test ends at the test's
    own depth, and run Celery tasks eagerly (errors propagate, retries happen in place)."""
    base_depth = {alias: len(connections[alias].atomic_blocks) for alias in connections}
    original_exit = Atomic.__exit__

    def exit_and_run_callbacks(self: Atomic, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        result = original_exit(self, exc_type, exc_value, traceback)
        alias = self.using or "default"
        connection = connections[alias]
        if len(connection.atomic_blocks) == base_depth.get(alias, 0):
            while connection.run_on_commit:
                _savepoints, callback, _robust = connection.run_on_commit.pop(0)
                callback()
        return result

    monkeypatch.setattr(Atomic, "__exit__", exit_and_run_callbacks)
    eager, propagates = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_eager_propagates = propagates


@pytest.fixture
def smtp(smtp_server: tuple[MailCollector, int], settings: Any, mail_tasks_run: None) -> MailCollector:
    """Django sends through the local SMTP server for this test; the inbox starts empty."""
    collector, port = smtp_server
    collector.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return collector
