"""Off-boarding end to end on a real Celery worker (tests/celery_worker.py): the request queues the
export after commit, the worker builds it with progress; once the cooling-off is over the hourly
beat task queues the deletion, which the worker runs, leaving no schema or file behind."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import User
from clinics.models import Clinic, ClinicOffboarding
from clinics.offboarding import leftovers, offboarding_request
from clinics.tasks import offboarding_due_task
from tests.clinics.offboarding_helpers import fill_clinic, remove_files


def _row(django_db_blocker, pk) -> ClinicOffboarding:
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        return ClinicOffboarding.objects.get(pk=pk)


def test_a_worker_exports_then_deletes_a_closing_clinic(celery_worker, throwaway_clinic, django_db_blocker):
    clinic = throwaway_clinic.clinic
    schema = clinic.schema_name
    with django_db_blocker.unblock():
        fill_clinic(clinic, throwaway_clinic.owner)
        with tenant_context(clinic):
            owner = User.objects.get(pk=throwaway_clinic.owner.pk)
            offboarding = offboarding_request(clinic=clinic, actor=owner, confirm_address=clinic.slug)
        connection.set_schema_to_public()
    try:
        celery_worker.wait_until(
            lambda: _row(django_db_blocker, offboarding.pk).status in ("ready", "failed"), timeout=120
        )
        found = _row(django_db_blocker, offboarding.pk)
        assert found.status == "ready", celery_worker.log()
        assert found.progress == 100 and found.archive_size > 0 and len(found.archive_sha256) == 64

        with django_db_blocker.unblock():
            # The cooling-off is over (the worker keeps the real clock, so move the date instead).
            ClinicOffboarding.objects.filter(pk=offboarding.pk).update(
                delete_after=timezone.now() - dt.timedelta(minutes=1)
            )
            assert offboarding_due_task.apply().get() == 1  # the beat's scan, here; the deletion on the worker
        celery_worker.wait_until(
            lambda: _row(django_db_blocker, offboarding.pk).certificate_emailed_at is not None, timeout=120
        )
        found = _row(django_db_blocker, offboarding.pk)
        assert found.status == "deleted" and found.certificate_name and found.deleted["files"] == 3
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            assert not Clinic.objects.filter(pk=clinic.pk).exists()
            assert not schema_exists(schema) and leftovers(schema) == {"tables": 0, "files": 0}
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            remove_files(f"offboarding/{offboarding.pk}")
            ClinicOffboarding.objects.filter(pk=offboarding.pk).delete()
            from clinics.models import Plan, PlatformInvoice

            PlatformInvoice.objects.filter(clinic_name=clinic.name, payment__isnull=True).delete()
            PlatformInvoice.objects.filter(payment__subscription__clinic=clinic).delete()
            Plan.objects.filter(code="offboard-monthly", subscriptions__isnull=True).delete()
