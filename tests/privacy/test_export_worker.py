"""An access request's archive built end to end by a real Celery worker process (tests/celery_worker.py):
the console's service queues the task on the maintenance queue after commit, the worker builds the
ZIP in the clinic's schema with progress, and the archive holds the patient's decrypted file."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from docos.storage import read_verified
from documents.services import document_upload
from patients.models import Patient
from privacy.models import PatientExport, RightsRequest
from privacy.services import export_start, rights_request_create
from tests.celery_worker import committed_row, in_committed_clinic

REPORT = b"%PDF-1.4\n% Thyroid profile of Lakshmi Iyer\n%%EOF\n"


def _start(clinic, django_db_blocker) -> str:
    with in_committed_clinic(clinic, django_db_blocker):
        owner = User.objects.get(pk=clinic.owner.pk)
        patient = Patient.objects.create(
            mrn="WRK-0001",
            given_name="Lakshmi",
            family_name="Iyer",
            sex="F",
            phone="+919845011223",
            date_of_birth=dt.date(1979, 8, 14),
            registered_location=clinic.locations[0],
        )
        document_upload(
            patient=patient,
            actor=owner,
            file=SimpleUploadedFile("tft.pdf", REPORT, content_type="application/pdf"),
            title="Thyroid profile",
            location=clinic.locations[0],
        )
        request = rights_request_create(
            actor=owner,
            kind=RightsRequest.Kind.ACCESS,
            location=clinic.locations[0],
            patient=patient,
            requester_name="Lakshmi Iyer",
            verification=RightsRequest.Verification.IN_PERSON_ID,
        )
        export = export_start(request=request, actor=owner)  # queues privacy.export_build on commit
    return str(export.pk)


def _export(clinic, django_db_blocker, export_id: str) -> PatientExport:
    return committed_row(clinic, django_db_blocker, PatientExport, export_id)


def test_an_access_export_is_built_by_a_real_worker(celery_worker, throwaway_clinic, django_db_blocker):
    export_id = _start(throwaway_clinic, django_db_blocker)
    celery_worker.wait_until(
        lambda: _export(throwaway_clinic, django_db_blocker, export_id).status in ("ready", "failed"), timeout=120
    )
    export = _export(throwaway_clinic, django_db_blocker, export_id)
    assert export.status == "ready", celery_worker.log()
    assert export.progress == 100 and export.file_count == 1 and export.expires_at > timezone.now()
    with in_committed_clinic(throwaway_clinic, django_db_blocker):
        data = read_verified(throwaway_clinic.clinic, name=export.storage_name, sha256=export.sha256)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert json.loads(archive.read("records.json"))["patients"]["patient"][0]["mrn"] == "WRK-0001"
    assert [archive.read(n) for n in archive.namelist() if n.startswith("files/documents/")] == [REPORT]
