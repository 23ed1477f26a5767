"""The sweeper re-queues uploads whose processing was lost and abandons uploads never finished sending."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from imaging import ingest, services
from imaging.models import Upload, UploadPart
from tests.clinical.clinical_helpers import clinic_files, make_patient, staff  # noqa: F401
from tests.imaging.imaging_helpers import shipped

pytestmark = pytest.mark.usefixtures("clinic_files")
NOON = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def test_lost_processing_is_queued_again_and_stale_receiving_uploads_are_abandoned(clinic_a, monkeypatch):
    queued: list[str] = []
    monkeypatch.setattr("imaging.tasks.ingest_upload_task.delay", lambda upload_id: queued.append(upload_id))
    patient = make_patient(clinic_a)
    doctor = staff(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic), time_machine.travel(NOON, tick=False):
        waiting = services.upload_start(patient=patient, actor=doctor, files_expected=1)
        services.upload_chunk_receive(
            upload=waiting, actor=doctor, file_index=0, chunk_index=0, chunk_count=1, name="a", data=b"a"
        )
        services.upload_submit(upload=waiting, actor=doctor, enqueue=False)
        stale = services.upload_start(patient=patient, actor=doctor, files_expected=2)
        services.upload_chunk_receive(
            upload=stale,
            actor=doctor,
            file_index=0,
            chunk_index=0,
            chunk_count=1,
            name="b",
            data=shipped("CT_small.dcm"),
        )
        assert ingest.upload_sweep() == {"requeued": 0, "abandoned": 0}  # nothing is late yet

    with tenant_context(clinic_a.clinic), time_machine.travel(NOON + dt.timedelta(minutes=6), tick=False):
        assert ingest.upload_sweep() == {"requeued": 1, "abandoned": 0}
        assert queued == [str(waiting.pk)]

    with tenant_context(clinic_a.clinic), time_machine.travel(NOON + dt.timedelta(hours=25), tick=False):
        result = ingest.upload_sweep()
        assert result["abandoned"] == 1
        stale.refresh_from_db()
        assert stale.status == Upload.Status.CANCELLED and "abandoned" in stale.failure
        assert stale.finished_at == timezone.now()
        assert not UploadPart.objects.filter(upload=stale).exists()
        assert AuditEvent.objects.filter(action="imaging.upload.abandon", object_id=str(stale.pk)).exists()
