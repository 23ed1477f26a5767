"""Celery tasks of the accounts app: the sign-in emails (codes and password-reset links).

They are queued with `transaction.on_commit` by accounts.login, so the request never talks to the
SMTP server: a real account and an unknown address cost the same, and a rolled-back request sends
nothing. The clinic travels in the message headers (tenant-schemas-celery), so the task runs in the
right schema. The messages carry ids only, never a code or a link (Redis is not encrypted): the
code-mail task draws the code and stores its hash itself, and the reset task makes the link.

Both are idempotent (see the functions they call) and retry transient SMTP and database errors with
exponential backoff. A code mail that cannot go out before the code expires is dropped (the user
asks for a new code).
"""

from __future__ import annotations

import smtplib

from django.db import InterfaceError, OperationalError

from accounts import login
from docos.celery import app

# smtplib.SMTPException is an OSError; both are named so the intent is plain. Connection refused,
# timeouts and 4xx/5xx replies are retried; after the last retry the task fails and Celery logs it.
RETRY_ON = (smtplib.SMTPException, OSError, OperationalError, InterfaceError)
RETRY_POLICY = {
    "autoretry_for": RETRY_ON,
    "retry_backoff": 5,  # 5 s, 10 s, 20 s, ... (with jitter)
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


@app.task(
    name="accounts.login_code_email",
    queue="default",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    **RETRY_POLICY,
)
def login_code_email_task(login_code_id: str) -> bool:
    """Email the sign-in or unlock code of a LoginCode row. Returns whether a mail was sent."""
    return login.login_code_email(login_code_id=login_code_id)


@app.task(
    name="accounts.password_reset_email",
    queue="default",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    **RETRY_POLICY,
)
def password_reset_email_task(user_id: str, delivery_id: str) -> bool:
    """Email a set-password link to an active user. Returns whether a mail was sent."""
    return login.password_reset_email(user_id=user_id, delivery_id=delivery_id)
