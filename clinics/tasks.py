"""Celery tasks that walk every clinic: the nightly retention run's fan-out (audit.retention)."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from audit.tasks import retention_clinic_task
from clinics.models import Clinic
from docos.celery import app


@app.task(name="clinics.retention_beat", queue="maintenance", ignore_result=True)
def retention_beat_task() -> int:
    """Nightly (CELERY_BEAT_SCHEDULE): one retention task per clinic schema, suspended clinics too
    (their data ages as well). Returns how many."""
    with schema_context(get_public_schema_name()):
        clinics = list(Clinic.objects.exclude(schema_name=get_public_schema_name()))
    for clinic in clinics:
        with tenant_context(clinic):
            retention_clinic_task.apply_async()
    return len(clinics)


@app.task(name="clinics.subscription_dunning", queue="maintenance", ignore_result=True, acks_late=True)
def subscription_dunning_task() -> int:
    """Every five minutes (CELERY_BEAT_SCHEDULE): grace -> read-only -> suspended by the clock."""
    from clinics.subscriptions import subscription_dunning_tick

    with schema_context(get_public_schema_name()):
        return subscription_dunning_tick()


@app.task(name="clinics.offboarding_export", queue="maintenance", ignore_result=True, acks_late=True)
def offboarding_export_task(offboarding_id: str) -> str:
    """Build a closing clinic's export (clinics.offboarding); progress is written as it goes."""
    from clinics.offboarding import offboarding_export

    with schema_context(get_public_schema_name()):
        return offboarding_export(offboarding_id=offboarding_id)


@app.task(
    name="clinics.offboarding_delete",
    queue="maintenance",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=12,
)
def offboarding_delete_task(offboarding_id: str) -> str:
    """Delete a clinic whose cooling-off period is over; idempotent, retried on failure."""
    from clinics.offboarding import offboarding_delete

    with schema_context(get_public_schema_name()):
        return offboarding_delete(offboarding_id=offboarding_id)


@app.task(name="clinics.offboarding_due", queue="maintenance", ignore_result=True)
def offboarding_due_task() -> int:
    """Hourly (CELERY_BEAT_SCHEDULE): expire old exports and queue the due deletions. Returns how many."""
    from clinics.offboarding import offboarding_due_ids, offboarding_expire_archives

    with schema_context(get_public_schema_name()):
        offboarding_expire_archives()
        due = offboarding_due_ids()
        for offboarding_id in due:
            offboarding_delete_task.delay(offboarding_id)
    return len(due)
