"""The restore drill: a clinic with patients, visits and documents is exported, deleted after the
cooling-off period and imported into a new clinic; row counts and file hashes are equal, nothing of
the deleted clinic is left, and DocOS's invoices to it are kept."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from clinical.models import Visit
from clinics.archive import archive_import, storage_names, table_row_counts
from clinics.models import (
    Clinic,
    ClinicOffboarding,
    DocumentVerification,
    Domain,
    PlatformInvoice,
    Subscription,
    VendorRoute,
)
from clinics.offboarding import (
    certificate_bytes,
    leftovers,
    offboarding_archive,
    offboarding_delete,
    offboarding_export,
    offboarding_request,
)
from clinics.services import clinic_create
from docos.storage import read_verified
from documents.models import PatientDocument
from tests.clinics.offboarding_helpers import REPORT, XRAY, file_hashes, fill_clinic, remove_files

START = dt.datetime(2026, 12, 9, 4, 30, tzinfo=dt.UTC)


@pytest.fixture
def closing(db, seeded_clinics):
    created = clinic_create(
        slug="pune-heart",
        name="Pune Heart Clinic",
        owner_email="dr.kulkarni@puneheart.example.in",
        owner_name="Dr. Anand Kulkarni",
        owner_password="correct-horse-battery-42",
        billing_address="12 FC Road, Shivajinagar, Pune 411005",
        billing_state="Maharashtra",
    )
    schema = created.clinic.schema_name
    yield created
    connection.set_schema_to_public()
    for prefix in (schema, "t_pune_heart_restored", "offboarding"):
        remove_files(prefix)


def _request_and_export(created) -> ClinicOffboarding:
    with tenant_context(created.clinic):
        offboarding = offboarding_request(clinic=created.clinic, actor=created.owner, confirm_address="pune-heart")
    connection.set_schema_to_public()
    assert offboarding_export(offboarding_id=str(offboarding.pk)) == "ready"
    offboarding.refresh_from_db()
    return offboarding


def test_export_delete_import_keeps_every_row_and_file(closing, tmp_path):
    with time_machine.travel(START, tick=False):
        made = fill_clinic(closing.clinic, closing.owner)
        connection.set_schema_to_public()
        hashes_before = file_hashes(closing.clinic)
        with tenant_context(closing.clinic):
            offboarding = offboarding_request(clinic=closing.clinic, actor=closing.owner, confirm_address="Pune-Heart ")
        connection.set_schema_to_public()
        counts_before = table_row_counts(closing.clinic.schema_name)
        assert offboarding_export(offboarding_id=str(offboarding.pk)) == "ready"
    offboarding.refresh_from_db()
    assert offboarding.status == "ready" and offboarding.progress == 100
    assert offboarding.delete_after == START + dt.timedelta(days=30)
    assert offboarding.archive_expires_at == START + dt.timedelta(days=7)
    assert offboarding.archive_name.startswith("offboarding/")  # outside the clinic's prefix
    data = offboarding_archive(offboarding)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert {t: m["rows"] for t, m in manifest["tables"].items()} == counts_before
    assert {p: f["sha256"] for p, f in manifest["files"].items()} == hashes_before
    assert len(hashes_before) == 3 and manifest["unreadable_files"] == []
    patient_id = made["patients"][0]
    assert json.loads(archive.read(f"patients/{patient_id}/fhir-bundle.json"))["resourceType"] == "Bundle"
    assert b"Kulkarni" in archive.read(f"patients/{patient_id}/records.json")
    assert b"Chest tightness" in archive.read("tables/clinical_visit.csv")  # decrypted clinical text
    schema = closing.clinic.schema_name

    # Not due yet: nothing happens.
    with time_machine.travel(START + dt.timedelta(days=29), tick=False):
        assert offboarding_delete(offboarding_id=str(offboarding.pk)) == "not due"
    assert schema_exists(schema)

    with time_machine.travel(START + dt.timedelta(days=30, minutes=15), tick=False):
        assert offboarding_delete(offboarding_id=str(offboarding.pk)) == "deleted"
        assert offboarding_delete(offboarding_id=str(offboarding.pk)) == "deleted"  # idempotent
    offboarding.refresh_from_db()
    assert offboarding.status == "deleted" and offboarding.clinic_id is None
    assert offboarding.clinic_name == "Pune Heart Clinic" and offboarding.archive_name == ""
    assert offboarding.deleted["files"] == 3 and offboarding.deleted["domains"] == 1
    assert offboarding.deleted["tables"] == len(counts_before)
    # Nothing of the clinic is left: no schema, table, file, domain, route, verification code or key.
    assert not schema_exists(schema) and leftovers(schema) == {"tables": 0, "files": 0}
    assert storage_names(schema) == []
    assert not Clinic.objects.filter(slug="pune-heart").exists()
    assert not Domain.objects.filter(domain__startswith="pune-heart.").exists()
    assert not VendorRoute.objects.filter(account_id="pn-pune-heart").exists()
    assert not DocumentVerification.objects.filter(code="VPUNE-HEART").exists()
    assert not Subscription.objects.filter(pk__isnull=False, clinic__slug="pune-heart").exists()
    # ... except DocOS's tax invoice to it, which the law makes it keep.
    invoice = PlatformInvoice.objects.get(pk=made["invoice"])
    assert invoice.clinic_name == "Pune Heart Clinic" and invoice.payment_id is None
    # The certificate was stored and emailed to the owner, once.
    assert certificate_bytes(offboarding).startswith(b"%PDF")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dr.kulkarni@puneheart.example.in"]
    assert mail.outbox[0].attachments[0][2] == "application/pdf"

    # Restore into a new clinic: the same rows and the same files.
    downloaded = tmp_path / "docos-pune-heart.zip"
    downloaded.write_bytes(data)
    out = io.StringIO()
    call_command(
        "clinic_import",
        str(downloaded),
        "--slug",
        "pune-heart-restored",
        "--sha256",
        offboarding.archive_sha256,
        stdout=out,
    )
    assert "3 files" in out.getvalue()
    connection.set_schema_to_public()
    restored = Clinic.objects.get(slug="pune-heart-restored")
    assert restored.name == "Pune Heart Clinic" and restored.billing_state == "Maharashtra"
    assert table_row_counts(restored.schema_name) == counts_before
    assert file_hashes(restored) == hashes_before
    with tenant_context(restored):
        # Encrypted fields were re-encrypted under the new clinic's key and read back.
        assert [v.chief_complaint for v in Visit.objects.all()] == ["Chest tightness on climbing stairs"] * 2
        docs = list(PatientDocument.objects.order_by("patient__mrn"))
        assert [read_verified(restored, name=d.storage_name, sha256=d.sha256) for d in docs] == [REPORT, XRAY]
        assert all(d.storage_name.startswith(f"{restored.schema_name}/") for d in docs)
        # The clinic's audit chain came along intact (its MACs do not name the schema).
        from audit.chain import audit_chain_verify

        audit_chain_verify()
    connection.set_schema_to_public()


def test_an_import_with_an_altered_file_keeps_nothing(closing, tmp_path):
    fill_clinic(closing.clinic, closing.owner)
    connection.set_schema_to_public()
    offboarding = _request_and_export(closing)
    data = offboarding_archive(offboarding)
    source = zipfile.ZipFile(io.BytesIO(data))
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(altered, "w") as out:
        for item in source.infolist():
            content = source.read(item)
            if item.filename.startswith("files/documents/"):
                content = content.replace(b"Lipid", b"Sugar")
            out.writestr(item, content)
    with pytest.raises(Exception, match="SHA-256"):
        call_command("clinic_import", str(altered), "--slug", "pune-heart-restored")
    assert not Clinic.objects.filter(slug="pune-heart-restored").exists()
    assert not schema_exists("t_pune_heart_restored") and storage_names("t_pune_heart_restored") == []


def test_a_failing_import_rolls_back_the_clinic_and_its_files(closing, monkeypatch):
    fill_clinic(closing.clinic, closing.owner)
    connection.set_schema_to_public()
    offboarding = _request_and_export(closing)
    data = offboarding_archive(offboarding)
    from clinics import archive as archive_module

    real = archive_module.store_encrypted_as
    calls = []

    def fail_on_third(clinic, **kwargs):
        calls.append(kwargs["name"])
        if len(calls) == 3:
            raise OSError("bucket unavailable")
        return real(clinic, **kwargs)

    monkeypatch.setattr(archive_module, "store_encrypted_as", fail_on_third)
    with pytest.raises(OSError):
        archive_import(io.BytesIO(data), slug="pune-heart-restored")
    connection.set_schema_to_public()
    assert not Clinic.objects.filter(slug="pune-heart-restored").exists()
    assert not schema_exists("t_pune_heart_restored")
    assert storage_names("t_pune_heart_restored") == []


def test_a_cancelled_request_deletes_nothing(closing, django_capture_on_commit_callbacks):
    from clinics.offboarding import offboarding_cancel

    offboarding = _request_and_export(closing)
    archive_name = offboarding.archive_name
    with tenant_context(closing.clinic), django_capture_on_commit_callbacks(execute=True):
        offboarding_cancel(clinic=closing.clinic, actor=closing.owner)
    connection.set_schema_to_public()
    offboarding.refresh_from_db()
    assert offboarding.status == "cancelled" and offboarding.archive_name == ""
    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        assert offboarding_delete(offboarding_id=str(offboarding.pk)) == "not due"
    assert schema_exists(closing.clinic.schema_name)
    assert Clinic.objects.filter(slug="pune-heart").exists()
    assert archive_name and archive_name not in storage_names(f"offboarding/{offboarding.pk}")


def test_the_beat_deletes_exports_past_their_seven_days(closing):
    from clinics.offboarding import offboarding_due_ids, offboarding_expire_archives

    with time_machine.travel(START, tick=False):
        offboarding = _request_and_export(closing)
    name = offboarding.archive_name
    with time_machine.travel(START + dt.timedelta(days=6, hours=23), tick=False):
        assert offboarding_expire_archives() == 0 and offboarding.archive_available
        assert offboarding_due_ids() == []
    with time_machine.travel(START + dt.timedelta(days=7, minutes=1), tick=False):
        assert offboarding_expire_archives() == 1
        offboarding.refresh_from_db()
        assert offboarding.archive_name == "" and not offboarding.archive_available
    assert name not in storage_names(f"offboarding/{offboarding.pk}")
    with time_machine.travel(START + dt.timedelta(days=30, minutes=1), tick=False):
        assert offboarding_due_ids() == [str(offboarding.pk)]


def test_the_deletion_cancels_the_razorpay_subscription_at_once(closing, platform, clock):
    from types import SimpleNamespace

    from billing import fake_razorpay_subscriptions as rzp_subs
    from clinics import subscriptions
    from tests.clinics.subscription_helpers import make_plan

    subscription = subscriptions.subscription_start(
        clinic=closing.clinic, plan=make_plan(code="offboard-rzp"), seats=2, actor=closing.owner
    )
    connection.set_schema_to_public()
    rzp_subs.authenticate(platform, subscription.razorpay_subscription_id)
    assert platform.state.subscriptions[subscription.razorpay_subscription_id]["status"] != "cancelled"
    offboarding = _request_and_export(SimpleNamespace(clinic=closing.clinic, owner=closing.owner))
    later = timezone.now() + dt.timedelta(days=31)
    assert offboarding_delete(offboarding_id=str(offboarding.pk), now=later) == "deleted"
    assert platform.state.subscriptions[subscription.razorpay_subscription_id]["status"] == "cancelled"
    offboarding.refresh_from_db()
    assert offboarding.deleted["subscription_cancelled"] is True
    assert not Subscription.objects.filter(razorpay_subscription_id=subscription.razorpay_subscription_id).exists()


def test_an_export_whose_worker_keeps_dying_is_marked_failed_and_can_be_started_again(closing):
    """Celery redelivers an export whose worker was killed (acks_late): without a count, a clinic too big to
    export stayed 'exporting' for ever, 'Export again' was refused and the deletion never became due."""
    from clinics.offboarding import MAX_EXPORT_ATTEMPTS, offboarding_export_again

    with tenant_context(closing.clinic):
        offboarding = offboarding_request(clinic=closing.clinic, actor=closing.owner, confirm_address="pune-heart")
    connection.set_schema_to_public()
    # Each earlier start died before it finished (the row still says exporting).
    ClinicOffboarding.objects.filter(pk=offboarding.pk).update(export_attempts=MAX_EXPORT_ATTEMPTS)

    assert offboarding_export(offboarding_id=str(offboarding.pk)) == "failed"
    offboarding.refresh_from_db()
    assert offboarding.status == "failed" and "stopped 3 times" in offboarding.error and not offboarding.archive_name

    with tenant_context(closing.clinic):
        offboarding_export_again(clinic=closing.clinic, actor=closing.owner)
    connection.set_schema_to_public()
    offboarding.refresh_from_db()
    assert offboarding.status == "exporting" and offboarding.export_attempts == 0
    assert offboarding_export(offboarding_id=str(offboarding.pk)) == "ready"
    offboarding.refresh_from_db()
    assert offboarding.export_attempts == 1


def test_an_import_with_the_certificates_hash_refuses_any_other_zip(closing, tmp_path):
    """The manifest is not signed: rows edited with their counts kept would restore. The ZIP's own SHA-256,
    on the deletion record and certificate, pins the archive DocOS built."""
    offboarding = _request_and_export(closing)
    data = offboarding_archive(offboarding)
    source = zipfile.ZipFile(io.BytesIO(data))
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as out:
        for item in source.infolist():
            out.writestr(item, source.read(item).replace(b"Pune Heart Clinic", b"Pune Heart Klinik"))
    with pytest.raises(Exception, match="SHA-256 is not the one given"):
        call_command(
            "clinic_import", str(edited), "--slug", "pune-heart-restored", "--sha256", offboarding.archive_sha256
        )
    assert not Clinic.objects.filter(slug="pune-heart-restored").exists()
