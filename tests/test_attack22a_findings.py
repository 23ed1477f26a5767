"""Findings of an outsider's attack on clinic off-boarding, the restore (`clinic_import`) and the
platform console. One test per finding; each failed before its fix."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
import time_machine
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from clinics.archive import ARCHIVE_FORMAT, ARCHIVE_VERSION, ArchiveInvalid, archive_import, storage_names
from clinics.models import Clinic, ClinicOffboarding
from clinics.offboarding import offboarding_delete
from clinics.services import clinic_create
from docos.storage import store_encrypted
from tests.clinics.offboarding_helpers import remove_files

NOW = dt.datetime(2026, 12, 9, 4, 30, tzinfo=dt.UTC)
SLUG = "nashik-eye"
RESTORED = "nashik-eye-restored"


def _manifest(files: dict[str, bytes], tables: dict[str, Any] | None = None, **sizes: int) -> dict[str, Any]:
    return {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "created_at": NOW.isoformat(),
        "clinic": {
            "slug": SLUG,
            "schema": "t_nashik_eye",
            "name": "Nashik Eye Care",
            "contact_email": "dr.joshi@nashikeye.example.in",
            "gstin": "",
            "billing_address": "4 College Road, Nashik 422005",
            "billing_state": "Maharashtra",
            "timezone": "Asia/Kolkata",
            "default_language": "en-in",
            "idle_timeout_minutes": 15,
            "require_2fa_for_admins": False,
        },
        "tables": {name: {"rows": len(payload["rows"]), "model": None} for name, payload in (tables or {}).items()},
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": sizes.get("size", len(data)), "subject": None}
            for name, data in files.items()
        },
        "unreadable_files": [],
        "patient_sections": [],
    }


def _zip(
    files: dict[str, bytes], tables: dict[str, Any] | None = None, manifest: dict[str, Any] | None = None
) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest or _manifest(files, tables)))
        for name, data in files.items():
            zf.writestr(f"files/{name}", data)
        for name, payload in (tables or {}).items():
            zf.writestr(f"tables/{name}.json", json.dumps(payload))
    out.seek(0)
    return out


@pytest.fixture
def restore_target(db, seeded_clinics):
    yield
    connection.set_schema_to_public()
    remove_files("t_" + RESTORED.replace("-", "_"))


def test_a_retried_deletion_never_drops_a_live_clinic_that_reuses_the_schema(db, seeded_clinics):
    """An off-boarding left `deleting` after its Clinic row went (a crash or a storage error before
    the status was saved) is finished by the hourly beat. If meanwhile a clinic was restored at the
    same address (same schema name), the retry must not drop that live clinic's schema or files:
    it only removes what no clinic owns."""
    with time_machine.travel(NOW, tick=False):
        created = clinic_create(
            slug=SLUG,
            name="Nashik Eye Care",
            owner_email="dr.joshi@nashikeye.example.in",
            owner_name="Dr. Meera Joshi",
            owner_password="correct-horse-battery-42",
            billing_address="4 College Road, Nashik 422005",
            billing_state="Maharashtra",
        )
        live = created.clinic
        connection.set_schema_to_public()
        stuck = ClinicOffboarding.objects.create(
            clinic=None,
            clinic_name="Nashik Eye Care",
            clinic_slug=SLUG,
            clinic_schema=live.schema_name,
            requested_by="dr.joshi@nashikeye.example.in",
            requested_at=NOW - dt.timedelta(days=31),
            delete_after=NOW - dt.timedelta(days=1),
            status=ClinicOffboarding.Status.DELETING,
            deletion_started_at=NOW - dt.timedelta(hours=2),
        )
        stored = store_encrypted(live, data=b"Letterhead of the restored clinic\n", folder="letters")
        try:
            offboarding_delete(offboarding_id=str(stuck.pk))
            connection.set_schema_to_public()
            assert schema_exists(live.schema_name)
            assert stored.name in storage_names(live.schema_name)
            assert Clinic.objects.filter(pk=live.pk).exists()
        finally:
            connection.set_schema_to_public()
            remove_files(live.schema_name)


def test_an_import_refuses_file_names_that_climb_out_of_the_clinic_prefix(restore_target):
    """A crafted export whose manifest names a file `../t_alpha/...` (or an absolute path) is refused
    as an invalid archive before any clinic is created: the importer checks the names itself instead
    of relying on the storage backend to notice the traversal (and the command reports it cleanly)."""
    for evil in ("../t_alpha/documents/planted.pdf.enc", "/etc/cron.d/planted", "documents/./../../x.enc"):
        with pytest.raises(ArchiveInvalid, match="file name"):
            archive_import(_zip({evil: b"%PDF-1.4 planted\n"}), slug=RESTORED)
        connection.set_schema_to_public()
        assert not Clinic.objects.filter(slug=RESTORED).exists()
        assert not schema_exists("t_" + RESTORED.replace("-", "_"))


def test_an_import_refuses_an_oversized_member_without_decompressing_it(restore_target, monkeypatch):
    """A zip bomb (a member far larger than the manifest's size for it) is refused from the ZIP's
    directory, before the member is decompressed into memory."""
    bomb = bytes(32 * 1024 * 1024)
    archive = _zip({"documents/report.pdf": bomb}, manifest=_manifest({"documents/report.pdf": bomb}, size=1024))
    largest: list[int] = []
    real_read = zipfile.ZipFile.read

    def recording_read(self: zipfile.ZipFile, name: Any, pwd: Any = None) -> bytes:
        data = real_read(self, name, pwd)
        largest.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipFile, "read", recording_read)
    real_open = zipfile.ZipFile.open

    def recording_open(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, name, *args, **kwargs)
        real_handle_read = handle.read

        def read(n: int = -1) -> bytes:
            data = real_handle_read(n)
            largest.append(len(data))
            return data

        handle.read = read  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    with pytest.raises(ArchiveInvalid, match="size"):
        archive_import(archive, slug=RESTORED)
    assert max(largest) < 1024 * 1024
    connection.set_schema_to_public()
    assert not Clinic.objects.filter(slug=RESTORED).exists()


def test_an_import_refuses_hidden_platform_staff_rows(restore_target):
    """A tampered export that marks a clinic user as platform staff would restore an account the
    staff directory hides (it lists is_platform_staff=False only) but that signs in to the clinic:
    a backdoor the owner cannot see or deactivate. DocOS never exports such a row, so the import
    refuses it."""
    import uuid

    from accounts.models import User

    values = {
        "id": str(uuid.uuid4()),
        "password": "pbkdf2_sha256$870000$salt$hash",
        "email": "support.desk@nashikeye.example.in",
        "full_name": "Support Desk",
        "is_platform_staff": True,
        "date_joined": NOW.isoformat(),
    }
    columns, row = [], []
    for f in User._meta.local_concrete_fields:
        columns.append(f.attname)
        row.append(values.get(f.attname, f.get_default()))
    tables = {"accounts_user": {"columns": columns, "rows": [row]}}
    with pytest.raises(ArchiveInvalid, match="platform staff"):
        archive_import(_zip({}, tables=tables), slug=RESTORED)
    connection.set_schema_to_public()
    assert not Clinic.objects.filter(slug=RESTORED).exists()


def test_the_export_leaves_out_the_clinics_vendor_secrets(clinic_a, tmp_path):
    """The export ZIP (downloaded by the owner while the clinic still runs, kept on laptops and in
    mailboxes) must not carry the clinic's vendor credentials in plaintext: the WhatsApp access token
    and the Razorpay key secret and webhook secrets would let whoever holds the ZIP message patients
    as the clinic, refund payments or forge "payment captured" webhooks. Like the authenticator
    secrets, they are exported empty and set up again after a restore; the rest of the rows stays."""
    from billing.models import RazorpayAccount
    from clinics.archive import archive_build
    from messaging.models import WhatsAppAccount

    secrets = {
        "whatsapp": "EAAG-wa-token-alpha-7f3c9e",
        "key": "rzp-key-secret-alpha-51d2",
        "hook": "rzp-webhook-secret-alpha-90ab",
        "old": "rzp-old-webhook-secret-alpha-77cd",
    }
    with tenant_context(clinic_a.clinic):
        WhatsAppAccount.objects.update_or_create(
            slot=1,
            defaults={"phone_number_id": "109876543210", "display_number": "+91 98220 11223"}
            | {"access_token": secrets["whatsapp"]},
        )
        RazorpayAccount.objects.update_or_create(
            slot=1,
            defaults={
                "key_id": "rzp_live_Alpha123",
                "key_secret": secrets["key"],
                "webhook_secret": secrets["hook"],
                "previous_webhook_secret": secrets["old"],
                "route_key": "alpha-route-attack22a",
            },
        )
    connection.set_schema_to_public()
    with time_machine.travel(NOW, tick=False), (tmp_path / "export.zip").open("w+b") as out:
        archive_build(clinic_a.clinic, out)
        out.seek(0)
        with zipfile.ZipFile(out) as zf:
            everything = b"".join(zf.read(name) for name in zf.namelist())
            rows = json.loads(zf.read("tables/billing_razorpayaccount.json"))
    connection.set_schema_to_public()
    for secret in secrets.values():
        assert secret.encode() not in everything
    assert rows["rows"] and "rzp_live_Alpha123" in rows["rows"][0]


def test_resetting_a_platform_operators_totp_ends_their_sessions(db, clock):
    """`platform_staff_create --reset-totp` is run when an operator's authenticator is lost or
    compromised; a session opened with the old second factor must end then, as it does when the
    password is replaced. Otherwise whoever signed in with the stolen factor keeps the console."""
    from accounts.services import platform_staff_save
    from tests.clinics.platform_helpers import PLATFORM_PASSWORD, PLATFORM_TOTP, public_client

    connection.set_schema_to_public()
    user, _, _ = platform_staff_save(
        email="ops.attack@docos.test", password=PLATFORM_PASSWORD, full_name="Kavya Iyer", totp_secret=PLATFORM_TOTP
    )
    client = public_client(user)
    assert client.get("/platform/plans/").status_code == 200
    platform_staff_save(email="ops.attack@docos.test", password=None, reset_totp=True)
    response = client.get("/platform/plans/")
    assert response.status_code == 302 and response["Location"].startswith("/platform/login/")


def test_expiring_an_old_export_never_forgets_a_fresh_one(db, seeded_clinics, monkeypatch):
    """The nightly expiry reads the off-boardings whose export is past its window, deletes each file
    and then clears the row's archive name. If "Export again" finished in between, the row names a
    fresh export: clearing it unconditionally left that file stored but unnamed, so neither the
    download, the expiry nor the deletion would ever remove it (a full decrypted copy of the clinic
    outliving its deletion). Only the name that was deleted may be cleared."""
    from clinics import offboarding as offboarding_module

    with time_machine.travel(NOW, tick=False):
        row = ClinicOffboarding.objects.create(
            clinic=None,
            clinic_name="Nashik Eye Care",
            clinic_slug=SLUG,
            clinic_schema="t_nashik_eye",
            requested_by="dr.joshi@nashikeye.example.in",
            requested_at=NOW - dt.timedelta(days=10),
            delete_after=NOW + dt.timedelta(days=20),
            status=ClinicOffboarding.Status.READY,
            archive_name="offboarding/attack22a/export-old.zip.enc",
            archive_expires_at=NOW - dt.timedelta(minutes=1),
        )
        fresh = "offboarding/attack22a/export-fresh.zip.enc"
        deleted: list[str] = []

        def delete_while_an_export_finishes(name: str) -> None:
            deleted.append(name)
            ClinicOffboarding.objects.filter(pk=row.pk).update(
                archive_name=fresh, archive_expires_at=NOW + dt.timedelta(days=7)
            )

        monkeypatch.setattr(offboarding_module, "delete_stored", delete_while_an_export_finishes)
        offboarding_module.offboarding_expire_archives()
    row.refresh_from_db()
    assert deleted == ["offboarding/attack22a/export-old.zip.enc"]
    assert row.archive_name == fresh


def test_the_deletion_removes_every_export_of_the_clinic_not_only_the_named_one(db, seeded_clinics):
    """An export stored by a worker that then died (OOM while building a big clinic in memory, a
    lost database connection before its row was updated) is left under offboarding/<id>/ with no row
    naming it, and a retry stores another. The deletion must remove every export stored for that
    off-boarding (a decrypted copy of the whole clinic), keeping only the deletion certificate."""
    from django.core.files.base import ContentFile

    from docos.storage import file_storage

    with time_machine.travel(NOW, tick=False):
        created = clinic_create(
            slug=SLUG,
            name="Nashik Eye Care",
            owner_email="dr.joshi@nashikeye.example.in",
            owner_name="Dr. Meera Joshi",
            owner_password="correct-horse-battery-42",
        )
        connection.set_schema_to_public()
        row = ClinicOffboarding.objects.create(
            clinic=created.clinic,
            clinic_name="Nashik Eye Care",
            clinic_slug=SLUG,
            clinic_schema=created.clinic.schema_name,
            requested_by="dr.joshi@nashikeye.example.in",
            requested_at=NOW - dt.timedelta(days=31),
            delete_after=NOW - dt.timedelta(hours=1),
            status=ClinicOffboarding.Status.READY,
        )
        orphan = file_storage().save(f"offboarding/{row.pk}/export-20261110043000.zip.enc", ContentFile(b"x" * 64))
        try:
            assert offboarding_delete(offboarding_id=str(row.pk)) == "deleted"
            row.refresh_from_db()
            assert storage_names(f"offboarding/{row.pk}") == [row.certificate_name]
            assert orphan != row.certificate_name
        finally:
            connection.set_schema_to_public()
            remove_files(f"offboarding/{row.pk}")
            remove_files(created.clinic.schema_name)


def test_malformed_ids_in_platform_urls_are_404_not_500(db, clock):
    """A clinic address or invoice number the console could never hold (a NUL byte, an overlong or
    odd string) is simply not found: 404, not a database error (500) on every such probe."""
    from accounts.services import platform_staff_save
    from tests.clinics.platform_helpers import PLATFORM_PASSWORD, PLATFORM_TOTP, public_client

    connection.set_schema_to_public()
    user, _, _ = platform_staff_save(
        email="ops.probe@docos.test", password=PLATFORM_PASSWORD, full_name="Rohan Menon", totp_secret=PLATFORM_TOTP
    )
    client = public_client(user)
    client.raise_request_exception = False
    for path in (
        "/platform/clinics/%00/",
        "/platform/clinics/alpha%00/",
        f"/platform/clinics/{'a' * 300}/",
        "/platform/invoices/%00.pdf",
        "/platform/invoices/DOCOS%002026.pdf",
    ):
        assert client.get(path).status_code == 404, path


def test_two_deletions_of_one_clinic_never_run_at_once(db, seeded_clinics):
    """The hourly beat queues every off-boarding still `deleting`, while a failed run is also being
    retried by Celery (up to an hour apart): two runs of the same deletion could overlap, the later
    one overwriting the record with the counts of what was left (0 domains, 0 files) and emailing
    the certificate twice. A run that finds another one at work returns "busy" and touches nothing."""
    import psycopg

    from clinics.offboarding import deletion_lock_key

    row = ClinicOffboarding.objects.create(
        clinic=None,
        clinic_name="Nashik Eye Care",
        clinic_slug=SLUG,
        clinic_schema="t_nashik_eye_gone",
        requested_by="dr.joshi@nashikeye.example.in",
        requested_at=NOW - dt.timedelta(days=31),
        delete_after=NOW - dt.timedelta(days=1),
        status=ClinicOffboarding.Status.DELETING,
        deleted={"domains": 1, "files": 3},
    )
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [deletion_lock_key(str(row.pk))])
        assert offboarding_delete(offboarding_id=str(row.pk)) == "busy"
        row.refresh_from_db()
        assert row.status == "deleting" and row.deleted == {"domains": 1, "files": 3}
    finally:
        other.close()
