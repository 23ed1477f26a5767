"""What the billing app holds about a patient, registered in the patient-data registry (invoices
with their lines, credit notes and payment links, payments and refunds), and the billing retention rule.

Billing records are kept RETENTION_BILLING_YEARS (8, or the clinic's longer period) after the end
of the Indian financial year they belong to (1 April - 31 March; `financial_year` is the year it
starts): an invoice of FY 2017-18 is kept until 31 March 2026 and purged from 1 April 2026. A
draft that never got a number counts in the financial year it was created. Patients under legal
hold are skipped. Purged in batches of invoices (with their payments, refunds and credit notes),
then payments not tied to an invoice (advances), each batch one transaction; a purged row is gone,
so a crashed run resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db.models import Max, Q, QuerySet

from audit.retention import Cursor, RetentionRule, register_rule
from billing.models import CreditNote, CreditNoteLine, Invoice, Payment, PaymentLink
from billing.numbering import financial_year
from patients import registry
from patients.models import Patient
from patients.registry import Erased, Records, record_of

INVOICE_FIELDS = (
    "status", "kind", "number", "financial_year", "invoice_date", "issued_at", "gross", "discount", "taxable_value",
    "cgst", "sgst", "igst", "round_off", "total", "credited", "paid", "created_at",
)  # fmt: skip
PAYMENT_FIELDS = ("kind", "mode", "amount", "reference", "reason", "receipt_number", "financial_year", "received_at")


def kept_until(fy: int, years: int | None = None) -> dt.date:
    """The last day a record of financial year `fy` (the year it starts) must be kept."""
    years = registry.retention_years(registry.BILLING) if years is None else years
    return dt.date(fy + 1 + years, 3, 31)


def last_purgeable_year(today: dt.date) -> int:
    """The newest financial year whose records may go on `today` (kept_until(fy) < today)."""
    years = registry.retention_years(registry.BILLING)
    last_end = today.year if today > dt.date(today.year, 3, 31) else today.year - 1  # the latest 31 March passed
    return last_end - 1 - years


def _export(patient: Patient) -> Records:
    ids = registry.patient_ids(patient)
    invoices = Invoice.objects.filter(patient_id__in=ids).select_related("location").prefetch_related("lines")
    return {
        "invoices": [
            {
                **record_of(i, INVOICE_FIELDS),
                "location": i.location.name,
                "lines": [
                    record_of(line, ("description", "sac_hsn", "quantity", "gst_rate")) for line in i.lines.all()
                ],
                "payment_links": [
                    record_of(link, ("status", "amount", "short_url", "created_at", "paid_at", "cancelled_at"))
                    for link in i.payment_links.all()
                ],
                "credit_notes": [
                    record_of(c, ("number", "note_date", "reason", "issued_at")) for c in i.credit_notes.all()
                ],
            }
            for i in invoices.order_by("created_at")
        ],
        "payments": [
            {**record_of(p, PAYMENT_FIELDS), "invoice": p.invoice.number if p.invoice else None}
            for p in Payment.objects.filter(patient_id__in=ids).select_related("invoice").order_by("received_at")
        ],
    }


def _delete_payments(payments: QuerySet[Payment]) -> int:
    ids = list(payments.values_list("pk", flat=True))
    rows = Payment.objects.filter(refund_of_id__in=ids).delete()[0]
    return rows + Payment.objects.filter(pk__in=ids).delete()[0]


def _delete_invoices(invoices: QuerySet[Invoice]) -> int:
    ids = list(invoices.values_list("pk", flat=True))
    rows = _delete_payments(Payment.objects.filter(invoice_id__in=ids, refund_of__isnull=True))
    rows += Payment.objects.filter(invoice_id__in=ids).delete()[0]  # refunds whose payment was elsewhere
    rows += PaymentLink.objects.filter(invoice_id__in=ids).delete()[0]
    notes = CreditNote.objects.filter(invoice_id__in=ids)
    rows += CreditNoteLine.objects.filter(credit_note__in=notes).delete()[0]
    rows += notes.delete()[0]
    return rows + Invoice.objects.filter(pk__in=ids).delete()[0]  # lines cascade


def _erase(patient: Patient) -> Erased:
    ids = registry.patient_ids(patient)
    rows = _delete_invoices(Invoice.objects.filter(patient_id__in=ids))
    rows += _delete_payments(Payment.objects.filter(patient_id__in=ids, refund_of__isnull=True))
    rows += Payment.objects.filter(patient_id__in=ids).delete()[0]
    return Erased(rows=rows)


def _retain_until(patient: Patient) -> dt.date | None:
    ids = registry.patient_ids(patient)
    years = [
        Invoice.objects.filter(patient_id__in=ids, financial_year__isnull=False).aggregate(y=Max("financial_year"))[
            "y"
        ],
        Payment.objects.filter(patient_id__in=ids).aggregate(y=Max("financial_year"))["y"],
    ]
    drafts = Invoice.objects.filter(patient_id__in=ids, financial_year__isnull=True).aggregate(c=Max("created_at"))["c"]
    if drafts is not None:
        years.append(financial_year(drafts.date()))
    found = [y for y in years if y is not None]
    return kept_until(max(found)) if found else None


# --- the retention rule --------------------------------------------------------------------------------


def _invoices_due(now: dt.datetime) -> QuerySet[Invoice]:
    last = last_purgeable_year(now.date())
    return Invoice.objects.filter(
        Q(financial_year__lte=last)
        | Q(financial_year__isnull=True, created_at__lt=dt.datetime(last + 1, 4, 1, tzinfo=dt.UTC))
    ).exclude(patient__legal_hold_at__isnull=False)


def _payments_due(now: dt.datetime) -> QuerySet[Payment]:
    return Payment.objects.filter(
        invoice__isnull=True, refund_of__isnull=True, financial_year__lte=last_purgeable_year(now.date())
    ).exclude(patient__legal_hold_at__isnull=False)


def purge_billing(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    invoices = list(_invoices_due(now).order_by("pk").values_list("pk", flat=True)[:limit])
    _delete_invoices(Invoice.objects.filter(pk__in=invoices))
    room = limit - len(invoices)
    payments = list(_payments_due(now).order_by("pk").values_list("pk", flat=True)[:room]) if room > 0 else []
    _delete_payments(Payment.objects.filter(pk__in=payments))
    return len(invoices) + len(payments)


def _restrict(patient: Patient) -> None:
    """A restricted record is used no further: the patient's open Razorpay payment links are
    cancelled at Razorpay by a task after the restriction commits (Razorpay may be slow or down; the
    task retries), and `invoice_payment_link_create` makes no new one."""
    from django.db import transaction

    from billing.tasks import payment_links_close_task

    invoice_ids = {
        str(pk)
        for pk in PaymentLink.objects.filter(
            invoice__patient_id__in=registry.patient_ids(patient), status__in=PaymentLink.LIVE
        ).values_list("invoice_id", flat=True)
    }

    def enqueue(invoice_id: str) -> None:
        payment_links_close_task.delay(invoice_id)

    for invoice_id in sorted(invoice_ids):
        transaction.on_commit(partial(enqueue, invoice_id))


def register() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="billing",
            label="Invoices, credit notes, payments and refunds",
            category=registry.BILLING,
            export=_export,
            erase=_erase,
            restrict=_restrict,
            retain_until=_retain_until,
            erase_order=30,
        )
    )
    register_rule(
        RetentionRule(
            key="billing.records",
            label="Invoices, credit notes and payments more than the billing retention period after their "
            "financial year ended; patients under legal hold are kept",
            count_due=lambda now: _invoices_due(now).count() + _payments_due(now).count(),
            purge_batch=purge_billing,
        )
    )
