"""Sending WhatsApp template messages, and following their delivery status.

Every outbound template message of DocOS goes through `message_send_template`, whatever asks for
it (appointment reminders today; invoices and campaigns later):

1. the message is recorded first (`INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`), so a
   retried task or a second caller with the same key gets the existing row back and nothing is
   sent twice;
2. the patient must be reachable: a contact number (`Patient.contact_number`: the guardian's for
   minors), WhatsApp consent on record, and no opt-out; otherwise the message is recorded as
   failed with the reason (`no_contact_number`, `no_whatsapp_consent`, `opted_out`);
3. the message is handed to the WhatsApp client.

No WhatsApp Cloud API account can be configured yet (the WhatsApp issue adds the client, its
credentials and the webhook). Until then step 3 records the message as failed with the reason
`whatsapp_not_configured`. We chose "failed" over leaving it "pending": a pending message would
wait indefinitely and, once WhatsApp is switched on, go out late (a "your appointment is in two
hours" after the appointment); a failed one shows its reason on the appointment at once, so the
front desk knows to phone the patient. Nothing is ever marked "sent" that was not sent.

Status changes reported by WhatsApp (the webhook, later) arrive through `message_status_update`,
which moves a message forward only (pending < sent < delivered < read; failed from pending or
sent) and tells the listener registered for the message's `related_type` (e.g. reminders).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from audit.services import audit_record
from messaging.models import OutboundMessage
from patients.models import Patient

StatusListener = Callable[[OutboundMessage], None]

NOT_CONFIGURED = "whatsapp_not_configured"
NO_CONTACT_NUMBER = "no_contact_number"
NO_CONSENT = "no_whatsapp_consent"
OPTED_OUT = "opted_out"

TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")  # WhatsApp template names
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:_[A-Z]{2})?$")  # en, hi, en_US, pt_BR
_RANK = {
    OutboundMessage.Status.PENDING: 0,
    OutboundMessage.Status.SENT: 1,
    OutboundMessage.Status.DELIVERED: 2,
    OutboundMessage.Status.READ: 3,
}
_STAMP = {
    OutboundMessage.Status.SENT: "sent_at",
    OutboundMessage.Status.DELIVERED: "delivered_at",
    OutboundMessage.Status.READ: "read_at",
    OutboundMessage.Status.FAILED: "failed_at",
}

_LISTENERS: dict[str, list[StatusListener]] = {}


def register_status_listener(related_type: str, listener: StatusListener) -> None:
    """Call `listener(message)` whenever a message about `related_type` changes status (e.g. a
    delivery receipt). Apps register in `AppConfig.ready()`; registering twice has no effect."""
    listeners = _LISTENERS.setdefault(related_type, [])
    if listener not in listeners:
        listeners.append(listener)


def related_label(obj: models.Model) -> tuple[str, str]:
    return f"{obj._meta.app_label}.{obj._meta.model_name}", str(obj.pk)


def patient_unreachable_reason(patient: Patient) -> str:
    """Why a WhatsApp message may not go to this patient ("" when it may)."""
    if patient.whatsapp_opted_out_at is not None:
        return OPTED_OUT
    if patient.whatsapp_consent_at is None:
        return NO_CONSENT
    if not patient.contact_number:
        return NO_CONTACT_NUMBER
    return ""


def _validate(template_name: str, language: str, idempotency_key: str) -> None:
    errors: dict[str, str] = {}
    if not TEMPLATE_NAME_RE.match(template_name or ""):
        errors["template_name"] = "WhatsApp template names use lowercase letters, digits and underscores."
    if not LANGUAGE_RE.match(language or ""):
        errors["language"] = "Use a WhatsApp language code such as en, hi or en_US."
    if not idempotency_key or len(idempotency_key) > 160:
        errors["idempotency_key"] = "An idempotency key of 1-160 characters is required."
    if errors:
        raise ValidationError(errors)


def _mark(message: OutboundMessage, status: str, error: str = "") -> None:
    message.status = status
    if status == OutboundMessage.Status.FAILED:
        message.error = error[:64]
    stamp = _STAMP.get(OutboundMessage.Status(status))
    if stamp and getattr(message, stamp) is None:
        setattr(message, stamp, timezone.now())


def _hand_to_whatsapp(message: OutboundMessage) -> None:
    """Give the message to the WhatsApp client. No WhatsApp Cloud API account is configured in this
    release (see the module docstring), so the message is recorded as failed with that reason."""
    _mark(message, OutboundMessage.Status.FAILED, NOT_CONFIGURED)


@transaction.atomic
def message_send_template(
    *,
    patient: Patient,
    template_name: str,
    language: str,
    parameters: list[Any] | Mapping[str, Any],
    idempotency_key: str,
    related: models.Model | tuple[str, str] | None = None,
) -> OutboundMessage:
    """Record a template message to the patient (or guardian) and hand it to WhatsApp, once per
    `idempotency_key`: a second call with the same key returns the first call's message as it is
    now, and sends nothing."""
    _validate(template_name, language, idempotency_key)
    related_type, related_id = related_label(related) if isinstance(related, models.Model) else (related or ("", ""))
    message = OutboundMessage(
        patient=patient,
        to_number=patient.contact_number or "",
        template_name=template_name,
        language=language,
        parameters=parameters if isinstance(parameters, list) else dict(parameters),
        idempotency_key=idempotency_key,
        related_type=related_type,
        related_id=related_id,
    )
    OutboundMessage.objects.bulk_create([message], ignore_conflicts=True)  # ON CONFLICT DO NOTHING
    stored = OutboundMessage.objects.select_for_update().get(idempotency_key=idempotency_key)
    if stored.pk != message.pk:
        return stored  # recorded (and handled) by an earlier call: never send twice
    refusal = patient_unreachable_reason(patient)
    if refusal:
        _mark(stored, OutboundMessage.Status.FAILED, refusal)
    else:
        _hand_to_whatsapp(stored)
    stored.save(update_fields=["status", "error", "sent_at", "failed_at", "updated_at"])
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
def message_status_update(vendor_message_id: str, status: str, error: str = "") -> OutboundMessage | None:
    """Apply a status reported by WhatsApp for one of our messages (the webhook calls this).

    Statuses only move forward, so receipts arriving late or twice change nothing. Returns the
    message, or None when no message has that vendor id (yet)."""
    if status not in OutboundMessage.Status.values:
        raise ValidationError({"status": f"Unknown message status {status!r}."})
    message = OutboundMessage.objects.select_for_update().filter(vendor_message_id=vendor_message_id).first()
    if message is None:
        return None
    current = OutboundMessage.Status(message.status)
    new = OutboundMessage.Status(status)
    if new == OutboundMessage.Status.FAILED:
        advances = current in (OutboundMessage.Status.PENDING, OutboundMessage.Status.SENT)
    else:
        advances = current != OutboundMessage.Status.FAILED and _RANK[new] > _RANK[current]
    if not advances:
        return message
    _mark(message, new, error or "failed")
    message.save()
    for listener in _LISTENERS.get(message.related_type, []):
        listener(message)
    return message
