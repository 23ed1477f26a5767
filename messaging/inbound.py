"""What WhatsApp users send the clinic: contacts, inbound messages, STOP and START.

Called by the webhook dispatcher (docos.webhooks) inside the clinic's schema and a transaction,
once per inbound message of a stored webhook event. Redeliveries are harmless: a message id is
stored once (`InboundMessage.vendor_message_id` is unique) and a repeat returns early, so a STOP
is confirmed once however often Meta redelivers it.

Contacts are keyed by the business-scoped user id when WhatsApp gives one, else by phone (`wa_id`);
when a later message brings the other identifier it is added to the same contact. A contact is
linked to a patient when exactly one active patient has its phone number as their WhatsApp number,
phone or (for minors) guardian's number; several patients on one number (a family) stay for staff
to choose in the inbox.

Opt-out: STOP / UNSUBSCRIBE (any case, with or without punctuation) and the Hindi "बंद करें" /
"रोकें" opt out every patient whose messages go to that number (patients.services records it,
audited) and the contact itself, then answer once with a confirmation (a reply inside the 24-hour
window, sent even though the patient just opted out). START / "शुरू करें" records consent again
(source "whatsapp") and confirms. A STOP or START older (by WhatsApp's timestamp) than one already
handled is ignored: webhooks may come out of order, and the person's last word counts. For a minor,
START is the guardian's consent only when it comes from the guardian's number (from the child's own
number it is recorded as the child's, which the outbox does not accept for a minor's messages).
"""

from __future__ import annotations

import logging
import string
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from messaging import whatsapp
from messaging.models import Contact, InboundMessage, MediaStatus, OutboundMessage
from patients.consents import given_by_default
from patients.models import ConsentGivenBy, Patient

logger = logging.getLogger(__name__)

STOP_WORDS = frozenset({"stop", "unsubscribe", "stop all", "बंद करें", "बंद करे", "रोकें", "रोके"})
START_WORDS = frozenset({"start", "subscribe", "शुरू करें", "शुरू करे"})
_STRIP = string.punctuation + string.whitespace + "।"

OPT_OUT_REPLY = (
    "You will no longer receive WhatsApp messages from {clinic}. Reply START to receive them again. / "
    "अब आपको {clinic} से WhatsApp संदेश नहीं मिलेंगे। फिर से पाने के लिए START लिखें।"
)
OPT_IN_REPLY = (
    "You will receive WhatsApp messages from {clinic} again. Reply STOP to stop them. / "
    "आपको {clinic} से WhatsApp संदेश फिर से मिलेंगे। रोकने के लिए STOP लिखें।"
)


def keyword(text: str) -> str:
    """ "stop", "start" or "" for an inbound text."""
    word = " ".join(text.strip(_STRIP).split()).casefold()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return ""


def _clinic_name() -> str:
    return str(getattr(getattr(connection, "tenant", None), "name", "") or "the clinic")


def patients_for_phone(phone: str) -> list[Patient]:
    """Active patients whose WhatsApp messages go to (or come from) this number."""
    if not phone:
        return []
    return list(
        Patient.objects.filter(is_active=True, merged_into__isnull=True).filter(
            Q(whatsapp_number=phone) | Q(phone=phone) | Q(guardian_phone=phone)
        )
    )


def contact_for(update: whatsapp.InboundUpdate) -> Contact:
    """The contact this message came from, created or completed with the identifiers it brings."""
    wa_id = update.from_phone or None
    user_id = update.from_user_id or None
    found = None
    if user_id:
        found = Contact.objects.select_for_update().filter(user_id=user_id).first()
    if found is None and wa_id:
        found = Contact.objects.select_for_update().filter(wa_id=wa_id).first()
    contact = found or Contact(user_id=user_id, wa_id=wa_id, profile={})
    if user_id and not contact.user_id:
        contact.user_id = user_id
    if wa_id and not contact.wa_id:
        contact.wa_id = wa_id
    profile: dict[str, Any] = dict(contact.profile) if isinstance(contact.profile, dict) else {}
    for key, value in (("name", update.profile_name), ("username", update.username)):
        if value:
            profile[key] = value[:200]
    contact.profile = profile
    if contact.patient_id is None and contact.phone:
        matches = [p for p in patients_for_phone(contact.phone) if p.contact_number == contact.phone]
        if len(matches) == 1:
            contact.patient = matches[0]
    if contact.last_inbound_at is None or update.occurred_at > contact.last_inbound_at:
        contact.last_inbound_at = update.occurred_at
    if contact.last_message_at is None or update.occurred_at > contact.last_message_at:
        contact.last_message_at = update.occurred_at
    contact.save()
    return contact


def inbound_record(update: whatsapp.InboundUpdate) -> InboundMessage | None:
    """Store one inbound message (the webhook handler for kind "message"); None for a redelivery."""
    if not update.message_id or not (update.from_phone or update.from_user_id):
        logger.warning("whatsapp inbound message without sender or id ignored")
        return None
    if InboundMessage.objects.filter(vendor_message_id=update.message_id).exists():
        return None
    contact = contact_for(update)
    message = InboundMessage(
        contact=contact,
        vendor_message_id=update.message_id[:128],
        kind=update.kind,
        body=update.text,
        payload={"reply_id": update.reply_id, **update.details} if (update.reply_id or update.details) else None,
        context_message_id=update.context_message_id,
        sent_at=update.occurred_at,
    )
    media_id = str(update.details.get("id", "") or "") if update.kind in whatsapp.MEDIA_KINDS else ""
    if media_id:
        message.media_id = media_id[:128]
        message.media_status = MediaStatus.PENDING
        message.media_content_type = str(update.details.get("mime_type", "") or "")[:100]
        message.media_filename = str(update.details.get("filename", "") or "")[:255]
    InboundMessage.objects.bulk_create([message], ignore_conflicts=True)
    if not InboundMessage.objects.filter(pk=message.pk).exists():
        return None  # stored by a concurrent run of the same event
    audit_record(actor=None, action="message.receive", obj=message, metadata={"kind": update.kind})
    if media_id:
        from messaging.media import inbound_media_enqueue

        pk = str(message.pk)
        transaction.on_commit(lambda: inbound_media_enqueue(pk))
    if update.kind in ("button", "interactive") and update.reply_id:
        from messaging.replies import handle_reply

        handle_reply(contact, message, update.reply_id)
    elif update.kind in ("text", "button"):
        _keyword_reply(contact, message, keyword(update.text))
    return message


def _given_by(patient: Patient, contact: Contact) -> str:
    """Who a STOP or START speaks for: a minor's named guardian when it comes from the guardian's
    number; otherwise the patient (a START from a child's own number is the child's)."""
    by_guardian = bool(patient.guardian_phone) and patient.guardian_phone == contact.phone
    return given_by_default(patient) if by_guardian else ConsentGivenBy.PATIENT


def _superseded(contact: Contact, message: InboundMessage) -> bool:
    """Whether the person sent STOP or START after this message and that one was already handled
    (webhooks may arrive out of order): the keyword they sent last is the one that counts."""
    later = contact.inbound_messages.filter(sent_at__gt=message.sent_at, kind__in=("text", "button"))
    return any(keyword(m.body or "") for m in later.exclude(pk=message.pk).only("body")[:50])


def _keyword_reply(contact: Contact, message: InboundMessage, word: str) -> None:
    from messaging.services import message_send_text
    from patients.services import patient_record_whatsapp_consent, patient_record_whatsapp_opt_out

    if not word or _superseded(contact, message):
        return
    now = timezone.now()
    patients = patients_for_phone(contact.phone)
    if contact.patient is not None and contact.patient not in patients:
        patients.append(contact.patient)
    if word == "stop":
        already = contact.opted_out_at is not None and all(p.whatsapp_opted_out_at for p in patients)
        for patient in patients:
            if patient.whatsapp_opted_out_at is None:
                patient_record_whatsapp_opt_out(
                    patient=patient, actor=None, source="whatsapp", at=now, given_by=_given_by(patient, contact)
                )
        if contact.opted_out_at is None:
            Contact.objects.filter(pk=contact.pk).update(opted_out_at=now)
            contact.opted_out_at = now
        if already:
            return  # confirmed when they first opted out
        reply = OPT_OUT_REPLY
    else:
        was_out = contact.opted_out_at is not None or any(p.whatsapp_opted_out_at for p in patients)
        for patient in patients:
            if patient.contact_number == contact.phone and (
                patient.whatsapp_opted_out_at is not None or patient.whatsapp_consent_at is None
            ):
                patient_record_whatsapp_consent(
                    patient=patient, actor=None, source="whatsapp", at=now, given_by=_given_by(patient, contact)
                )
        Contact.objects.filter(pk=contact.pk).update(opted_out_at=None)
        contact.opted_out_at = None
        if not was_out and patients and all(p.whatsapp_consent_at for p in patients):
            return  # nothing changed: no confirmation
        reply = OPT_IN_REPLY
    try:
        message_send_text(
            contact=contact,
            body=reply.format(clinic=_clinic_name()),
            idempotency_key=f"keyword:{message.vendor_message_id}"[:160],
            purpose=OutboundMessage.Purpose.REPLY,
        )
    except ValidationError:  # a redelivery more than 24 hours late: the window is closed, no reply
        logger.info("whatsapp keyword reply outside the 24-hour window skipped")
