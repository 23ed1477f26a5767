"""Celery tasks of the imaging app: thin wrappers that re-fetch by id and call one service."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from clinics.models import Clinic
from docos.celery import app
from documents.signing import current_clinic
from imaging import ingest


@app.task(
    name="imaging.ingest_upload",
    queue="imaging",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def ingest_upload_task(upload_id: str) -> str:
    """Index a submitted upload. Idempotent: a finished upload returns at once; a redelivered message
    resumes with the files not yet indexed (each file's chunks go once it is filed)."""
    return ingest.upload_process(clinic=current_clinic(), upload_id=upload_id)


@app.task(name="imaging.sweep", queue="maintenance", acks_late=True, ignore_result=True)
def sweep_beat_task() -> int:
    """Every five minutes (CELERY_BEAT_SCHEDULE): one sweep per active clinic. Returns how many."""
    with schema_context(get_public_schema_name()):
        clinics = list(Clinic.objects.filter(status=Clinic.Status.ACTIVE).exclude(schema_name=get_public_schema_name()))
    for clinic in clinics:
        with tenant_context(clinic):
            sweep_clinic_task.apply_async(expires=240)
    return len(clinics)


@app.task(
    name="imaging.sweep_clinic",
    queue="maintenance",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=2,
)
def sweep_clinic_task() -> dict[str, int]:
    """Re-queue uploads whose processing was lost; abandon uploads never finished sending."""
    return ingest.upload_sweep()
