"""Clinic off-boarding: export everything, a cancellable cooling-off period, then deletion.

1. The owner asks (`offboarding_request`, re-authenticated, typing the clinic's address). A task
   builds the complete export (clinics.archive) and stores it encrypted under the platform key ring
   (not the clinic's data key, which the deletion destroys), outside the clinic's storage prefix.
   The owner may download it for CLINIC_OFFBOARDING_ARCHIVE_DAYS (7), audited, and export again.
2. Until `delete_after` (CLINIC_OFFBOARDING_COOLING_OFF_DAYS, 30, after the request) the owner can
   cancel; nothing is deleted.
3. The hourly beat (`offboarding_due`) deletes due clinics (`offboarding_delete`, idempotent and
   retried): it destroys the clinic's data key (crypto-shredding), deletes its stored files, domains,
   webhook routes, verification codes and subscription (cancelled at Razorpay at once, then its
   mirror deleted), drops its schema and deletes the
   Clinic row. DocOS's own tax invoices to the clinic (PlatformInvoice) stay. The ClinicOffboarding
   row stays as the record, with a deletion certificate (PDF) that is emailed to the owner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from audit.context import AuditContext
from audit.services import audit_record
from clinics.archive import archive_build, schema_tables, storage_names, table_row_counts
from clinics.models import Clinic, ClinicOffboarding, DocumentVerification, Domain, Subscription, VendorRoute
from docos import crypto
from docos.storage import delete_stored, file_storage, read_raw

logger = logging.getLogger(__name__)
MAX_EXPORT_ATTEMPTS = 3  # starts of one export before it is marked failed (see ClinicOffboarding.export_attempts)
Status = ClinicOffboarding.Status


def cooling_off_days() -> int:
    return int(getattr(settings, "CLINIC_OFFBOARDING_COOLING_OFF_DAYS", 30))


def archive_days() -> int:
    return int(getattr(settings, "CLINIC_OFFBOARDING_ARCHIVE_DAYS", 7))


def _aad(offboarding: ClinicOffboarding, what: str) -> bytes:
    return f"docos:offboarding:v1|{offboarding.pk}|{what}".encode()


def offboarding_current(clinic: Clinic) -> ClinicOffboarding | None:
    """The clinic's open off-boarding, else its latest (cancelled) one, else None."""
    with schema_context(get_public_schema_name()):
        found = ClinicOffboarding.objects.filter(clinic=clinic, status__in=ClinicOffboarding.OPEN).first()
        return found or ClinicOffboarding.objects.filter(clinic=clinic).first()


def _queue_export(offboarding_id: str) -> None:
    from clinics.tasks import offboarding_export_task

    with schema_context(get_public_schema_name()):
        offboarding_export_task.delay(offboarding_id)


@transaction.atomic
def offboarding_request(
    *, clinic: Clinic, actor: Any, confirm_address: str, context: AuditContext | None = None
) -> ClinicOffboarding:
    """Start closing the clinic: schedule the deletion and build the export."""
    if confirm_address.strip().lower() != clinic.slug:
        raise ValidationError({"confirm_address": f"Type the clinic's address, {clinic.slug}, to confirm."})
    now = timezone.now()
    with schema_context(get_public_schema_name()):
        Clinic.objects.select_for_update().filter(pk=clinic.pk).first()  # one request at a time
        if ClinicOffboarding.objects.filter(clinic=clinic, status__in=ClinicOffboarding.OPEN).exists():
            raise ValidationError("This clinic is already being closed.")
        offboarding = ClinicOffboarding.objects.create(
            clinic=clinic,
            clinic_name=clinic.name,
            clinic_slug=clinic.slug,
            clinic_schema=clinic.schema_name,
            requested_by=actor.email,
            requested_at=now,
            delete_after=now + dt.timedelta(days=cooling_off_days()),
            step="Waiting for a worker",
        )
    audit_record(
        actor=actor,
        action="clinic.offboarding_request",
        obj=offboarding,
        context=context,
        metadata={"delete_after": offboarding.delete_after.isoformat()},
    )
    offboarding_id = str(offboarding.pk)
    transaction.on_commit(lambda: _queue_export(offboarding_id))
    return offboarding


def _open_for(clinic: Clinic, statuses: tuple[str, ...]) -> ClinicOffboarding:
    with schema_context(get_public_schema_name()):
        found = ClinicOffboarding.objects.select_for_update().filter(clinic=clinic, status__in=statuses).first()
    if found is None:
        raise ValidationError("There is nothing to do: the clinic is not being closed, or its deletion has started.")
    return found


@transaction.atomic
def offboarding_cancel(*, clinic: Clinic, actor: Any, context: AuditContext | None = None) -> ClinicOffboarding:
    """Withdraw the request before the deletion starts; the export is deleted."""
    offboarding = _open_for(clinic, (Status.EXPORTING, Status.READY, Status.FAILED))
    archive = offboarding.archive_name
    with schema_context(get_public_schema_name()):
        offboarding.status = Status.CANCELLED
        offboarding.cancelled_at = timezone.now()
        offboarding.archive_name = ""
        offboarding.save(update_fields=["status", "cancelled_at", "archive_name"])
    audit_record(actor=actor, action="clinic.offboarding_cancel", obj=offboarding, context=context)
    if archive:
        transaction.on_commit(lambda: delete_stored(archive), robust=True)
    return offboarding


@transaction.atomic
def offboarding_export_again(*, clinic: Clinic, actor: Any, context: AuditContext | None = None) -> ClinicOffboarding:
    """Build a fresh export (the clinic kept working, or the last one failed or expired)."""
    offboarding = _open_for(clinic, (Status.READY, Status.FAILED))
    with schema_context(get_public_schema_name()):
        offboarding.status = Status.EXPORTING
        offboarding.progress = 0
        offboarding.step = "Waiting for a worker"
        offboarding.error = ""
        offboarding.export_attempts = 0
        offboarding.save(update_fields=["status", "progress", "step", "error", "export_attempts"])
    audit_record(actor=actor, action="clinic.offboarding_export_again", obj=offboarding, context=context)
    offboarding_id = str(offboarding.pk)
    transaction.on_commit(lambda: _queue_export(offboarding_id))
    return offboarding


# --- the export (a task) --------------------------------------------------------------------------


def offboarding_export(*, offboarding_id: str) -> str:
    """Build and store the export. Idempotent: returns at once unless the off-boarding is exporting."""
    with schema_context(get_public_schema_name()):
        offboarding = ClinicOffboarding.objects.select_related("clinic").filter(pk=offboarding_id).first()
        if offboarding is None or offboarding.status != Status.EXPORTING or offboarding.clinic is None:
            return "skipped"
        clinic = offboarding.clinic
        ClinicOffboarding.objects.filter(pk=offboarding.pk).update(export_attempts=F("export_attempts") + 1)
        if offboarding.export_attempts + 1 > MAX_EXPORT_ATTEMPTS:
            ClinicOffboarding.objects.filter(pk=offboarding.pk, status=Status.EXPORTING).update(
                status=Status.FAILED,
                step="",
                error=f"The export stopped {MAX_EXPORT_ATTEMPTS} times without finishing (the worker was stopped, "
                "e.g. for lack of memory). DocOS support has been alerted; try again later.",
            )
            logger.error(
                "clinic export abandoned after repeated worker deaths", extra={"offboarding": str(offboarding.pk)}
            )
            return "failed"

        def progress(percent: int, step: str) -> None:
            with schema_context(get_public_schema_name()):
                ClinicOffboarding.objects.filter(pk=offboarding.pk, status=Status.EXPORTING).update(
                    progress=max(1, min(percent, 99)), step=step[:120]
                )

        progress(1, "Starting")
        try:
            with tempfile.TemporaryFile() as out:
                built = archive_build(clinic, out, progress=progress)
                data = out.read()
            progress(95, "Encrypting the archive")
            now = timezone.now()
            name = f"offboarding/{offboarding.pk}/export-{now:%Y%m%d%H%M%S}.zip.enc"
            blob = crypto.key_ring().encrypt(data, _aad(offboarding, name))
            saved = file_storage().save(name, ContentFile(blob))
            if saved != name:
                delete_stored(saved)
                raise crypto.CryptoError("Storage renamed the archive; refusing an unbindable name.")
        except Exception:
            logger.exception("clinic export failed")
            ClinicOffboarding.objects.filter(pk=offboarding.pk, status=Status.EXPORTING).update(
                status=Status.FAILED, error="The export could not be built; try again.", step=""
            )
            return "failed"
        previous = offboarding.archive_name
        updated = ClinicOffboarding.objects.filter(pk=offboarding.pk, status=Status.EXPORTING).update(
            status=Status.READY,
            progress=100,
            step="Ready",
            archive_name=name,
            archive_sha256=built.sha256,
            archive_size=built.size,
            archive_ready_at=now,
            archive_expires_at=now + dt.timedelta(days=archive_days()),
        )
    if not updated:  # cancelled meanwhile
        delete_stored(name)
        return "cancelled"
    if previous and previous != name:
        delete_stored(previous)
    with schema_context(clinic.schema_name):
        audit_record(
            actor=None,
            action="clinic.offboarding_export_ready",
            obj=offboarding,
            metadata={"tables": len(built.tables), "files": built.files, "unreadable": built.unreadable},
        )
    return "ready"


def offboarding_archive(offboarding: ClinicOffboarding) -> bytes:
    """The export ZIP, decrypted and checked against its recorded SHA-256 (raises CryptoError)."""
    data = crypto.key_ring().decrypt(read_raw(offboarding.archive_name), _aad(offboarding, offboarding.archive_name))
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), offboarding.archive_sha256):
        raise crypto.DecryptionError("The stored export is not the one that was built.")
    return data


def offboarding_download(
    *, clinic: Clinic, actor: Any, context: AuditContext | None = None
) -> tuple[ClinicOffboarding, bytes]:
    """The export for the owner while it is available (else ValidationError); audited."""
    offboarding = offboarding_current(clinic)
    if offboarding is None or not offboarding.archive_available:
        raise ValidationError("No export is available to download.")
    data = offboarding_archive(offboarding)
    audit_record(
        actor=actor,
        action="clinic.offboarding_download",
        obj=offboarding,
        context=context,
        metadata={"sha256": offboarding.archive_sha256},
    )
    return offboarding, data


# --- deletion (hourly beat) ---------------------------------------------------------------------


def offboarding_due_ids(now: dt.datetime | None = None) -> list[str]:
    """Off-boardings whose deletion is due, or started and unfinished, or whose certificate was not sent."""
    now = now or timezone.now()
    with schema_context(get_public_schema_name()):
        from django.db.models import Q

        ids = ClinicOffboarding.objects.filter(
            Q(status=Status.READY, delete_after__lte=now)
            | Q(status=Status.DELETING)
            | Q(status=Status.DELETED, certificate_emailed_at__isnull=True)
        ).values_list("pk", flat=True)
        return [str(pk) for pk in ids]


def offboarding_expire_archives(now: dt.datetime | None = None) -> int:
    """Delete stored exports past their download window; returns how many."""
    now = now or timezone.now()
    with schema_context(get_public_schema_name()):
        expired = list(ClinicOffboarding.objects.filter(archive_expires_at__lte=now).exclude(archive_name=""))
        for offboarding in expired:
            delete_stored(offboarding.archive_name)
            # Only the name deleted: an "Export again" that finished meanwhile keeps its fresh file.
            ClinicOffboarding.objects.filter(pk=offboarding.pk, archive_name=offboarding.archive_name).update(
                archive_name=""
            )
    return len(expired)


def _cancel_subscription(clinic: Clinic, summary: dict[str, Any]) -> None:
    """Stop DocOS's Razorpay subscription now, so a deleted clinic is never charged again. A
    transient vendor failure raises (the task retries); a permanent one is recorded and passed."""
    from clinics.subscriptions import FINAL, subscription_cancel
    from docos.webhooks import VendorError

    for subscription in Subscription.objects.filter(clinic=clinic):
        if not subscription.razorpay_subscription_id or subscription.status in FINAL:
            continue
        try:
            subscription_cancel(subscription=subscription, actor=None, at_cycle_end=False)
        except VendorError as exc:
            if not exc.permanent:
                raise
            logger.warning("cancelling a deleted clinic's subscription failed: %s", exc.code)
            summary["subscription_cancel_failed"] = exc.code
        else:
            summary["subscription_cancelled"] = True


def _drop_clinic(clinic: Clinic, summary: dict[str, Any]) -> None:
    schema = clinic.schema_name
    _cancel_subscription(clinic, summary)
    if clinic.wrapped_data_key is not None:
        from clinics.services import clinic_destroy_data_key

        clinic_destroy_data_key(clinic=clinic)
    summary["data_key_destroyed_at"] = (clinic.data_key_destroyed_at or timezone.now()).isoformat()
    if schema_exists(schema):
        counts = table_row_counts(schema)
        summary["tables"] = len(counts)
        summary["rows"] = sum(counts.values())
    names = storage_names(schema)
    for name in names:
        delete_stored(name)
    summary["files"] = summary.get("files", 0) + len(names)
    if clinic.logo:
        clinic.logo.storage.delete(str(clinic.logo.name))
    with transaction.atomic():
        summary["domains"] = Domain.objects.filter(tenant=clinic).delete()[0]
        summary["webhook_routes"] = VendorRoute.objects.filter(clinic=clinic).delete()[0]
        summary["verification_codes"] = DocumentVerification.objects.filter(clinic=clinic).delete()[0]
        # The subscription mirror and its payments; DocOS's tax invoices stay (PlatformInvoice: SET_NULL).
        summary["subscriptions"] = Subscription.objects.filter(clinic=clinic).count()
        Subscription.objects.filter(clinic=clinic).delete()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending on the tables
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema)} CASCADE")
        Clinic.objects.filter(pk=clinic.pk).delete()  # the queryset delete: no second DROP SCHEMA
    crypto.forget_clinic_key(schema)


def deletion_lock_key(offboarding_id: str) -> str:
    return f"clinics.offboarding_delete:{offboarding_id}"


def offboarding_delete(*, offboarding_id: str, now: dt.datetime | None = None) -> str:
    """Delete a due clinic and issue the certificate. Idempotent: each step checks what is done.
    One run at a time per off-boarding (the beat and Celery's retries may both queue one): a run
    that finds another at work returns "busy"."""
    key = deletion_lock_key(offboarding_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
        (locked,) = cursor.fetchone()
    if not locked:
        return "busy"
    try:
        return _offboarding_delete(offboarding_id=offboarding_id, now=now)
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
        except DatabaseError:  # an aborted outer transaction: the lock goes with the connection
            logger.warning("could not release the off-boarding deletion lock")


def _offboarding_delete(*, offboarding_id: str, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    with schema_context(get_public_schema_name()):
        offboarding = ClinicOffboarding.objects.filter(pk=offboarding_id).first()
        if offboarding is None:
            return "missing"
        if offboarding.status == Status.READY and offboarding.delete_after <= now:
            started = ClinicOffboarding.objects.filter(pk=offboarding.pk, status=Status.READY).update(
                status=Status.DELETING, deletion_started_at=now
            )
            if not started:
                return "moved on"
            offboarding.refresh_from_db()
        if offboarding.status == Status.DELETING:
            summary: dict[str, Any] = dict(offboarding.deleted or {})
            clinic = Clinic.objects.filter(pk=offboarding.clinic_id).first() if offboarding.clinic_id else None
            if clinic is not None:
                _drop_clinic(clinic, summary)
            elif (
                offboarding.clinic_schema.startswith("t_")
                and not Clinic.objects.filter(schema_name=offboarding.clinic_schema).exists()
            ):  # only ever a clinic's own schema (t_<slug>): never public or the template
                # A retry after the row went: make sure nothing is left, unless a clinic restored
                # meanwhile at the same address owns that schema now (never drop a live clinic).
                for name in storage_names(offboarding.clinic_schema):
                    delete_stored(name)
                if schema_exists(offboarding.clinic_schema):
                    with connection.cursor() as cursor:
                        qn = connection.ops.quote_name
                        cursor.execute(f"DROP SCHEMA IF EXISTS {qn(offboarding.clinic_schema)} CASCADE")
            # Every export stored for this off-boarding, also one a dead worker left unnamed.
            for name in storage_names(f"offboarding/{offboarding.pk}"):
                if name != offboarding.certificate_name:
                    delete_stored(name)
            offboarding.refresh_from_db()
            offboarding.deleted = summary
            offboarding.archive_name = ""
            offboarding.status = Status.DELETED
            offboarding.deleted_at = timezone.now()
            offboarding.save(update_fields=["deleted", "archive_name", "status", "deleted_at"])
            audit_record(
                actor=None,
                action="clinic.offboarding_deleted",
                obj=offboarding,
                metadata={"slug": offboarding.clinic_slug, **{k: v for k, v in summary.items() if k != "rows"}},
            )
        if offboarding.status != Status.DELETED:
            return "not due"
        if not offboarding.certificate_name:
            _store_certificate(offboarding)
        if offboarding.certificate_emailed_at is None:
            _email_certificate(offboarding)
    return "deleted"


def certificate_pdf(offboarding: ClinicOffboarding) -> bytes:
    from docos.pdf import Letterhead, render_pdf

    letterhead = Letterhead(name=str(settings.DOCOS_LEGAL_NAME), address=str(settings.DOCOS_ADDRESS))
    return render_pdf(
        "clinics/deletion_certificate_pdf.html",
        {"offboarding": offboarding, "deleted": offboarding.deleted or {}},
        letterhead=letterhead,
    )


def _store_certificate(offboarding: ClinicOffboarding) -> None:
    pdf = certificate_pdf(offboarding)
    name = f"offboarding/{offboarding.pk}/deletion-certificate.pdf.enc"
    if file_storage().exists(name):
        delete_stored(name)
    file_storage().save(name, ContentFile(crypto.key_ring().encrypt(pdf, _aad(offboarding, name))))
    offboarding.certificate_name = name
    offboarding.certificate_sha256 = hashlib.sha256(pdf).hexdigest()
    offboarding.save(update_fields=["certificate_name", "certificate_sha256"])


def certificate_bytes(offboarding: ClinicOffboarding) -> bytes:
    name = offboarding.certificate_name
    data = crypto.key_ring().decrypt(read_raw(name), _aad(offboarding, name))
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), offboarding.certificate_sha256):
        raise crypto.DecryptionError("The stored certificate is not the one that was issued.")
    return data


def _email_certificate(offboarding: ClinicOffboarding) -> None:
    body = render_to_string("clinics/email_deletion_certificate.txt", {"offboarding": offboarding})
    message = EmailMessage(
        subject=f"DocOS: {offboarding.clinic_name} was deleted (deletion certificate)",
        body=body,
        to=[offboarding.requested_by],
    )
    message.attach(
        f"docos-deletion-certificate-{offboarding.clinic_slug}.pdf", certificate_bytes(offboarding), "application/pdf"
    )
    message.send()
    offboarding.certificate_emailed_at = timezone.now()
    offboarding.save(update_fields=["certificate_emailed_at"])


def leftovers(schema: str) -> dict[str, int]:
    """What is left of a clinic's schema (for checks and tests): tables and stored files."""
    return {
        "tables": len(schema_tables(schema)) if schema_exists(schema) else 0,
        "files": len(storage_names(schema)),
    }
