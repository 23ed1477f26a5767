"""Celery tasks of the audit app: one clinic's retention run (the nightly fan-out over clinics is
`clinics.retention_beat`: this app sits below clinics). Thin: calls one service."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from docos.celery import app


@app.task(
    name="audit.retention_clinic",
    queue="maintenance",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def retention_clinic_task(dry_run: bool = False) -> dict[str, int]:
    from audit.retention import retention_run

    return retention_run(dry_run=dry_run).counts
