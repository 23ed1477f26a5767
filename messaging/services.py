"""Sending WhatsApp messages through a transactional outbox, and following their status.

Every outbound message of DocOS goes through `message_send_template` (or `message_send_text` for
replies inside the 24-hour window), whatever asks for it:

1. the message is recorded first, in the caller's transaction (`INSERT ... ON CONFLICT
   (idempotency_key) DO NOTHING`): a retried task or a second caller with the same key gets the
   existing row back and nothing is sent twice. If the caller's transaction rolls back, so does the
   message; if it commits, the message is there even when Redis or every worker is down;
2. notifications need a reachable patient: a contact number (`Patient.contact_number`: the
   guardian's for minors), WhatsApp consent on record and no opt-out; otherwise the message is
   recorded as failed with the reason (`no_contact_number`, `no_whatsapp_consent`, `opted_out`);
   a clinic without a connected, switched-on number gets `whatsapp_not_configured` at once (a
   message that waited would go out late: "your appointment is in two hours" after it);
3. otherwise it is `queued`, and `messaging.outbox_dispatch` is enqueued after commit.

Dispatch (`message_dispatch`, in a worker): wait for the number's send slot (messaging.pacing),
then claim the row (queued -> sending, its own short transaction), call the Graph API outside any
transaction, then record the answer: sent with
WhatsApp's message id; back to queued with `next_attempt_at` (exponential backoff with full jitter)
after a retryable error, until WHATSAPP_MAX_ATTEMPTS; failed at once after a permanent one, with
Meta's code and title for staff. Consent is checked again at dispatch, after waiting for a consent
decision of the patient that is being written (a withdrawal in flight wins).

Crash safety, and the at-most-once choice: a worker killed before the claim (while it waits for a
send slot) leaves the row `queued`, and the sweeper enqueues it again (nothing went out). The row
is `sending` only from the claim's commit to the answer's commit, i.e. around the HTTP call: a
worker killed there leaves the row `sending`. We cannot know whether WhatsApp accepted it (the messages
endpoint has no idempotency key), so the sweeper never sends a `sending` row again: after
WHATSAPP_SENDING_STALE_SECONDS it is marked failed (`outcome_unknown`), visible to staff, who can
send again. Each request carries our message id as `biz_opaque_callback_data`; if WhatsApp did
send it, its status webhook (sent/delivered/read) finds the row by that id and corrects it. So a
message is sent at most once; a crash in that window may lose one (shown as failed), never
duplicate it. Rows still `queued` (the enqueue was lost) are simply enqueued again by the sweeper:
nothing was sent for them yet. Queued messages older than WHATSAPP_MAX_QUEUE_AGE_SECONDS expire.

Statuses reported by WhatsApp arrive through `message_receipt_record` (the webhook): stored once
per (message id, status), then applied forward only (queued < sending < sent < delivered < read;
failed from queued, sending or sent), so a late "delivered" never downgrades "read". The listener
registered for the message's `related_type` (e.g. reminders) hears every change.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from messaging import pacing, whatsapp
from messaging.models import Contact, OutboundMessage, StatusReceipt, WhatsAppAccount
from patients import consents
from patients.models import ConsentPurpose, Patient

logger = logging.getLogger(__name__)

StatusListener = Callable[[OutboundMessage], None]

NOT_CONFIGURED = "whatsapp_not_configured"
NO_CONTACT_NUMBER = "no_contact_number"
NO_CONSENT = "no_whatsapp_consent"
OPTED_OUT = "opted_out"
RESTRICTED = "patient_restricted"
OUTCOME_UNKNOWN = "outcome_unknown"
EXPIRED = "expired"
TOO_MANY_ATTEMPTS = "too_many_attempts"
DOCUMENT_UNAVAILABLE = "document_unavailable"
CONSENT_WITHDRAWN = consents.CONSENT_WITHDRAWN
GUARDIAN_CONSENT_NEEDED = consents.GUARDIAN_CONSENT_NEEDED
NO_MARKETING_CONSENT = consents.NO_MARKETING_CONSENT

# What staff read for a message that did not go out (a Meta error code reads as Meta's title).
FAILURE_SENTENCES = {
    NOT_CONFIGURED: "WhatsApp is not connected for this clinic yet (Settings → WhatsApp).",
    NO_CONTACT_NUMBER: "The patient has no WhatsApp number on record.",
    NO_CONSENT: "The patient has not agreed to WhatsApp messages.",
    OPTED_OUT: "The patient has opted out of WhatsApp messages.",
    RESTRICTED: "The patient's record is restricted (their erasure request): no messages are sent.",
    OUTCOME_UNKNOWN: "The send was interrupted; it was not repeated, to avoid a duplicate message.",
    EXPIRED: "The message waited too long to be sent and was dropped.",
    TOO_MANY_ATTEMPTS: "WhatsApp kept asking us to wait; we stopped after several attempts.",
    DOCUMENT_UNAVAILABLE: "The document's file could not be read, so it was not sent.",
    CONSENT_WITHDRAWN: "The patient withdrew consent to these messages (consent log).",
    GUARDIAN_CONSENT_NEEDED: "The patient is a minor: these messages need the guardian's recorded consent.",
    NO_MARKETING_CONSENT: "The patient has not agreed to marketing messages.",
}


def failure_sentence(code: str, title: str = "") -> str:
    """A sentence for staff about why a message was not sent or failed."""
    if code in FAILURE_SENTENCES:
        return FAILURE_SENTENCES[code]
    title = title or whatsapp.error_title(code)
    if title:
        return f"WhatsApp did not deliver it: {title} (error {code})."
    return f"The message could not be sent (error {code})."


TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")  # WhatsApp template names
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:_[A-Z]{2})?$")  # en, hi, en_US, pt_BR
TEXT_MAX = 4096
SERVICE_WINDOW = dt.timedelta(hours=24)  # WhatsApp's customer-service window after the user's last message
Status = OutboundMessage.Status
_RANK = {Status.QUEUED: 0, Status.SENDING: 1, Status.SENT: 2, Status.DELIVERED: 3, Status.READ: 4}
_STAMP = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
    Status.FAILED: "failed_at",
}
RECEIPT_STATUSES = (Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED)

_LISTENERS: dict[str, list[StatusListener]] = {}


def register_status_listener(related_type: str, listener: StatusListener) -> None:
    """Call `listener(message)` whenever a message about `related_type` changes status (sent,
    a delivery receipt, a failure). Apps register in `AppConfig.ready()`; registering twice has no effect."""
    listeners = _LISTENERS.setdefault(related_type, [])
    if listener not in listeners:
        listeners.append(listener)


def related_label(obj: models.Model) -> tuple[str, str]:
    return f"{obj._meta.app_label}.{obj._meta.model_name}", str(obj.pk)


def patient_unreachable_reason(patient: Patient, purpose: str = ConsentPurpose.WHATSAPP_REMINDERS) -> str:
    """Why a WhatsApp message may not go to this patient ("" when it may). `purpose` is the consent
    the message needs (patients.consents): `whatsapp_reminders` for reminders and notifications,
    `marketing` for a marketing template, which also stops at a withdrawn WhatsApp consent (STOP)."""
    if patient.restricted_at is not None:
        return RESTRICTED
    allowed, reason = consents.consent_allows(patient, ConsentPurpose.WHATSAPP_REMINDERS)
    if purpose == ConsentPurpose.MARKETING:
        if not allowed and reason in (consents.CONSENT_WITHDRAWN, consents.OPTED_OUT):
            return reason
        allowed, reason = consents.consent_allows(patient, ConsentPurpose.MARKETING)
    if not allowed:
        return reason
    if not patient.contact_number:
        return NO_CONTACT_NUMBER
    return ""


def template_consent_purpose(template_name: str) -> str:
    """The consent a template message needs: `marketing` for a template of Meta's MARKETING category."""
    from messaging.models import MessageTemplate

    marketing = MessageTemplate.objects.filter(name=template_name, category=MessageTemplate.Category.MARKETING)
    return ConsentPurpose.MARKETING if marketing.exists() else ConsentPurpose.WHATSAPP_REMINDERS


def message_consent_purpose(message: OutboundMessage) -> str:
    if message.kind == OutboundMessage.Kind.TEMPLATE and message.template_name:
        return template_consent_purpose(message.template_name)
    return ConsentPurpose.WHATSAPP_REMINDERS


def outbox_consent_withdrawn(patient: Patient, purpose: str) -> None:
    """A withdrawal takes effect at once (patients.consents listener, in the withdrawing transaction):
    the patient's queued notifications that needed that consent fail now with `consent_withdrawn`.
    Replies to a person who wrote in are not notifications and stay queued."""
    if purpose not in (ConsentPurpose.WHATSAPP_REMINDERS, ConsentPurpose.MARKETING):
        return
    queued = OutboundMessage.objects.select_for_update().filter(
        patient_id=patient.pk, status=Status.QUEUED, purpose=OutboundMessage.Purpose.NOTIFICATION
    )
    for message in queued:
        if purpose == ConsentPurpose.MARKETING and message_consent_purpose(message) != ConsentPurpose.MARKETING:
            continue
        _fail(message, CONSENT_WITHDRAWN, FAILURE_SENTENCES[CONSENT_WITHDRAWN])
        message.save()
        _notify(message)


# --- the clinic's account ------------------------------------------------------------------------


def whatsapp_account() -> WhatsAppAccount | None:
    return WhatsAppAccount.objects.first()


def whatsapp_ready(account: WhatsAppAccount | None) -> bool:
    """Messages can go out: the platform switch is on and the clinic connected and enabled its number."""
    return bool(settings.WHATSAPP_ENABLED and account is not None and account.is_enabled and account.is_configured)


def _credentials(account: WhatsAppAccount) -> whatsapp.Credentials:
    return whatsapp.Credentials(phone_number_id=account.phone_number_id, access_token=str(account.access_token or ""))


@transaction.atomic
def whatsapp_settings_update(
    *,
    actor: User | None,
    waba_id: str,
    phone_number_id: str,
    display_number: str,
    access_token: str | None,
    is_enabled: bool,
    context: AuditContext | None = None,
) -> WhatsAppAccount:
    """Save the clinic's WhatsApp number (`access_token=None` keeps the stored token) and, in the
    same transaction, the public routing table entry phone number id -> this clinic."""
    from clinics.services import vendor_routes_set

    errors: dict[str, str] = {}
    for name, value in (("waba_id", waba_id), ("phone_number_id", phone_number_id)):
        if value and not value.isdigit():
            errors[name] = "Meta's ids are digits only."
    account = WhatsAppAccount.objects.select_for_update().first() or WhatsAppAccount()
    token = account.access_token if access_token is None else access_token.strip()
    if is_enabled and not (phone_number_id and token):
        errors["is_enabled"] = "Enter the phone number id and an access token before switching WhatsApp on."
    if errors:
        raise ValidationError(errors)
    before = {f: getattr(account, f) for f in ("waba_id", "phone_number_id", "display_number", "is_enabled")}
    account.waba_id, account.phone_number_id = waba_id.strip(), phone_number_id.strip()
    account.display_number, account.is_enabled = display_number.strip(), is_enabled
    token_changed = token != account.access_token
    account.access_token = token
    account.save()
    tenant = connection.tenant  # type: ignore[attr-defined]  # a clinic: settings are edited in its schema
    vendor_routes_set(vendor=whatsapp.VENDOR, clinic=tenant, account_ids=_route_ids(tenant, account))
    changed = [f for f, value in before.items() if getattr(account, f) != value] + (
        ["access_token"] if token_changed else []
    )
    audit_record(
        actor=actor,
        action="whatsapp.settings_update",
        obj=account,
        changed_fields=changed,
        context=context,
        metadata={"enabled": account.is_enabled},
    )
    return account


def _route_ids(clinic: Any, account: WhatsAppAccount) -> list[str]:
    """The routing-table ids of the clinic's WhatsApp: its phone number id (messages and statuses),
    and its business account as `waba:<id>` (template status webhooks name the account, not the
    number). The number is what a clinic owns exclusively; a business account already routed to
    another clinic (one business, several clinics) keeps that route, and this clinic's template
    statuses then come by "sync" in the console."""
    from clinics.models import VendorRoute

    ids = [account.phone_number_id] if account.phone_number_id else []
    if account.waba_id:
        waba = whatsapp.waba_route(account.waba_id)
        taken = VendorRoute.objects.filter(vendor=whatsapp.VENDOR, account_id=waba).exclude(clinic=clinic).exists()
        if not taken:
            ids.append(waba)
    return ids


def whatsapp_send_test(*, actor: User | None, to_number: str, context: AuditContext | None = None) -> OutboundMessage:
    """Send Meta's sample template `hello_world` to a staff member's number now (not through the
    queue) and return the recorded message with the real answer: sent with WhatsApp's message id,
    or failed with Meta's code and message."""
    from patients.phones import normalize_phone

    number = normalize_phone(to_number, field="to_number", mobile=True)
    account = whatsapp_account()
    message = OutboundMessage.objects.create(
        kind=OutboundMessage.Kind.TEMPLATE,
        purpose=OutboundMessage.Purpose.TEST,
        to_number=number,
        template_name="hello_world",
        language="en_US",
        parameters=[],
        idempotency_key=f"test:{timezone.now().timestamp()}:{random.getrandbits(32)}",
        status=Status.SENDING,
        claimed_at=timezone.now(),
        attempts=1,
    )
    if account is None or not account.is_configured or not settings.WHATSAPP_ENABLED:
        _fail(message, NOT_CONFIGURED, "WhatsApp is not configured.")
    else:
        payload = whatsapp.template_payload(
            to=number,
            user_id="",
            name="hello_world",
            language="en_US",
            body_parameters=[],
            callback_data=str(message.pk),
        )
        try:
            result = whatsapp.send(_credentials(account), payload)
        except whatsapp.VendorError as error:
            _fail(message, error.code, error.message)
        else:
            _mark_sent(message, result.message_id)
    message.save()
    result_text = (
        f"Sent (message id {message.vendor_message_id})"
        if message.status == Status.SENT
        else f"Failed: {message.error} {message.error_title}"
    )
    if account is not None:
        WhatsAppAccount.objects.filter(pk=account.pk).update(
            last_test_at=timezone.now(), last_test_result=result_text[:200]
        )
    audit_record(
        actor=actor, action="whatsapp.test_send", obj=message, context=context, metadata={"status": message.status}
    )
    return message


# --- recording -------------------------------------------------------------------------------------


def _validate(template_name: str, language: str, idempotency_key: str) -> None:
    errors: dict[str, str] = {}
    if not TEMPLATE_NAME_RE.match(template_name or ""):
        errors["template_name"] = "WhatsApp template names use lowercase letters, digits and underscores."
    if not LANGUAGE_RE.match(language or ""):
        errors["language"] = "Use a WhatsApp language code such as en, hi or en_US."
    _validate_key(idempotency_key, errors)
    if errors:
        raise ValidationError(errors)


def _validate_key(idempotency_key: str, errors: dict[str, str]) -> None:
    if not idempotency_key or len(idempotency_key) > 160:
        errors["idempotency_key"] = "An idempotency key of 1-160 characters is required."


def _stamp(message: OutboundMessage, status: str) -> None:
    stamp = _STAMP.get(Status(status))
    if stamp and getattr(message, stamp) is None:
        setattr(message, stamp, timezone.now())


def _fail(message: OutboundMessage, code: str, title: str = "") -> None:
    message.status = Status.FAILED
    message.error = str(code)[:64]
    message.error_title = (title or whatsapp.error_title(str(code)))[:200]
    _stamp(message, Status.FAILED)


def _mark_sent(message: OutboundMessage, vendor_message_id: str) -> None:
    message.status = Status.SENT
    message.vendor_message_id = vendor_message_id
    message.error = message.error_title = ""
    message.failed_at = None
    _stamp(message, Status.SENT)


def _record(message: OutboundMessage, refusal: str) -> tuple[OutboundMessage, bool]:
    """Insert the message once per idempotency key; (stored row, whether this call created it)."""
    OutboundMessage.objects.bulk_create([message], ignore_conflicts=True)  # ON CONFLICT DO NOTHING
    stored = OutboundMessage.objects.select_for_update().get(idempotency_key=message.idempotency_key)
    if stored.pk != message.pk:
        return stored, False  # recorded (and handled) by an earlier call: never send twice
    if refusal:
        _fail(stored, refusal)
    elif not whatsapp_ready(whatsapp_account()):
        _fail(stored, NOT_CONFIGURED, "WhatsApp is not configured for this clinic.")
    stored.save(update_fields=["status", "error", "error_title", "failed_at", "updated_at"])
    if stored.status == Status.QUEUED:
        pk = str(stored.pk)
        transaction.on_commit(lambda: outbox_enqueue(pk))
    return stored, True


def outbox_enqueue(message_id: str, *, countdown: float | None = None) -> None:
    """Hand a queued message to the workers (in the clinic's schema: the task carries it). A lost
    enqueue is harmless: the sweeper finds the row still queued."""
    from messaging.tasks import outbox_dispatch_task

    try:
        outbox_dispatch_task.apply_async(args=[message_id], countdown=countdown)
    except Exception:  # the broker is down; the row waits for the sweeper
        logger.warning("outbox enqueue failed; the sweeper will retry", exc_info=True)


@transaction.atomic
def message_send_template(
    *,
    patient: Patient,
    template_name: str,
    language: str,
    parameters: list[Any] | Mapping[str, Any],
    idempotency_key: str,
    related: models.Model | tuple[str, str] | None = None,
    button_payloads: list[str] | None = None,
) -> OutboundMessage:
    """Record a template message to the patient (or guardian) in the caller's transaction and queue
    it for sending, once per `idempotency_key`: a second call with the same key returns the first
    call's message as it is now, and sends nothing. `button_payloads`: one per quick-reply button
    of the template (ids only; see messaging.replies)."""
    _validate(template_name, language, idempotency_key)
    related_type, related_id = related_label(related) if isinstance(related, models.Model) else (related or ("", ""))
    message = OutboundMessage(
        patient=patient,
        kind=OutboundMessage.Kind.TEMPLATE,
        to_number=patient.contact_number or "",
        template_name=template_name,
        language=language,
        parameters=parameters if isinstance(parameters, list) else dict(parameters),
        idempotency_key=idempotency_key,
        related_type=related_type,
        related_id=related_id,
        button_payloads=list(button_payloads or []),
    )
    stored, created = _record(message, patient_unreachable_reason(patient, template_consent_purpose(template_name)))
    if created:
        audit_record(
            actor=None,
            action="message.send",
            obj=stored,
            metadata={
                "template": template_name,
                "status": stored.status,
                **({"error": stored.error} if stored.error else {}),
                **({"related": related_type} if related_type else {}),
            },
        )
    return stored


@transaction.atomic
def message_send_text(
    *,
    contact: Contact,
    body: str,
    idempotency_key: str,
    purpose: str = OutboundMessage.Purpose.REPLY,
    actor: User | None = None,
    context: AuditContext | None = None,
    choices: list[dict[str, str]] | None = None,
    choices_button: str = "",
) -> OutboundMessage:
    """Queue a free-form text to a contact. Only inside the 24-hour customer-service window (the
    contact wrote in the last 24 hours); outside it a template is needed, and this refuses.
    With `choices` (rows of `id`, `title`, `description`) it is an interactive list the person
    picks one row of, behind a button labelled `choices_button`."""
    errors: dict[str, str] = {}
    _validate_key(idempotency_key, errors)
    if not body.strip() or len(body) > TEXT_MAX:
        errors["body"] = f"A message of 1-{TEXT_MAX} characters is required."
    if choices is not None and not (0 < len(choices) <= whatsapp.LIST_ROWS_MAX and choices_button):
        errors["choices"] = f"A list needs 1-{whatsapp.LIST_ROWS_MAX} rows and a button label."
    window_open = contact.last_inbound_at is not None and contact.last_inbound_at > timezone.now() - SERVICE_WINDOW
    if not window_open:
        errors["body"] = "More than 24 hours since this person last wrote: send a template message instead."
    if errors:
        raise ValidationError(errors)
    refusal = ""
    if contact.patient is not None and contact.patient.restricted_at is not None:
        refusal = RESTRICTED  # a restricted record gets no messages at all, replies included
    elif purpose == OutboundMessage.Purpose.NOTIFICATION:
        refusal = OPTED_OUT if contact.opted_out_at else ""
        if not refusal and contact.patient is not None:
            refusal = patient_unreachable_reason(contact.patient)
    message = OutboundMessage(
        patient=contact.patient,
        contact=contact,
        kind=OutboundMessage.Kind.LIST if choices else OutboundMessage.Kind.TEXT,
        purpose=purpose,
        to_number=contact.phone,
        recipient_user_id=contact.user_id or "",
        body=body,
        parameters={"button": choices_button, "rows": choices} if choices else None,
        idempotency_key=idempotency_key,
    )
    stored, created = _record(message, refusal)
    if created:
        audit_record(
            actor=actor,
            action="message.send_text",
            obj=stored,
            context=context,
            metadata={"purpose": purpose, "status": stored.status},
        )
    return stored


CAPTION_MAX = 1024
SIGNED_DOCUMENT = "documents.signeddocument"

# Apps above messaging (billing) register the PDFs they let staff send: `source` -> a reader that
# returns the PDF of the object with this id, or None when it is gone or may not be sent any more.
DocumentReader = Callable[[str], bytes | None]
_DOCUMENT_SOURCES: dict[str, DocumentReader] = {}


def register_document_source(source: str, reader: DocumentReader) -> None:
    """Let `message_send_document(..., source=source)` send objects whose PDF `reader(pk)` renders
    (at send time, in the worker). Apps register in `AppConfig.ready()`."""
    _DOCUMENT_SOURCES[source] = reader


@transaction.atomic
def message_send_document(
    *,
    contact: Contact,
    document: Any,
    filename: str,
    caption: str,
    idempotency_key: str,
    actor: User | None = None,
    context: AuditContext | None = None,
    source: str = SIGNED_DOCUMENT,
    kind: str = "",
) -> OutboundMessage:
    """Queue a signed PDF (a `documents.SignedDocument`: prescription, certificate) to a contact as a
    WhatsApp document message. A free-form message, so only inside the 24-hour customer-service
    window; the worker uploads the file to Meta and sends it (the file is read, checked against its
    signing hash and the read audited, at send time; an opt-out is checked again then). The same key
    sends nothing twice.

    Another `source` (see `register_document_source`: billing's invoice, receipt, credit note) sends
    any object with `pk`, `patient_id` and `location_id` whose PDF that source's reader renders."""
    errors: dict[str, str] = {}
    _validate_key(idempotency_key, errors)
    if len(caption) > CAPTION_MAX:
        errors["caption"] = f"A caption is at most {CAPTION_MAX} characters."
    if contact.patient_id is None or document.patient_id != contact.patient_id:
        errors["document"] = "The document must belong to the patient of this conversation."
    window_open = contact.last_inbound_at is not None and contact.last_inbound_at > timezone.now() - SERVICE_WINDOW
    if not window_open:
        errors["document"] = (
            "More than 24 hours since this person last wrote: WhatsApp allows only a template message now."
        )
    if source != SIGNED_DOCUMENT and source not in _DOCUMENT_SOURCES:
        errors["document"] = "This kind of document cannot be sent on WhatsApp."
    if errors:
        raise ValidationError(errors)
    kind = kind or str(document.kind)
    details = {"document": str(document.pk), "filename": filename[:240], "kind": kind}
    message = OutboundMessage(
        patient=contact.patient,
        contact=contact,
        kind=OutboundMessage.Kind.DOCUMENT,
        purpose=OutboundMessage.Purpose.REPLY,
        to_number=contact.phone,
        recipient_user_id=contact.user_id or "",
        body=caption or None,
        parameters=details if source == SIGNED_DOCUMENT else {**details, "source": source},
        idempotency_key=idempotency_key,
        related_type=source,
        related_id=str(document.pk),
    )
    refusal = OPTED_OUT if contact.opted_out_at or (contact.patient and contact.patient.whatsapp_opted_out_at) else ""
    if contact.patient is not None and contact.patient.restricted_at is not None:
        refusal = RESTRICTED
    stored, created = _record(message, refusal)
    if created:
        audit_record(
            actor=actor,
            action="message.send_document",
            obj=stored,
            location_id=document.location_id,
            context=context,
            metadata={"document": str(document.pk), "kind": kind, "status": stored.status},
        )
    return stored


# --- dispatch (workers) ------------------------------------------------------------------------------


def _backoff(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; never sooner than the vendor's Retry-After."""
    base = float(settings.WHATSAPP_RETRY_BASE_SECONDS)
    cap = float(settings.WHATSAPP_RETRY_MAX_SECONDS)
    delay = random.uniform(0, min(cap, base * (2 ** max(0, attempts - 1))))
    return max(delay, min(retry_after or 0.0, cap))


def _dispatch_refusal(message: OutboundMessage) -> str:
    if message.patient is not None and message.patient.restricted_at is not None:
        return RESTRICTED
    if message.kind == OutboundMessage.Kind.DOCUMENT and (
        (message.contact is not None and message.contact.opted_out_at is not None)
        or (message.patient is not None and message.patient.whatsapp_opted_out_at is not None)
    ):
        return OPTED_OUT  # a PDF staff queued is refused after a STOP exactly as when it was queued
    if message.purpose == OutboundMessage.Purpose.NOTIFICATION:
        if message.patient is not None:
            return patient_unreachable_reason(message.patient, message_consent_purpose(message))
        if message.contact is not None and message.contact.opted_out_at is not None:
            return OPTED_OUT
    return ""


def _wait_for_consent_writers(message_id: str) -> None:
    """Take a key-share lock on the message's patient before the claim reads their consent. A consent
    decision being written holds that row FOR UPDATE (patients.consents) from before its row is
    inserted until it commits, so the claim waits for it and then reads it: a withdrawal in flight is
    never raced (its listener has failed the message by then). Patient first, then the message, the
    order a withdrawal takes them in, so the two cannot deadlock; FOR KEY SHARE does not block
    ordinary updates of the patient's record."""
    patient_id = OutboundMessage.objects.filter(pk=message_id).values_list("patient_id", flat=True).first()
    if patient_id is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{Patient._meta.db_table}" WHERE "{Patient._meta.pk.column}" = %s FOR KEY SHARE',
            [patient_id],
        )


def _claim(
    message_id: str, now: dt.datetime, account: WhatsAppAccount | None
) -> tuple[OutboundMessage, WhatsAppAccount] | None:
    """queued -> sending, in its own transaction; None when there is nothing to send now."""
    with transaction.atomic():
        _wait_for_consent_writers(message_id)
        message = (
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("patient", "contact")
            .filter(pk=message_id, status=Status.QUEUED)
            .first()
        )
        if message is None or message.next_attempt_at > now:
            return None  # sent, failed, claimed by another worker, or due later (its own task will come)
        if message.created_at < now - dt.timedelta(seconds=settings.WHATSAPP_MAX_QUEUE_AGE_SECONDS):
            refusal = EXPIRED
        elif not whatsapp_ready(account):
            refusal = NOT_CONFIGURED
        else:
            refusal = _dispatch_refusal(message)
        if refusal:
            _fail(message, refusal)
            message.save()
            _notify(message)
            return None
        message.status = Status.SENDING
        message.claimed_at = now
        message.attempts += 1
        message.save(update_fields=["status", "claimed_at", "attempts", "updated_at"])
        assert account is not None
        return message, account


def _document_upload(account: WhatsAppAccount, message: OutboundMessage) -> str:
    """Upload the message's signed PDF to Meta; its media id. The read is checked and audited."""
    from docos.ids import parse_uuid
    from docos.storage import FileUnavailable
    from documents.models import SignedDocument
    from documents.signing import signed_document_read

    details = message.parameters if isinstance(message.parameters, dict) else {}
    document_pk = parse_uuid(details.get("document"))
    source = str(details.get("source") or SIGNED_DOCUMENT)
    if source != SIGNED_DOCUMENT:
        reader = _DOCUMENT_SOURCES.get(source)
        data = reader(str(document_pk)) if reader is not None and document_pk else None
        if data is None:
            raise whatsapp.VendorError(
                permanent=True, code=DOCUMENT_UNAVAILABLE, message="The document can no longer be sent."
            )
        filename = str(details.get("filename") or "document.pdf")
        return whatsapp.media_upload(_credentials(account), data=data, mime_type="application/pdf", filename=filename)
    document = SignedDocument.objects.filter(pk=document_pk).first() if document_pk else None
    if document is None:
        raise whatsapp.VendorError(permanent=True, code=DOCUMENT_UNAVAILABLE, message="The document no longer exists.")
    try:
        data = signed_document_read(document=document, actor=None, action="document.send_whatsapp")
    except FileUnavailable as exc:
        raise whatsapp.VendorError(permanent=True, code=DOCUMENT_UNAVAILABLE, message=type(exc).__name__) from exc
    filename = str(details.get("filename") or f"{document.kind}.pdf")
    return whatsapp.media_upload(_credentials(account), data=data, mime_type="application/pdf", filename=filename)


def _payload(message: OutboundMessage, *, media_id: str = "") -> dict[str, Any]:
    if message.kind == OutboundMessage.Kind.DOCUMENT:
        details = message.parameters if isinstance(message.parameters, dict) else {}
        return whatsapp.document_payload(
            to=message.to_number,
            user_id=message.recipient_user_id,
            media_id=media_id,
            filename=str(details.get("filename") or "document.pdf"),
            caption=str(message.body or ""),
            callback_data=str(message.pk),
        )
    if message.kind == OutboundMessage.Kind.LIST:
        choices = message.parameters if isinstance(message.parameters, dict) else {}
        return whatsapp.list_payload(
            to=message.to_number,
            user_id=message.recipient_user_id,
            body=str(message.body or ""),
            button=str(choices.get("button", "")),
            rows=list(choices.get("rows", [])),
            callback_data=str(message.pk),
        )
    if message.kind == OutboundMessage.Kind.TEXT:
        return whatsapp.text_payload(
            to=message.to_number,
            user_id=message.recipient_user_id,
            body=str(message.body or ""),
            callback_data=str(message.pk),
        )
    parameters: list[Any] = message.parameters if isinstance(message.parameters, list) else []
    return whatsapp.template_payload(
        to=message.to_number,
        user_id=message.recipient_user_id,
        name=message.template_name,
        language=message.language,
        body_parameters=parameters,
        callback_data=str(message.pk),
        button_payloads=list(message.button_payloads or []),
    )


def message_dispatch(*, message_id: str, now: dt.datetime | None = None) -> str:
    """Send one queued message (the outbox worker). Returns what happened: "sent", "retry",
    "failed", "skipped" or "paced" (the patient's pair slot is taken, or no send token within a few
    seconds: enqueued again). Never raises for vendor trouble. Sends of one number are paced by
    messaging.pacing (token bucket)."""
    now = now or timezone.now()
    due = (
        OutboundMessage.objects.filter(pk=message_id, status=Status.QUEUED, next_attempt_at__lte=now)
        .values_list("to_number", "recipient_user_id")
        .first()
    )
    if due is None:
        return "skipped"  # sent, failed, claimed by another worker, or due later (its own task will come)
    account = whatsapp_account()
    if whatsapp_ready(account):
        assert account is not None
        # Pacing comes before the claim, so a message is `sending` only for the HTTP call itself: a
        # worker killed while it waits for a slot leaves the row `queued`, and the sweeper sends it
        # (nothing went out). The pair first (this patient had a message from us under 6 s ago:
        # come back when the pair's slot is free), then the number's send slot, shared by every
        # worker. No slot within a few seconds: enqueue it again, untouched.
        pair_wait = pacing.pair_wait(account.phone_number_id, due[1] or due[0])
        if pair_wait > 0:
            outbox_enqueue(message_id, countdown=pair_wait)
            return "paced"
        if not pacing.wait_for_token(account.phone_number_id):
            outbox_enqueue(message_id, countdown=1.0)
            return "paced"
    claimed = _claim(message_id, now, account)
    if claimed is None:
        return "skipped"
    message, account = claimed
    try:
        media_id = _document_upload(account, message) if message.kind == OutboundMessage.Kind.DOCUMENT else ""
        result: whatsapp.SendResult | None = whatsapp.send(_credentials(account), _payload(message, media_id=media_id))
        error: whatsapp.VendorError | None = None
    except whatsapp.VendorError as exc:
        result, error = None, exc
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if result is not None:
            # Recorded even if the sweeper gave up on this row meanwhile: WhatsApp's answer is the truth.
            _mark_sent(message, result.message_id)
            message.save()
            _apply_receipts(message)
            _notify(message)
            return "sent"
        assert error is not None
        if message.status != Status.SENDING:
            return "skipped"
        if error.permanent or message.attempts >= settings.WHATSAPP_MAX_ATTEMPTS:
            _fail(message, error.code if error.permanent else TOO_MANY_ATTEMPTS, error.message)
            message.save()
            _notify(message)
            logger.info("whatsapp send failed", extra={"code": error.code, "permanent": error.permanent})
            return "failed"
        delay = _backoff(message.attempts, error.retry_after)
        message.status = Status.QUEUED
        message.error = error.code[:64]  # the last retryable error, shown while it waits
        message.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
        message.save(update_fields=["status", "error", "next_attempt_at", "updated_at"])
        pk = str(message.pk)
        transaction.on_commit(lambda: outbox_enqueue(pk, countdown=delay))
        return "retry"


@transaction.atomic
def outbox_sweep(*, now: dt.datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """One clinic's sweep (beat, every minute): enqueue queued messages whose task was lost, and
    give up on messages left `sending` by a dead worker (failed, `outcome_unknown`; never resent)."""
    now = now or timezone.now()
    queued_stale = now - dt.timedelta(seconds=settings.WHATSAPP_QUEUED_STALE_SECONDS)
    sending_stale = now - dt.timedelta(seconds=settings.WHATSAPP_SENDING_STALE_SECONDS)
    due = list(
        OutboundMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=queued_stale)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    stuck = list(
        OutboundMessage.objects.select_for_update(skip_locked=True)
        .filter(status=Status.SENDING, claimed_at__lt=sending_stale)
        .order_by("claimed_at")[:limit]
    )
    for message in stuck:
        _fail(message, OUTCOME_UNKNOWN, "The worker stopped during the send; not sent again.")
        message.save()
        _notify(message)
    ids = [str(pk) for pk in due]
    if ids:
        transaction.on_commit(lambda: _enqueue_all(ids))
    return {"requeued": len(ids), "gave_up": len(stuck)}


def _enqueue_all(ids: list[str]) -> None:
    for pk in ids:
        outbox_enqueue(pk)


# --- statuses ----------------------------------------------------------------------------------------


def _notify(message: OutboundMessage) -> None:
    for listener in _LISTENERS.get(message.related_type, []):
        listener(message)


def _advances(message: OutboundMessage, new: str) -> bool:
    current = message.status
    if new == Status.FAILED:
        return current in (Status.QUEUED, Status.SENDING, Status.SENT)
    if current == Status.FAILED:
        # Only a message we gave up on (outcome unknown) that WhatsApp did send moves on from failed;
        # a "sent" arriving after WhatsApp's own "failed" changes nothing.
        return message.error == OUTCOME_UNKNOWN
    return _RANK[Status(new)] > _RANK[Status(current)]


def _apply(message: OutboundMessage, receipt: StatusReceipt) -> bool:
    changed = False
    if receipt.pricing_category and message.pricing_category != receipt.pricing_category:
        message.pricing_category = receipt.pricing_category
        changed = True
    if _advances(message, receipt.status):
        if receipt.status == Status.FAILED:
            _fail(message, receipt.error_code or "failed", receipt.error_title)
        else:
            message.status = receipt.status
            message.error = message.error_title = ""
            message.failed_at = None
            for status in (Status.SENT, Status.DELIVERED, Status.READ):
                if _RANK[status] <= _RANK[Status(receipt.status)]:
                    _stamp(message, status)
        changed = True
    if changed:
        message.save()
        _notify(message)
    return changed


def _apply_receipts(message: OutboundMessage) -> None:
    """Receipts that arrived before the send recorded its message id (the webhook can win that race)."""
    receipts = list(StatusReceipt.objects.filter(vendor_message_id=message.vendor_message_id, applied=False))
    if not receipts:
        return  # the usual case: one query
    for receipt in sorted(receipts, key=lambda r: _RANK.get(Status(r.status), 5)):
        _apply(message, receipt)
    StatusReceipt.objects.filter(pk__in=[r.pk for r in receipts]).update(applied=True)


@transaction.atomic
def message_receipt_record(update: whatsapp.StatusUpdate) -> OutboundMessage | None:
    """A status webhook: store it once per (message id, status) and apply it to our message.
    Replays and late, out-of-order receipts change nothing they should not."""
    if update.status not in RECEIPT_STATUSES:
        return None  # e.g. "deleted" or a status of a newer API version: kept in the raw event only
    receipt = StatusReceipt(
        vendor_message_id=update.message_id[:128],
        status=update.status,
        occurred_at=update.occurred_at,
        error_code=update.error_code,
        error_title=update.error_title,
        pricing_category=update.pricing_category,
    )
    StatusReceipt.objects.bulk_create([receipt], ignore_conflicts=True)
    if receipt.pk is None:
        stored = StatusReceipt.objects.filter(vendor_message_id=receipt.vendor_message_id, status=update.status).first()
        if stored is None or stored.applied:
            return None  # a replay
        receipt = stored
    message = OutboundMessage.objects.select_for_update().filter(vendor_message_id=update.message_id).first()
    if message is None and update.callback_data:
        # Our id in biz_opaque_callback_data: the send happened but its answer never got recorded.
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(pk__in=[_uuid_or_none(update.callback_data)], vendor_message_id__isnull=True)
            .first()
        )
        if message is not None:
            message.vendor_message_id = update.message_id
    if message is None:
        return None  # not ours yet (the send has not committed): applied when it does
    _apply(message, receipt)
    StatusReceipt.objects.filter(pk=receipt.pk).update(applied=True)
    return message


def _uuid_or_none(value: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@transaction.atomic
def message_status_update(vendor_message_id: str, status: str, error: str = "") -> OutboundMessage | None:
    """Apply a status for one of our messages by WhatsApp message id (kept for callers and tests
    that have no full webhook payload). Statuses only move forward."""
    if status not in Status.values:
        raise ValidationError({"status": f"Unknown message status {status!r}."})
    return message_receipt_record(
        whatsapp.StatusUpdate(message_id=vendor_message_id, status=status, occurred_at=timezone.now(), error_code=error)
    )
