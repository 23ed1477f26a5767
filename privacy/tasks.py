"""Celery tasks of the privacy app: thin wrappers that re-fetch by id and call one function."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from docos.celery import app
from privacy import export, notices


@app.task(
    name="privacy.export_build",
    queue="maintenance",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def export_build_task(export_id: str) -> str:
    """Build a patient's export archive; a redelivered message rebuilds it (nothing is sent twice)."""
    return export.export_build(export_id=export_id)


@app.task(
    name="privacy.breach_notices",
    queue="messaging",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def breach_notices_task(run_id: str) -> str:
    """Send a breach's notices; a redelivered message re-counts and sends nothing twice."""
    try:
        return notices.notices_send(run_id=run_id)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        notices.notices_run_failed(run_id, "The sending stopped on an error; start it again (nothing is sent twice).")
        raise
