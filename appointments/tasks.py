"""Celery tasks of the appointments app: the reminder beat, the per-clinic scan, and sending.

Thin wrappers: each re-reads its rows and calls one function of appointments.reminders. Every
clinic's work runs in that clinic's schema: the beat task (public schema) sends one scan task per
active clinic from inside `tenant_context`, and tenant-schemas-celery carries the schema in the
message headers to the worker; the scan sends its send tasks the same way.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from appointments import reminders
from clinics.models import Clinic
from docos.celery import app

SCAN_EXPIRES_SECONDS = 120  # a scan message older than this is dropped: the next beat sends a fresh one


@app.task(name="appointments.reminders_beat", queue="default", acks_late=True, ignore_result=True)
def reminders_beat_task() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): one scan task per active clinic. Returns how many."""
    sent = 0
    with schema_context(get_public_schema_name()):
        clinics = list(Clinic.objects.filter(status=Clinic.Status.ACTIVE).exclude(schema_name=get_public_schema_name()))
    for clinic in clinics:
        with tenant_context(clinic):
            reminders_scan_task.apply_async(expires=SCAN_EXPIRES_SECONDS)
        sent += 1
    return sent


@app.task(
    name="appointments.reminders_scan",
    queue="default",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def reminders_scan_task() -> int:
    """Plan and claim this clinic's due reminders; returns how many were claimed for sending."""
    return len(reminders.reminders_scan().claimed)


@app.task(
    name="appointments.reminders_send",
    queue="messaging",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def reminders_send_task(reminder_ids: list[str]) -> dict[str, int]:
    """Send claimed reminders. Safe to run twice: rows no longer `sending` are skipped, and the
    message idempotency key stops a second send."""
    return reminders.reminders_send(reminder_ids)
