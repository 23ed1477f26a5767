"""Celery tasks of messaging: the outbox worker and its sweeper. Thin: each calls one service.

`outbox_dispatch` runs in the message's clinic schema (tenant-schemas-celery carries it). It is
safe to run twice: only a `queued` row is claimed, under a row lock (SKIP LOCKED)."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from clinics.models import Clinic
from docos.celery import app
from messaging import media, services

SWEEP_EXPIRES_SECONDS = 120


@app.task(
    name="messaging.outbox_dispatch",
    queue="messaging",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def outbox_dispatch_task(message_id: str) -> str:
    return services.message_dispatch(message_id=message_id)


@app.task(name="messaging.outbox_sweep", queue="default", acks_late=True, ignore_result=True)
def outbox_sweep_beat_task() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): one sweep task per active clinic. Returns how many."""
    with schema_context(get_public_schema_name()):
        clinics = list(Clinic.objects.filter(status=Clinic.Status.ACTIVE).exclude(schema_name=get_public_schema_name()))
    for clinic in clinics:
        with tenant_context(clinic):
            outbox_sweep_clinic_task.apply_async(expires=SWEEP_EXPIRES_SECONDS)
    return len(clinics)


@app.task(
    name="messaging.outbox_sweep_clinic",
    queue="default",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=2,
)
def outbox_sweep_clinic_task() -> dict[str, int]:
    return {**services.outbox_sweep(), "media_requeued": media.inbound_media_sweep()}


@app.task(
    name="messaging.media_fetch",
    queue="messaging",
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def media_fetch_task(self: Any, message_id: str) -> str:
    """Download one inbound message's media; retryable vendor errors retry with backoff and jitter."""
    outcome = media.inbound_media_fetch(message_id=message_id)
    if outcome == "retry":
        attempt = self.request.retries + 1
        if attempt >= settings.WHATSAPP_MEDIA_MAX_ATTEMPTS:
            media.inbound_media_give_up(message_id=message_id)
            return "failed"
        delay = random.uniform(
            0, min(settings.WHATSAPP_RETRY_MAX_SECONDS, settings.WHATSAPP_RETRY_BASE_SECONDS * 2**attempt)
        )
        raise self.retry(countdown=delay, max_retries=settings.WHATSAPP_MEDIA_MAX_ATTEMPTS)
    return outcome
