"""An issued invoice's PDF to the patient on WhatsApp, through messaging's outbox.

Billing sits above messaging, so it registers its PDF with messaging (`register_document_source`:
the worker renders the invoice at send time and uploads it to Meta like a signed prescription) and
offers the patient's issued invoices in the chart conversation's "Send PDF" list
(`register_sendable_documents`). A document message is free-form, so it goes only inside the
24-hour window after the patient last wrote; opt-out (STOP) and a restricted record stop it exactly
as they stop the chart's "Send PDF". Drafts are never sent. The file is named after the invoice
number only (no patient name): `Invoice KOR-2627-0042.pdf`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.models import AuditEvent
from audit.services import audit_record
from billing import pdf
from billing.models import Invoice
from patients.models import Patient

SOURCE = "billing.invoice"
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


def invoice_send_whatsapp(
    *, actor: User, invoice: Invoice, idempotency_key: str, context: AuditContext | None = None
) -> Any:
    """Queue the invoice's PDF to its patient as a WhatsApp document (once per key). Raises
    ValidationError with the sentence to show (draft, window closed, opted out); returns the
    outbound message, which may already be `failed` with its reason (restricted, not configured)."""
    from messaging import inbox

    require_capability(actor, "billing.collect", "send invoices")
    require_capability(actor, "messaging.send", "send WhatsApp messages")
    if not sendable(invoice):
        raise ValidationError({"invoice": DRAFT_MESSAGE}, code="draft")
    with transaction.atomic():
        message = inbox.patient_send_document(
            actor=actor,
            patient=invoice.patient,
            document=invoice,
            filename=invoice_filename(invoice),
            caption=invoice_caption(invoice),
            idempotency_key=f"invoice:{invoice.pk}:{idempotency_key}",
            context=context,
            source=SOURCE,
            kind=KIND,
        )
        repeated = AuditEvent.objects.filter(
            action="invoice.send_whatsapp", object_id=str(invoice.pk), metadata__message=str(message.pk)
        ).exists()  # a double press: the outbox sent nothing new, so nothing new to record
        if not repeated:
            audit_record(
                actor=actor,
                action="invoice.send_whatsapp",
                obj=invoice,
                location_id=invoice.location_id,
                context=context,
                metadata={"message": str(message.pk), "status": message.status},
            )
    return message


def _read(invoice_id: str) -> bytes | None:
    """The worker's read of the PDF at send time (None: gone, or no longer sendable)."""
    invoice = Invoice.objects.select_related("patient", "location").filter(pk=invoice_id).first()
    if invoice is None or not sendable(invoice):
        return None
    return pdf.invoice_pdf(invoice)


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
    register_sendable_documents(_chart_invoices)
