"""What /verify/<code> shows for an invoice: the facts printed on it that a reader (an insurer, an
employer reimbursing a bill) can compare with the paper, and its status now. Never the patient."""

from __future__ import annotations

from billing.models import Invoice

STATUS_SENTENCES: dict[str, str] = {
    Invoice.Status.ISSUED: "Issued, not paid yet",
    Invoice.Status.PARTLY_PAID: "Partly paid",
    Invoice.Status.PAID: "Paid in full",
    Invoice.Status.CANCELLED: "Cancelled by a credit note",
}


def invoice_facts(code: str) -> list[tuple[str, str]]:
    invoice = Invoice.objects.filter(verification_code=code).exclude(status=Invoice.Status.DRAFT).first()
    if invoice is None:
        return []
    facts = [
        ("Kind", invoice.get_kind_display()),
        ("Number", invoice.number),
        ("Invoice date", invoice.invoice_date.strftime("%d %B %Y") if invoice.invoice_date else "—"),
        ("Amount", f"₹{invoice.total:,.2f}"),
        ("Status", STATUS_SENTENCES.get(invoice.status, invoice.get_status_display())),
    ]
    if 0 < invoice.credited < invoice.total:  # part of it was taken back: the paper's amount is not what is owed
        facts.insert(-1, ("Credited by credit notes", f"₹{invoice.credited:,.2f}"))
    if invoice.supplier_gstin:
        facts.insert(1, ("Supplier GSTIN", invoice.supplier_gstin))
    return facts


def register() -> None:
    from clinics.verify_views import register_facts

    register_facts("invoice", invoice_facts)
