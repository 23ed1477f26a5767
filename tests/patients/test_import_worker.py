"""The CSV import end to end through a real Celery worker process (tests/celery_worker.py)."""

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import User
from audit.models import AuditEvent
from patients import importer
from patients.models import Patient, PatientImport
from tests.patients.import_helpers import BAD_ROWS, GOOD_ROWS, csv_bytes


def _upload_and_start(clinic, django_db_blocker, data: bytes) -> str:
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        owner = User.objects.get(pk=clinic.owner.pk)
        patient_import = importer.patient_import_upload(
            actor=owner, data=data, original_name="old.csv", location=clinic.locations[0]
        )
        importer.patient_import_set_mapping(patient_import=patient_import, mapping=patient_import.mapping, actor=owner)
        # Commits, then queues patients.import_run with this clinic's schema in the message headers.
        importer.patient_import_start(patient_import=patient_import, actor=owner)
    connection.set_schema_to_public()
    return str(patient_import.pk)


def _status(clinic, django_db_blocker, import_id: str) -> PatientImport:
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        found = PatientImport.objects.get(pk=import_id)
    connection.set_schema_to_public()
    return found


def test_import_runs_in_a_real_worker_and_a_second_run_adds_no_one(celery_worker, throwaway_clinic, django_db_blocker):
    data = csv_bytes(GOOD_ROWS + BAD_ROWS)
    first = _upload_and_start(throwaway_clinic, django_db_blocker, data)
    celery_worker.wait_until(
        lambda: _status(throwaway_clinic, django_db_blocker, first).status in ("done", "failed"), timeout=90
    )
    done = _status(throwaway_clinic, django_db_blocker, first)
    assert done.status == "done", celery_worker.log()
    assert (done.processed_rows, done.created_count, done.skipped_count, done.error_count) == (9, 4, 0, 5)

    second = _upload_and_start(throwaway_clinic, django_db_blocker, data)
    celery_worker.wait_until(lambda: _status(throwaway_clinic, django_db_blocker, second).status == "done", timeout=90)
    again = _status(throwaway_clinic, django_db_blocker, second)
    assert (again.created_count, again.skipped_count, again.error_count) == (0, 4, 5)

    with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
        assert Patient.objects.count() == 4
        assert all(p.mrn.startswith("WORKER") and p.name_key for p in Patient.objects.all())
        assert AuditEvent.objects.filter(action="patient_import.finish").count() == 2
        assert AuditEvent.objects.filter(action="patient.create").count() == 4
    connection.set_schema_to_public()
