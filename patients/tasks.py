"""Celery tasks of the patients app: thin wrappers that re-fetch by id and call one service.

Tasks carry their clinic (tenant-schemas-celery puts the schema in a header when `.delay()` runs
inside the clinic's context), so the import runs in the right schema without guessing.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from docos.celery import app
from patients import importer


@app.task(
    name="patients.import_run",
    queue="default",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def patient_import_run_task(import_id: str) -> str:
    """Run (or resume) a patient import. Idempotent: a finished import returns at once, and a
    redelivered message resumes after the last committed batch; rows never import twice."""
    return importer.patient_import_run(import_id=import_id)
