"""The CSV import end to end through a real Celery worker process (tests/celery_worker.py)."""

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import User
from audit.models import AuditEvent
from patients import importer
from patients.models import Patient, PatientImport
from tests.celery_worker import committed_row
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
    return committed_row(clinic, django_db_blocker, PatientImport, import_id)


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


def test_messy_export_imports_correctly_in_a_real_worker(celery_worker, throwaway_clinic, django_db_blocker):
    """The messy fixture (tests/patients/fixtures/messy_export.csv) against patients registered before:
    held rows decided in the preview, the rest imported by the worker, the row held after the run
    decided and applied by the worker once."""
    import datetime as dt
    from pathlib import Path

    from patients.services import GUARDIAN_FOLLOW_UP_TAG, patient_create

    data = (Path(__file__).parent / "fixtures" / "messy_export.csv").read_bytes()
    clinic = throwaway_clinic
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        owner = User.objects.get(pk=clinic.owner.pk)
        here, there = clinic.locations[0], clinic.locations[1]
        known = {
            name: patient_create(
                actor=owner,
                duplicates_confirmed=True,
                given_name=given,
                family_name=family,
                phone=phone,
                date_of_birth=born,
                registered_location=location,
            )
            for name, given, family, phone, born, location in [
                ("lakshmi", "Lakshmi", "Iyer", "9845011111", dt.date(1961, 3, 14), here),
                ("rafiq", "Mohammed", "Rafiq", "9845022222", dt.date(1972, 8, 1), there),
                ("sreenivas", "Sreenivas", "Reddy", "9845070000", dt.date(1980, 1, 2), here),
            ]
        }
        patient_import = importer.patient_import_upload(
            actor=owner, data=data, original_name="messy_export.csv", location=here
        )
        importer.patient_import_set_mapping(patient_import=patient_import, mapping=patient_import.mapping, actor=owner)
        importer.patient_import_decide(
            patient_import=patient_import,
            choices={2: f"merge:{known['lakshmi'].pk}", 6: "skip", 7: "create"},
            actor=owner,
        )
        importer.patient_import_start(patient_import=patient_import, actor=owner)
    connection.set_schema_to_public()
    import_id = str(patient_import.pk)
    celery_worker.wait_until(
        lambda: _status(clinic, django_db_blocker, import_id).status in ("done", "failed"), timeout=90
    )
    done = _status(clinic, django_db_blocker, import_id)
    assert done.status == "done", celery_worker.log()
    counts = (done.created_count, done.merged_count, done.skipped_count, done.held_count, done.error_count)
    assert counts == (6, 1, 1, 1, 2)

    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        lakshmi = Patient.objects.get(pk=known["lakshmi"].pk)
        assert lakshmi.external_ref == "R-1001" and lakshmi.guardian_name == "Venkat Iyer"
        ramesh = Patient.objects.get(external_ref="R-1002")
        assert (ramesh.given_name, ramesh.family_name, ramesh.address) == (
            "Ramesh",
            "K. S.",
            'Flat 3, "Green Acres", MG Road',
        )
        assert ramesh.dob_is_estimated
        assert GUARDIAN_FOLLOW_UP_TAG in Patient.objects.get(external_ref="R-1004").tags
        assert Patient.objects.get(external_ref="R-1007").given_name == "सुनीता"
        # The row held by the run (similar to Sreenivas Reddy): decided now, applied by the worker.
        importer.patient_import_decide(
            patient_import=PatientImport.objects.get(pk=import_id), choices={12: "create"}, actor=owner
        )
    connection.set_schema_to_public()
    celery_worker.wait_until(
        lambda: (
            _status(clinic, django_db_blocker, import_id).held_count == 0
            and _status(clinic, django_db_blocker, import_id).status == "done"
        ),
        timeout=90,
    )
    final = _status(clinic, django_db_blocker, import_id)
    assert (final.created_count, final.held_count, final.error_count) == (7, 0, 2)
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        assert Patient.objects.count() == 3 + 7
        assert AuditEvent.objects.filter(action="patient_import.finish", object_id=import_id).count() == 2
        assert AuditEvent.objects.filter(action="patient_import.decide", object_id=import_id).count() == 2
    connection.set_schema_to_public()
