"""An issued invoice's PDF (and a receipt's or credit note's) to the patient on WhatsApp, through
messaging's outbox.

Billing sits above messaging, so it registers its PDF with messaging (`register_document_source`:
the worker renders the invoice at send time and uploads it to Meta like a signed prescription) and
offers the patient's issued invoices in the chart conversation's "Send PDF" list
(`register_sendable_documents`). A document message is free-form, so it goes only inside the
24-hour window after the patient last wrote; opt-out (STOP) and a restricted record stop it exactly
as they stop the chart's "Send PDF". Drafts are never sent. The file is named after the invoice
number only (no patient name): `Invoice KOR-2627-0042.pdf`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.models import AuditEvent
from audit.services import audit_record
from billing import pdf
from billing.models import CreditNote, Invoice, Payment
from patients.models import Patient

SOURCE = "billing.invoice"
RECEIPT_SOURCE = "billing.payment"
CREDIT_NOTE_SOURCE = "billing.creditnote"
KIND = "invoice"
SENDABLE_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID, Invoice.Status.PAID, Invoice.Status.CANCELLED)
OFFERED = 5  # newest issued invoices offered in the chart's "Send PDF" list
DRAFT_MESSAGE = "A draft invoice cannot be sent: issue it first."


def invoice_filename(invoice: Invoice) -> str:
    return f"Invoice {invoice.number.replace('/', '-')}.pdf"


def invoice_caption(invoice: Invoice) -> str:
    on = f" of {invoice.invoice_date:%d %b %Y}" if invoice.invoice_date else ""
    return f"Your invoice {invoice.number}{on} (₹{invoice.total})"


def can_send(user: Any) -> bool:
    return bool(user.has_capability("billing.collect") and user.has_capability("messaging.send"))


def sendable(invoice: Invoice) -> bool:
    return not invoice.is_draft and invoice.status in SENDABLE_STATUSES and bool(invoice.number)


@dataclass(frozen=True)
class _Document:
    """What messaging's outbox needs of a billing PDF (a credit note has no patient of its own)."""

    pk: Any
    patient_id: Any
    location_id: Any


def _send(
    *,
    actor: User,
    obj: Any,
    patient: Patient,
    source: str,
    kind: str,
    filename: str,
    caption: str,
    idempotency_key: str,
    context: AuditContext | None,
) -> Any:
    from messaging import inbox

    require_capability(actor, "billing.collect", "send invoices")
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    with transaction.atomic():
        message = inbox.patient_send_document(
            actor=actor,
            patient=patient,
            document=_Document(pk=obj.pk, patient_id=patient.pk, location_id=obj.location_id),
            filename=filename,
            caption=caption,
            idempotency_key=f"{kind}:{obj.pk}:{idempotency_key}",
            context=context,
            source=source,
            kind=kind,
        )
        action = f"{kind}.send_whatsapp"
        repeated = AuditEvent.objects.filter(
            action=action, object_id=str(obj.pk), metadata__message=str(message.pk)
        ).exists()  # a double press: the outbox sent nothing new, so nothing new to record
        if not repeated:
            audit_record(
                actor=actor,
                action=action,
                obj=obj,
                location_id=obj.location_id,
                context=context,
                metadata={"message": str(message.pk), "status": message.status},
            )
    return message


def invoice_send_whatsapp(
    *, actor: User, invoice: Invoice, idempotency_key: str, context: AuditContext | None = None
) -> Any:
    """Queue the invoice's PDF to its patient as a WhatsApp document (once per key). Raises
    ValidationError with the sentence to show (draft, window closed, opted out); returns the
    outbound message, which may already be `failed` with its reason (restricted, not configured)."""
    if not sendable(invoice):
        raise ValidationError({"invoice": DRAFT_MESSAGE}, code="draft")
    return _send(
        actor=actor,
        obj=invoice,
        patient=invoice.patient,
        source=SOURCE,
        kind=KIND,
        filename=invoice_filename(invoice),
        caption=invoice_caption(invoice),
        idempotency_key=idempotency_key,
        context=context,
    )


def receipt_filename(payment: Payment) -> str:
    title = "Refund voucher" if payment.kind == Payment.Kind.REFUND else "Receipt"
    return f"{title} {payment.receipt_number.replace('/', '-')}.pdf"


def receipt_send_whatsapp(
    *, actor: User, payment: Payment, idempotency_key: str, context: AuditContext | None = None
) -> Any:
    """A payment's receipt (or a refund's voucher) as a WhatsApp document, like the invoice."""
    if not payment.receipt_number:
        raise ValidationError({"payment": "This payment has no receipt to send."}, code="no_receipt")
    title = "refund voucher" if payment.kind == Payment.Kind.REFUND else "receipt"
    return _send(
        actor=actor,
        obj=payment,
        patient=payment.patient,
        source=RECEIPT_SOURCE,
        kind="receipt",
        filename=receipt_filename(payment),
        caption=f"Your {title} {payment.receipt_number} (₹{payment.amount})",
        idempotency_key=idempotency_key,
        context=context,
    )


def credit_note_filename(note: CreditNote) -> str:
    return f"Credit note {note.number.replace('/', '-')}.pdf"


def credit_note_send_whatsapp(
    *, actor: User, note: CreditNote, idempotency_key: str, context: AuditContext | None = None
) -> Any:
    """A credit note as a WhatsApp document, like the invoice."""
    return _send(
        actor=actor,
        obj=note,
        patient=note.invoice.patient,
        source=CREDIT_NOTE_SOURCE,
        kind="credit_note",
        filename=credit_note_filename(note),
        caption=f"Your credit note {note.number} against invoice {note.invoice.number} (₹{note.total})",
        idempotency_key=idempotency_key,
        context=context,
    )


def _read(invoice_id: str) -> bytes | None:
    """The worker's read of the PDF at send time (None: gone, or no longer sendable)."""
    invoice = Invoice.objects.select_related("patient", "location").filter(pk=invoice_id).first()
    if invoice is None or not sendable(invoice):
        return None
    return pdf.invoice_pdf(invoice)


def _read_receipt(payment_id: str) -> bytes | None:
    payment = Payment.objects.select_related("patient", "location", "invoice").filter(pk=payment_id).first()
    return pdf.receipt_pdf(payment) if payment is not None and payment.receipt_number else None


def _read_credit_note(note_id: str) -> bytes | None:
    note = CreditNote.objects.select_related("invoice__patient", "location").filter(pk=note_id).first()
    return pdf.credit_note_pdf(note) if note is not None else None


def _chart_invoices(user: Any, patient: Patient) -> list[Any]:
    from billing.access import invoices_visible_to
    from messaging.chart import SendableDocument

    if not can_send(user):
        return []
    invoices = (
        invoices_visible_to(user)
        .filter(patient=patient, status__in=SENDABLE_STATUSES)
        .exclude(number="")
        .order_by("-issued_at")[:OFFERED]
    )
    return [
        SendableDocument(
            document=invoice,
            label=f"Invoice {invoice.number} ({invoice.get_status_display().lower()}, ₹{invoice.total})",
            filename=invoice_filename(invoice),
            caption=invoice_caption(invoice),
            source=SOURCE,
            kind=KIND,
        )
        for invoice in invoices
    ]


def register() -> None:
    from messaging.chart import register_sendable_documents
    from messaging.services import register_document_source

    register_document_source(SOURCE, _read)
    register_document_source(RECEIPT_SOURCE, _read_receipt)
    register_document_source(CREDIT_NOTE_SOURCE, _read_credit_note)
    register_sendable_documents(_chart_invoices)
