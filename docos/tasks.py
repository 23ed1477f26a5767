"""Kernel tasks: processing stored vendor webhook events (public schema), sweeping lost ones and
purging handled ones."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from docos import webhooks
from docos.celery import app


@app.task(
    name="docos.webhook_process",
    queue="default",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),  # handlers are idempotent; the attempt counter caps the reruns
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=webhooks.MAX_ATTEMPTS,
)
def webhook_process_task(event_pk: str) -> str:
    return webhooks.webhook_process(event_pk)


@app.task(
    name="docos.webhook_sweep",
    queue="maintenance",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=2,
)
def webhook_sweep_task() -> int:
    return webhooks.webhook_sweep()


@app.task(
    name="docos.webhook_purge",
    queue="maintenance",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=2,
)
def webhook_purge_task() -> int:
    return webhooks.webhook_purge()
