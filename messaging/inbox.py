"""Staff actions in the WhatsApp inbox: reply, send an approved template, mark read, and link a
conversation to a patient (or undo a wrong link).

A free-form reply may go only inside WhatsApp's 24-hour customer-service window (the person wrote to
the clinic in the last 24 hours); after that WhatsApp refuses it (error 131047), so we refuse first
and offer one of the approved templates below, which re-open the conversation when the patient
answers. Nothing goes to a contact or patient who opted out (STOP): staff see why. Every send is
audited with the acting user, and marks the conversation read (the person answering has read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from messaging import services
from messaging.models import Contact, OutboundMessage
from patients.models import Patient

OPTED_OUT_MESSAGE = (
    "This person has opted out of WhatsApp messages (they sent STOP), so nothing can be sent to them. "
    "They can send START to receive messages again."
)
WINDOW_CLOSED_MESSAGE = (
    "More than 24 hours have passed since this person last wrote, so WhatsApp allows only an approved "
    "template message. Send the template below; when they answer you can write freely again."
)
NO_PATIENT_MESSAGE = (
    "A template message needs the patient's recorded WhatsApp consent: link this conversation to a patient first."
)


@dataclass(frozen=True)
class InboxTemplate:
    """An approved WhatsApp template staff may send from the inbox. Its body has two variables:
    {{1}} the patient's first name, {{2}} the clinic's name."""

    name: str
    language: str
    label: str
    preview: str


INBOX_TEMPLATES: tuple[InboxTemplate, ...] = (
    InboxTemplate(
        "conversation_reopen",
        "en",
        "Ask them to reply (English)",
        "Hello {1}, {2} has a message for you. Please reply to this message to continue the conversation.",
    ),
    InboxTemplate(
        "conversation_reopen",
        "hi",
        "Ask them to reply (Hindi)",
        "नमस्ते {1}, {2} आपसे बात करना चाहता है। बातचीत जारी रखने के लिए कृपया इस संदेश का उत्तर दें।",
    ),
)


def inbox_template(key: str) -> InboxTemplate | None:
    """The template for a choice key "<name>:<language>"."""
    return next((t for t in INBOX_TEMPLATES if f"{t.name}:{t.language}" == key), None)


def _clinic_name() -> str:
    return str(getattr(getattr(connection, "tenant", None), "name", "") or "the clinic")


def contact_opted_out(contact: Contact) -> bool:
    return contact.opted_out_at is not None or (
        contact.patient is not None and contact.patient.whatsapp_opted_out_at is not None
    )


def _after_send(contact: Contact, message: OutboundMessage) -> None:
    now = timezone.now()
    Contact.objects.filter(pk=contact.pk).update(last_message_at=now, read_up_to=now)


@transaction.atomic
def conversation_reply(
    *,
    actor: User,
    contact: Contact,
    body: str,
    idempotency_key: str,
    context: AuditContext | None = None,
) -> OutboundMessage:
    """Queue a free-form text reply from staff (inside the 24-hour window only). The same
    `idempotency_key` (the form's or the API client's) returns the first message, sending nothing twice."""
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    if contact_opted_out(contact):
        raise ValidationError({"body": OPTED_OUT_MESSAGE}, code="opted_out")
    if contact.last_inbound_at is None or contact.last_inbound_at <= timezone.now() - services.SERVICE_WINDOW:
        raise ValidationError({"body": WINDOW_CLOSED_MESSAGE}, code="window_closed")
    message = services.message_send_text(
        contact=contact,
        body=body,
        idempotency_key=f"inbox:{idempotency_key}"[:160],
        purpose=OutboundMessage.Purpose.REPLY,
        actor=actor,
        context=context,
    )
    _after_send(contact, message)
    return message


@transaction.atomic
def conversation_send_template(
    *,
    actor: User,
    contact: Contact,
    template: InboxTemplate,
    idempotency_key: str,
    context: AuditContext | None = None,
) -> OutboundMessage:
    """Queue one of the approved inbox templates to the conversation's patient (consent checked by
    the outbox: a patient without WhatsApp consent gets a failed message with the reason)."""
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    if contact_opted_out(contact):
        raise ValidationError({"template": OPTED_OUT_MESSAGE}, code="opted_out")
    patient = contact.patient
    if patient is None:
        raise ValidationError({"template": NO_PATIENT_MESSAGE}, code="no_patient")
    message = _send_template(actor=actor, patient=patient, template=template, key=idempotency_key, context=context)
    _after_send(contact, message)
    return message


def _send_template(
    *, actor: User, patient: Patient, template: InboxTemplate, key: str, context: AuditContext | None
) -> OutboundMessage:
    message = services.message_send_template(
        patient=patient,
        template_name=template.name,
        language=template.language,
        parameters=[patient.given_name, _clinic_name()],
        idempotency_key=f"inbox:{key}"[:160],
    )
    audit_record(
        actor=actor,
        action="message.send_inbox_template",
        obj=message,
        location_id=patient.registered_location_id,
        context=context,
        metadata={"template": template.name, "language": template.language, "status": message.status},
    )
    return message


NEVER_WROTE_MESSAGE = (
    "This patient has not written to the clinic on WhatsApp, so WhatsApp allows only an approved template "
    "message. Send the template below; when they answer you can write freely."
)


def _patient_contact(patient: Patient) -> Contact | None:
    from messaging.selectors import patient_contact

    return patient_contact(patient)


@transaction.atomic
def patient_reply(
    *, actor: User, patient: Patient, body: str, idempotency_key: str, context: AuditContext | None = None
) -> OutboundMessage:
    """A free-form reply from the patient's chart, into their conversation (`patient` has been
    through patients.access). Refused with the reason outside the 24-hour window."""
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    contact = _patient_contact(patient)
    if contact is None:
        raise ValidationError({"body": NEVER_WROTE_MESSAGE}, code="window_closed")
    return conversation_reply(actor=actor, contact=contact, body=body, idempotency_key=idempotency_key, context=context)


@transaction.atomic
def patient_send_template(
    *,
    actor: User,
    patient: Patient,
    template: InboxTemplate,
    idempotency_key: str,
    context: AuditContext | None = None,
) -> OutboundMessage:
    """An approved template from the patient's chart: to their conversation, or to the patient's
    WhatsApp number when they never wrote (the outbox checks consent and opt-out)."""
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    contact = _patient_contact(patient)
    if contact is not None:
        return conversation_send_template(
            actor=actor, contact=contact, template=template, idempotency_key=idempotency_key, context=context
        )
    if patient.whatsapp_opted_out_at is not None:
        raise ValidationError({"template": OPTED_OUT_MESSAGE}, code="opted_out")
    return _send_template(actor=actor, patient=patient, template=template, key=idempotency_key, context=context)


DOCUMENT_NEVER_WROTE_MESSAGE = (
    "A PDF can be sent only within 24 hours of the patient's last WhatsApp message. Send a template "
    "asking them to reply first; when they answer, the document can be sent."
)


@transaction.atomic
def patient_send_document(
    *,
    actor: User,
    patient: Patient,
    document: Any,
    filename: str,
    caption: str,
    idempotency_key: str,
    context: AuditContext | None = None,
    source: str = services.SIGNED_DOCUMENT,
    kind: str = "",
) -> OutboundMessage:
    """Send one of the patient's signed PDFs (prescription, certificate) from the chart as a WhatsApp
    document, through the outbox. `document` is one the actor may open (messaging.chart offers only
    those). Inside the 24-hour window only; outside it staff are told to send a template first.
    `source`/`kind`: another registered kind of PDF (billing's invoice; see
    `services.register_document_source`)."""
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    contact = _patient_contact(patient)
    if (
        contact is None
        or contact.last_inbound_at is None
        or (contact.last_inbound_at <= timezone.now() - services.SERVICE_WINDOW)
    ):
        raise ValidationError({"document": DOCUMENT_NEVER_WROTE_MESSAGE}, code="window_closed")
    if contact_opted_out(contact):
        raise ValidationError({"document": OPTED_OUT_MESSAGE}, code="opted_out")
    message = services.message_send_document(
        contact=contact,
        document=document,
        filename=filename,
        caption=caption,
        idempotency_key=f"chart:{idempotency_key}"[:160],
        actor=actor,
        context=context,
        source=source,
        kind=kind,
    )
    _after_send(contact, message)
    return message


@transaction.atomic
def conversation_mark_read(*, actor: User, contact: Contact, context: AuditContext | None = None) -> Contact:
    """Mark every message of the conversation so far as read (for the whole clinic)."""
    require_capability(actor, "messaging.view", "read the WhatsApp inbox")
    newest = contact.inbound_messages.order_by("-sent_at").values_list("sent_at", flat=True).first()
    mark = max(filter(None, (newest, timezone.now())))
    Contact.objects.filter(pk=contact.pk).update(read_up_to=mark)
    contact.read_up_to = mark
    audit_record(actor=actor, action="conversation.mark_read", obj=contact, context=context)
    return contact


@transaction.atomic
def conversation_link_patient(
    *, actor: User, contact: Contact, patient: Patient, context: AuditContext | None = None
) -> Contact:
    """Staff say who wrote (an unknown number, a guardian's phone, a user who shared no number).
    `patient` has been through patients.access (the actor may see them). A conversation already
    linked must be unlinked first, so a link never silently moves messages to another chart.
    From now on the conversation belongs to the patient's branch like their other records."""
    require_capability(actor, "messaging.send", "link WhatsApp conversations to patients")
    require_capability(actor, "patients.view", "link WhatsApp conversations to patients")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if locked.patient_id == patient.pk:
        return locked
    if locked.patient_id is not None:
        raise ValidationError(
            {"patient": "This conversation is already linked to a patient. Unlink it first if that was a mistake."},
            code="already_linked",
        )
    if not patient.is_active or patient.merged_into_id is not None:
        raise ValidationError({"patient": "That patient record is closed or merged."}, code="inactive")
    locked.patient = patient
    locked.save(update_fields=["patient"])
    audit_record(
        actor=actor,
        action="conversation.link_patient",
        obj=locked,
        location_id=patient.registered_location_id,
        context=context,
        metadata={"patient": str(patient.pk)},
    )
    return locked


@transaction.atomic
def conversation_unlink_patient(*, actor: User, contact: Contact, context: AuditContext | None = None) -> Contact:
    """Undo a wrong link: the conversation goes back to "not linked" (seen by staff of every branch)."""
    require_capability(actor, "messaging.send", "link WhatsApp conversations to patients")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if locked.patient_id is None:
        return locked
    previous = locked.patient_id
    location_id = Patient.objects.filter(pk=previous).values_list("registered_location_id", flat=True).first()
    locked.patient = None
    locked.save(update_fields=["patient"])
    audit_record(
        actor=actor,
        action="conversation.unlink_patient",
        obj=locked,
        location_id=location_id,
        context=context,
        metadata={"patient": str(previous)},
    )
    return locked


RETAIN_REASON_MIN = 5


@transaction.atomic
def conversation_retain(
    *, actor: User, contact: Contact, retain: bool, reason: str = "", context: AuditContext | None = None
) -> Contact:
    """Flag the conversation "retain" (its texts and media are kept past the 90-day retention, for
    clinical or legal reasons, with the reason), or lift the flag. Flagging is for staff who handle
    conversations; lifting it lets the texts be deleted, so it needs `settings.manage`."""
    if retain:
        require_capability(actor, "messaging.send", "keep WhatsApp conversations")
        reason = " ".join(reason.split())
        if len(reason) < RETAIN_REASON_MIN:
            raise ValidationError({"reason": "Say why the conversation must be kept (e.g. a medico-legal case)."})
    else:
        require_capability(actor, "settings.manage", "let kept WhatsApp conversations be deleted")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if (locked.retained_at is not None) == retain:
        return locked
    locked.retained_at = timezone.now() if retain else None
    locked.retained_by = actor if retain else None
    locked.retain_reason = reason[:500] if retain else None
    locked.save(update_fields=["retained_at", "retained_by", "retain_reason"])
    audit_record(
        actor=actor,
        action="conversation.retain" if retain else "conversation.retain_lifted",
        obj=locked,
        location_id=locked.patient.registered_location_id if locked.patient else None,
        context=context,
        changed_fields=["retained_at"],
    )
    return locked
