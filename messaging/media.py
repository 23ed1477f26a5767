"""Inbound media (photos of reports, PDFs, voice notes): downloaded from WhatsApp, stored encrypted.

The webhook gives only a media id. `inbound_media_fetch` (the `messaging.media_fetch` task) asks the
Graph API for the file through messaging.whatsapp, encrypts it with the clinic's data key
(docos.storage) and records name, type, size and SHA-256 on the message. It is idempotent: only a
`pending` message is fetched, under a row lock, so a re-run or a second worker stores nothing twice.
A retryable error (network, 5xx, throttling, a download that fails its checksum) is retried by the
task with backoff; a permanent one, or too many attempts, marks the media failed with the code.
Media URLs expire after five minutes, so each attempt asks for a fresh one.

Staff download it through `inbound_media_read` (the conversation's access rules first): the bytes
are checked against the recorded SHA-256 on every read, and the download is audited.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from docos.storage import store_encrypted
from messaging import whatsapp
from messaging.models import InboundMessage, MediaStatus
from messaging.services import _credentials, whatsapp_account
from patients.files import stored_file_read

logger = logging.getLogger(__name__)

FOLDER = "whatsapp"


def _clinic() -> object:
    clinic = getattr(connection, "tenant", None)
    if clinic is None or getattr(clinic, "schema_name", "public") == "public":
        raise RuntimeError("Media are stored inside a clinic's schema")
    return clinic


def inbound_media_fetch(*, message_id: str) -> str:
    """Download and store one message's media. Returns "stored", "failed", "retry" or "skipped"."""
    with transaction.atomic():
        message = (
            InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, media_status=MediaStatus.PENDING)
            .first()
        )
        if message is None:
            return "skipped"  # stored or failed already, or another worker has it
        account = whatsapp_account()
        if account is None or not account.is_configured:
            _fail(message, "whatsapp_not_configured")
            return "failed"
        try:
            media = whatsapp.media_download(_credentials(account), message.media_id)
        except whatsapp.VendorError as error:
            if error.permanent:
                _fail(message, error.code)
                return "failed"
            message.media_error = error.code[:64]  # the last retryable error, while it waits
            message.save(update_fields=["media_error"])
            return "retry"
        # A known patient's photo or report is theirs: under their own key (erasing them shreds it).
        stored = store_encrypted(
            _clinic(),  # type: ignore[arg-type]
            data=media.data,
            folder=FOLDER,
            subject=message.contact.patient_id,
        )
        message.media_storage_name = stored.name
        message.media_sha256 = stored.sha256
        message.media_size = stored.size
        message.media_content_type = media.mime_type
        message.media_status = MediaStatus.STORED
        message.media_error = ""
        message.save()
        audit_record(
            actor=None,
            action="message.media_store",
            obj=message,
            metadata={"kind": message.kind, "content_type": media.mime_type, "size": stored.size},
        )
        return "stored"


def _fail(message: InboundMessage, code: str) -> None:
    message.media_status = MediaStatus.FAILED
    message.media_error = str(code)[:64]
    message.save(update_fields=["media_status", "media_error"])
    logger.info("whatsapp media download failed", extra={"code": code})


@transaction.atomic
def inbound_media_give_up(*, message_id: str) -> None:
    """The task ran out of attempts: the media stays unavailable, with the last error."""
    message = InboundMessage.objects.select_for_update().filter(pk=message_id, media_status=MediaStatus.PENDING).first()
    if message is not None:
        _fail(message, message.media_error or "too_many_attempts")


def inbound_media_sweep(*, stale_seconds: int = 600, limit: int = 200) -> int:
    """Media still pending long after they arrived (a lost enqueue): enqueue them again. Returns how many."""
    import datetime as dt

    from django.utils import timezone

    since = timezone.now() - dt.timedelta(seconds=stale_seconds)
    ids = [
        str(pk)
        for pk in InboundMessage.objects.filter(media_status=MediaStatus.PENDING, received_at__lt=since)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    ]
    for pk in ids:
        inbound_media_enqueue(pk)
    return len(ids)


def inbound_media_enqueue(message_id: str) -> None:
    from messaging.tasks import media_fetch_task

    try:
        media_fetch_task.apply_async(args=[message_id])
    except Exception:  # the broker is down: the sweeper finds the message still pending
        logger.warning("media fetch enqueue failed; the sweeper will retry", exc_info=True)


def inbound_media_read(*, message: InboundMessage, actor: User, context: AuditContext | None = None) -> bytes:
    """The decrypted media of `message` (already through selectors.inbound_message_access), checked
    against its SHA-256; FileUnavailable (docos.storage) when it cannot be given back. Audited."""
    data = stored_file_read(
        clinic=_clinic(),  # type: ignore[arg-type]
        name=message.media_storage_name,
        sha256=message.media_sha256,
        obj=message,
        location_id=None,
        actor=actor,
        context=context,
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="message.media_download",
            obj=message,
            context=context,
            metadata={"content_type": message.media_content_type, "size": message.media_size},
        )
    return data


def download_name(message: InboundMessage) -> str:
    import mimetypes

    name = str(message.media_filename or "").strip().replace("/", "_").replace("\\", "_")
    if name:
        return name[:120]
    extension = mimetypes.guess_extension(message.media_content_type or "") or ""
    return f"whatsapp-{message.kind}-{message.sent_at:%Y%m%d-%H%M}{extension}"
