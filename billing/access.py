"""Who may open which invoice, credit note and payment: the ONE place that turns an id from a
request into a billing record.

Billing records belong to a patient and to the location that issued them, and are scoped exactly
like the clinical records (`patients.access.scope_patient_records`): a user restricted to some
branches sees those made at their branches, or of a patient they hold a live "open at this branch"
grant for. The capability (`billing.view` by default) is checked here too. A missing, malformed,
other clinic's (another schema: absent), other branch's or not-permitted id all raise the same
Http404, and every successful open is noted in the record-access log.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from audit.access_log import record_read
from billing.models import CreditNote, Invoice, Payment, PaymentLink, PriceItem
from docos.ids import parse_uuid
from patients.access import record_access, scope_patient_records

VIEW = "billing.view"


def _require(user: Any, capability: str, label: str) -> None:
    if not user.has_capability(VIEW) or not user.has_capability(capability):
        raise Http404(f"No such {label}")


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("patient", "location", "visit", "created_by", "issued_by")


def invoices_visible_to(user: Any) -> QuerySet[Invoice]:
    if not user.has_capability(VIEW):
        return Invoice.objects.none()
    return scope_patient_records(_invoices(), user)


def payments_visible_to(user: Any) -> QuerySet[Payment]:
    if not user.has_capability(VIEW):
        return Payment.objects.none()
    return scope_patient_records(Payment.objects.select_related("patient", "location", "invoice", "received_by"), user)


def credit_notes_visible_to(user: Any) -> QuerySet[CreditNote]:
    if not user.has_capability(VIEW):
        return CreditNote.objects.none()
    return scope_patient_records(
        CreditNote.objects.select_related("invoice", "invoice__patient", "location", "issued_by"),
        user,
        patient_field="invoice__patient",
    )


def invoice_access(*, user: Any, invoice_id: Any, capability: str = VIEW, what: str = "invoice") -> Invoice:
    """The invoice, or Http404. `capability` is what the caller is about to do (`billing.collect`, ...)."""
    _require(user, capability, "invoice")
    return record_access(_invoices(), user=user, record_id=invoice_id, label="invoice", what=what)


def payment_access(*, user: Any, payment_id: Any, capability: str = VIEW, what: str = "payment") -> Payment:
    _require(user, capability, "payment")
    return record_access(
        Payment.objects.select_related("patient", "location", "invoice", "received_by", "refund_of"),
        user=user,
        record_id=payment_id,
        label="payment",
        what=what,
    )


def payment_link_access(*, user: Any, link_id: Any, capability: str = VIEW) -> PaymentLink:
    """A Razorpay payment link, scoped like its invoice (the same 404 for missing and forbidden)."""
    _require(user, capability, "payment link")
    pk = parse_uuid(link_id)
    link = PaymentLink.objects.filter(pk=pk).only("pk", "invoice_id").first() if pk else None
    if link is None:
        raise Http404("No such payment link")
    invoice = invoice_access(user=user, invoice_id=link.invoice_id, capability=capability, what="payment link")
    full = PaymentLink.objects.get(pk=link.pk)
    full.invoice = invoice
    return full


def credit_note_access(*, user: Any, credit_note_id: Any, what: str = "credit note") -> CreditNote:
    _require(user, VIEW, "credit note")
    pk = parse_uuid(credit_note_id)
    note = credit_notes_visible_to(user).filter(pk=pk).first() if pk else None
    if note is None:
        raise Http404("No such credit note")
    record_read(user=user, patient_id=note.invoice.patient_id, what=what)
    return note


def billable_visit_access(*, user: Any, visit_id: Any) -> Any:
    """A visit to bill, for staff who may create invoices (`billing.collect`) but not read clinical
    notes: scoped like every patient record; the page shows no clinical text."""
    from clinical.models import Visit

    _require(user, "billing.collect", "visit")
    return record_access(
        Visit.objects.select_related("patient", "location", "clinician"),
        user=user,
        record_id=visit_id,
        label="visit",
        what="invoice",
    )


def unbilled_visits(*, user: Any, patient: Any, limit: int = 5) -> list[Any]:
    """The patient's recent visits at the user's branches with no invoice yet (date and clinician only)."""
    from clinical.models import Visit

    if not user.has_capability("billing.collect"):
        return []
    visits = scope_patient_records(Visit.objects.filter(patient=patient), user).exclude(
        pk__in=Invoice.objects.filter(visit__isnull=False).values("visit_id")
    )
    return list(visits.select_related("clinician", "location").order_by("-visit_at")[:limit])


def price_item_access(user: Any, item_id: Any, *, capability: str = "billing.manage") -> PriceItem:
    """A price-list item (clinic-wide, not a patient record) for a user who may manage the list."""
    _require(user, capability, "price-list item")
    pk = parse_uuid(item_id)
    item = PriceItem.objects.filter(pk=pk).first() if pk is not None else None
    if item is None:
        raise Http404("No such price-list item")
    return item
