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
