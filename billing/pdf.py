"""The printed invoice, receipt and credit note: their PDF context and rendering on the issuing
location's letterhead (`documents.signing.issuing_letterhead`) through `docos.pdf.render_pdf`.

A tax invoice (rule 46) and a bill of supply (rule 49) print the supplier's name, address and
GSTIN, the consecutive number (<= 16 characters) and date, the recipient's name and address, the
place of supply (state and code), for each line its SAC/HSN code, description, quantity, value,
discount and taxable value, and for taxable lines the rate and the CGST and SGST (or IGST)
amounts; the totals, the round-off, the amount payable in words (lakh and crore), and the words
"Bill of supply" or "Tax invoice". Rendered on demand from the frozen rows: the same invoice always
prints the same.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from billing import gst
from billing.models import CreditNote, Invoice, Payment
from clinics.verification import verification_url
from documents.signing import age_sex, issuing_letterhead, local_time

STYLESHEETS = ("css/pdf.css", "css/pdf_billing.css")


def _state(code: str) -> str:
    return f"{gst.STATES.get(code, '')} ({code})" if code else "—"


def _address(patient: Any) -> str:
    parts = [patient.address, patient.city, patient.state, patient.pin_code]
    return ", ".join(part.strip() for part in parts if part and part.strip())


def _tax_summary(invoice: Invoice) -> list[dict[str, Decimal]]:
    """Taxable value and tax per rate (the table under the lines)."""
    rows: dict[Decimal, dict[str, Decimal]] = defaultdict(
        lambda: {"taxable": Decimal("0"), "cgst": Decimal("0"), "sgst": Decimal("0"), "igst": Decimal("0")}
    )
    for line in invoice.lines.all():
        if line.gst_rate > 0:
            row = rows[line.gst_rate]
            row["taxable"] += line.taxable_value
            row["cgst"] += line.cgst
            row["sgst"] += line.sgst
            row["igst"] += line.igst
    return [{"rate": rate, **values} for rate, values in sorted(rows.items())]


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    issued = local_time(invoice.issued_at, invoice.location) if invoice.issued_at else None
    lines = list(invoice.lines.all())
    return {
        "invoice": invoice,
        "patient": invoice.patient,
        "age_sex": age_sex(invoice.patient),
        "address": _address(invoice.patient),
        "title": invoice.get_kind_display() if invoice.kind else "Draft invoice",
        "is_tax_invoice": invoice.kind == Invoice.Kind.TAX_INVOICE,
        "is_draft": invoice.is_draft,
        "issued_on": issued.strftime("%d %b %Y") if issued else "",
        "place_of_supply": _state(invoice.place_of_supply),
        "supplier_state": _state(invoice.supplier_state),
        "inter_state": invoice.inter_state,
        "lines": lines,
        "tax_summary": _tax_summary(invoice),
        "total_words": gst.rupees_in_words(invoice.total),
        "credit_notes": list(invoice.credit_notes.all()),
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    from docos.pdf import Verification, render_pdf

    code = invoice.verification_code  # blank on drafts (and on invoices issued before codes were given)
    return render_pdf(
        "pdf/invoice.html",
        invoice_context(invoice),
        letterhead=issuing_letterhead(invoice.location),
        verification=Verification(code=code, url=verification_url(code)) if code else None,
        stylesheets=STYLESHEETS,
    )


def receipt_context(payment: Payment) -> dict[str, Any]:
    at = local_time(payment.received_at, payment.location)
    return {
        "payment": payment,
        "patient": payment.patient,
        "title": "Refund voucher" if payment.kind == Payment.Kind.REFUND else "Receipt",
        "received_on": at.strftime("%d %b %Y, %H:%M"),
        "amount_words": gst.rupees_in_words(payment.amount),
        "invoice": payment.invoice,
    }


def receipt_pdf(payment: Payment) -> bytes:
    from docos.pdf import render_pdf

    return render_pdf(
        "pdf/receipt.html",
        receipt_context(payment),
        page_size="A5",
        letterhead=issuing_letterhead(payment.location),
        stylesheets=STYLESHEETS,
    )


def credit_note_context(note: CreditNote) -> dict[str, Any]:
    invoice = note.invoice
    return {
        "note": note,
        "invoice": invoice,
        "patient": invoice.patient,
        "address": _address(invoice.patient),
        "issued_on": note.note_date.strftime("%d %b %Y"),
        "invoice_on": invoice.invoice_date.strftime("%d %b %Y") if invoice.invoice_date else "",
        "place_of_supply": _state(invoice.place_of_supply),
        "lines": list(note.lines.select_related("invoice_line")),
        "total_words": gst.rupees_in_words(note.total),
        "is_tax_invoice": invoice.kind == Invoice.Kind.TAX_INVOICE,
    }


def credit_note_pdf(note: CreditNote) -> bytes:
    from docos.pdf import render_pdf

    return render_pdf(
        "pdf/credit_note.html",
        credit_note_context(note),
        letterhead=issuing_letterhead(note.location),
        stylesheets=STYLESHEETS,
    )
