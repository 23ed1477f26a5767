"""Access/portability exports (ZIP: summary PDF, JSON of every record, a FHIR R4 document Bundle
validated with fhir.resources, every file decrypted), their expiring, audited download, and the
workbench's isolation: another clinic's or branch's request and a missing capability get nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from django.utils import timezone
from django_tenants.utils import tenant_context
from fhir.resources.R4B.bundle import Bundle

from accounts.models import User
from audit.models import AuditEvent
from privacy.export import export_build
from privacy.models import PatientExport, RightsRequest
from tests.appointments.helpers import make_patient
from tests.privacy.helpers import REPORT, owner, request_for, upload, visit


def _ready_export(seeded, client_for=None):
    patient = make_patient(seeded, date_of_birth=dt.date(1988, 4, 2), abha_number="12-3456-7890-1234")
    with tenant_context(seeded.clinic):
        visit(seeded, patient, timezone.now() - dt.timedelta(days=30))
        upload(seeded, patient)
        request = request_for(seeded, patient, RightsRequest.Kind.ACCESS)
        export = PatientExport.objects.create(request=request, created_by=owner(seeded))
        assert export_build(export_id=str(export.pk)) == "ready"
        export.refresh_from_db()
    return request, export


def test_access_export_holds_pdf_json_valid_fhir_and_decrypted_files(clinic_a, client_for):
    _request, export = _ready_export(clinic_a)
    response = client_for(clinic_a, "owner").get(f"/settings/privacy/exports/{export.pk}/download/")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert archive.read("summary.pdf").startswith(b"%PDF")
    records = json.loads(archive.read("records.json"))
    assert {"patients", "clinical", "documents", "appointments", "messaging", "billing"} <= set(records)
    assert records["clinical"]["visits"][0]["chief_complaint"] == "Fever for 3 days"
    bundle = json.loads(archive.read("fhir-bundle.json"))
    Bundle.model_validate(bundle)  # raises on a structurally invalid bundle
    assert bundle["type"] == "document"
    types = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert types[0] == "Composition"
    assert {"Patient", "Encounter", "Observation", "Condition", "Procedure", "DocumentReference"} <= set(types)
    uploads = [name for name in names if name.startswith("files/documents/uploads/")]
    assert len(uploads) == 1 and archive.read(uploads[0]) == REPORT
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="privacy.export_download", object_id=str(export.pk)).count() == 1


def test_an_expired_download_link_gives_404(clinic_a, client_for):
    _request, export = _ready_export(clinic_a)
    with tenant_context(clinic_a.clinic):
        PatientExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client_for(clinic_a, "owner").get(f"/settings/privacy/exports/{export.pk}/download/")
    assert response.status_code == 404


def test_the_link_expires_after_seven_days(clinic_a):
    _, export = _ready_export(clinic_a)
    assert dt.timedelta(days=6, hours=23) < export.expires_at - export.finished_at <= dt.timedelta(days=7)


def test_another_clinic_cannot_open_a_request(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.ACCESS)
    assert client_for(clinic_a, "owner").get(f"/settings/privacy/{request.pk}/").status_code == 200
    assert client_for(clinic_b, "owner").get(f"/settings/privacy/{request.pk}/").status_code == 404


def test_another_branch_cannot_open_a_request(clinic_a, client_for):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.ACCESS)
        branch_owner = User.objects.create_user(
            "branch-owner@alpha.example.in", "correct-horse-battery-42", full_name="Branch Owner",
            role=owner(clinic_a).role,
        )  # fmt: skip
        branch_owner.locations.set([clinic_a.locations[1]])
    client = client_for(clinic_a)
    client.login_as(branch_owner)
    assert client.get(f"/settings/privacy/{request.pk}/").status_code == 404
    assert client.post(f"/settings/privacy/{request.pk}/erase/").status_code == 404


def test_staff_without_privacy_manage_are_refused(clinic_a, client_for):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.ACCESS)
    for role in ("doctor", "administrator", "front_desk"):
        client = client_for(clinic_a, role)
        assert client.get("/settings/privacy/").status_code in (403, 404)
        assert client.get(f"/settings/privacy/{request.pk}/").status_code in (403, 404)


def test_overdue_request_is_highlighted_on_the_dashboard(clinic_a, client_for):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.ACCESS)
        RightsRequest.objects.filter(pk=request.pk).update(acknowledge_due_at=timezone.now() - dt.timedelta(days=1))
    page = client_for(clinic_a, "owner").get("/").content.decode()
    assert "Privacy requests" in page and f"{request.reference} (" in page


def test_desk_records_a_request_and_the_page_shows_an_archive_being_built(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "owner")
    response = client.post(
        "/settings/privacy/new/",
        {
            "kind": "access", "patient_mrn": patient.mrn.lower(), "location": clinic_a.locations[0].pk,
            "requester_name": "Asha Verma", "requester_relation": "self", "verification": "otp_phone",
        },
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(clinic_a.clinic):
        request = RightsRequest.objects.get(patient=patient)
        assert request.reference.startswith("PR-")
        assert request.acknowledge_due_at - request.received_at == dt.timedelta(days=7)
        PatientExport.objects.create(request=request, status="running", progress=42, step="Adding file 2 of 5")
    page = client.get(response["Location"]).content.decode()
    assert 'value="42"' in page and "Adding file 2 of 5" in page and 'http-equiv="refresh"' in page


def test_a_request_needs_a_patient_the_user_may_open(clinic_a, client_for):
    page = client_for(clinic_a, "owner").post(
        "/settings/privacy/new/",
        {
            "kind": "erasure", "patient_mrn": "NOPE-000001", "location": clinic_a.locations[0].pk,
            "requester_name": "Asha Verma", "requester_relation": "self", "verification": "otp_phone",
        },
    )  # fmt: skip
    assert page.status_code == 200 and "No patient with this MRN" in page.content.decode()


def test_an_expired_archive_file_is_deleted_by_the_retention_run_and_its_record_kept(
    clinic_a, django_capture_on_commit_callbacks
):
    from audit.retention import retention_run
    from docos.storage import file_storage as storage

    _request, export = _ready_export(clinic_a)
    name = export.storage_name
    assert storage().exists(name)
    with tenant_context(clinic_a.clinic):
        retention_run(now=export.expires_at - dt.timedelta(minutes=1))
        assert storage().exists(name)  # not yet expired: kept
        with django_capture_on_commit_callbacks(execute=True):
            retention_run(now=export.expires_at + dt.timedelta(minutes=1))
        export.refresh_from_db()
    assert export.storage_name == "" and export.sha256  # the row stays as the request's history
    assert not storage().exists(name)


def test_refusing_a_request_withdraws_an_archive_built_for_it(clinic_a, client_for):
    """A refused request's archive stayed downloadable until its link expired."""
    from privacy.services import rights_request_close

    request, export = _ready_export(clinic_a)
    with tenant_context(clinic_a.clinic):
        rights_request_close(
            request=request, actor=owner(clinic_a), outcome=RightsRequest.Outcome.REFUSED, note="Identity not proven."
        )
    response = client_for(clinic_a, "owner").get(f"/settings/privacy/exports/{export.pk}/download/")
    assert response.status_code == 404
