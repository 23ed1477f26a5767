"""An upload processed end to end by a real Celery worker consuming the `imaging` queue (tests/celery_worker.py)."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import User
from imaging import services
from imaging.models import Instance, Upload
from patients.models import Patient
from tests.celery_worker import committed_row
from tests.imaging.imaging_helpers import shipped, zip_of


def _status(clinic, django_db_blocker, upload_id: str) -> Upload:
    return committed_row(clinic, django_db_blocker, Upload, upload_id)


def test_a_submitted_upload_is_indexed_by_the_imaging_worker(celery_worker, throwaway_clinic, django_db_blocker):
    clinic = throwaway_clinic
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        owner = User.objects.get(pk=clinic.owner.pk)
        patient = Patient.objects.create(
            mrn="WRK-1", given_name="Lakshmi", family_name="Narayanan", sex="F", registered_location=clinic.locations[0]
        )
        upload = services.upload_start(patient=patient, actor=owner, files_expected=2)
        files = [("ct.dcm", shipped("CT_small.dcm")), ("us.zip", zip_of([("US/1", shipped("examples_ybr_color.dcm"))]))]
        for index, (name, data) in enumerate(files):
            services.upload_chunk_receive(
                upload=upload, actor=owner, file_index=index, chunk_index=0, chunk_count=1, name=name, data=data
            )
        # Commits, then queues imaging.ingest_upload (queue "imaging") with this clinic's schema in its headers.
        services.upload_submit(upload=upload, actor=owner)
    connection.set_schema_to_public()

    upload_id = str(upload.pk)
    celery_worker.wait_until(lambda: _status(clinic, django_db_blocker, upload_id).is_finished, timeout=90)
    done = _status(clinic, django_db_blocker, upload_id)
    assert done.status == "done", celery_worker.log()
    assert (done.files_total, done.instances_stored, done.errors) == (2, 2, 0)
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        assert Instance.objects.filter(study__patient=patient).count() == 2
        assert not done.parts.exists()
    connection.set_schema_to_public()
