"""Billing reports, scoped to what the user may see: the day book (money in and out per location
and payment mode), outstanding dues, and the monthly GST summary. Each is a list of rows for the
page and a CSV (cells escaped against formulas by `docos.csv_cells.safe_cell`; amounts are written
as plain numbers)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts.models import Location
from billing.access import credit_notes_visible_to, invoices_visible_to, payments_visible_to
from billing.models import Invoice, Payment, VendorStatus
from billing.services import location_today_range
from docos.csv_cells import safe_cell

ZERO = Decimal("0.00")


def rate_text(rate: Decimal) -> str:
    """18.00 -> "18", 0.25 -> "0.25", 40.00 -> "40" (never "4E+1")."""
    return f"{rate:.2f}".rstrip("0").rstrip(".")


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell if isinstance(cell, Decimal | int) else safe_cell(cell) for cell in row])
    return out.getvalue()


# --- day book ---------------------------------------------------------------------------------------


@dataclass
class DayBook:
    location: Location
    day: dt.date
    entries: list[Payment]
    by_mode: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # mode -> {"in", "out", "net"}
    total_in: Decimal = ZERO
    total_out: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.total_in - self.total_out


def day_book(*, user: Any, location: Location, day: dt.date) -> DayBook:
    start, end = location_today_range(location, day)
    entries = list(
        payments_visible_to(user)
        .filter(location=location, received_at__gte=start, received_at__lt=end)
        .order_by("received_at", "serial")
    )
    book = DayBook(location=location, day=day, entries=entries)
    modes: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"in": ZERO, "out": ZERO, "net": ZERO})
    for entry in entries:
        if entry.mode == Payment.Mode.ADVANCE:
            continue  # moves money between the advance and an invoice: no cash changes hands
        if entry.vendor_status == VendorStatus.FAILED:
            continue  # Razorpay refused the refund: no money left the clinic
        row = modes[entry.get_mode_display()]
        if entry.kind == Payment.Kind.REFUND:
            row["out"] += entry.amount
            book.total_out += entry.amount
        else:
            row["in"] += entry.amount
            book.total_in += entry.amount
        row["net"] = row["in"] - row["out"]
    book.by_mode = dict(sorted(modes.items()))
    return book


def _failed(entry: Payment) -> bool:
    return entry.vendor_status == VendorStatus.FAILED


def day_book_csv(book: DayBook) -> str:
    return to_csv(
        ["Time", "Receipt", "Kind", "Mode", "Reference", "Invoice", "Patient MRN", "In", "Out"],
        [
            (
                e.received_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                e.receipt_number,
                e.get_kind_display() + (" (failed at Razorpay)" if _failed(e) else ""),
                e.get_mode_display(),
                e.reference,
                e.invoice.number if e.invoice else "",
                e.patient.mrn,
                ZERO if e.kind == Payment.Kind.REFUND or _failed(e) else e.amount,
                e.amount if e.kind == Payment.Kind.REFUND and not _failed(e) else ZERO,
            )
            for e in book.entries
        ],
    )


# --- outstanding dues -------------------------------------------------------------------------------


def outstanding(*, user: Any, location: Location | None = None) -> list[Invoice]:
    invoices = invoices_visible_to(user).filter(status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID])
    if location is not None:
        invoices = invoices.filter(location=location)
    return list(invoices.order_by("invoice_date", "number"))


def outstanding_csv(invoices: list[Invoice]) -> str:
    return to_csv(
        ["Invoice", "Date", "Location", "Patient", "MRN", "Phone", "Total", "Credited", "Paid", "Balance"],
        [
            (
                i.number,
                i.invoice_date.isoformat() if i.invoice_date else "",
                i.location.name,
                i.patient.full_name,
                i.patient.mrn,
                i.patient.phone,
                i.total,
                i.credited,
                i.paid,
                i.balance,
            )
            for i in invoices
        ],
    )


# --- GST summary --------------------------------------------------------------------------------------


@dataclass
class GstRow:
    location: str
    gstin: str
    document: str  # "Invoices" or "Credit notes"
    rate: Decimal
    count: int = 0
    taxable: Decimal = ZERO
    cgst: Decimal = ZERO
    sgst: Decimal = ZERO
    igst: Decimal = ZERO


def gst_summary(*, user: Any, month: dt.date) -> list[GstRow]:
    """Per location, per GST rate: invoices issued in `month` (taxable and exempt/nil values and tax),
    then credit notes issued in it (as negative amounts), as GSTR-1 and GSTR-3B want them summed."""
    first = month.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    rows: dict[tuple[str, str, str, Decimal], GstRow] = {}
    invoices = (
        invoices_visible_to(user)
        .exclude(status=Invoice.Status.DRAFT)
        .filter(invoice_date__gte=first, invoice_date__lt=after)
        .prefetch_related("lines")
    )
    for invoice in invoices:
        seen: set[Decimal] = set()
        for line in invoice.lines.all():
            key = (invoice.location.name, invoice.supplier_gstin, "Invoices", line.gst_rate)
            row = rows.setdefault(key, GstRow(*key))
            if line.gst_rate not in seen:
                row.count += 1
                seen.add(line.gst_rate)
            row.taxable += line.taxable_value
            row.cgst += line.cgst
            row.sgst += line.sgst
            row.igst += line.igst
    notes = (
        credit_notes_visible_to(user)
        .filter(note_date__gte=first, note_date__lt=after)
        .prefetch_related("lines__invoice_line")
    )
    for note in notes:
        seen = set()
        for credit in note.lines.all():
            rate = credit.invoice_line.gst_rate
            key = (note.location.name, note.invoice.supplier_gstin, "Credit notes", rate)
            row = rows.setdefault(key, GstRow(*key))
            if rate not in seen:
                row.count += 1
                seen.add(rate)
            row.taxable -= credit.taxable_value
            row.cgst -= credit.cgst
            row.sgst -= credit.sgst
            row.igst -= credit.igst
    return sorted(rows.values(), key=lambda r: (r.location, r.document != "Invoices", r.rate))


def gst_summary_csv(rows: list[GstRow]) -> str:
    return to_csv(
        ["Location", "GSTIN", "Documents", "GST rate %", "Count", "Taxable or exempt value", "CGST", "SGST", "IGST"],
        [
            (r.location, r.gstin, r.document, rate_text(r.rate), r.count, r.taxable, r.cgst, r.sgst, r.igst)
            for r in rows
        ],
    )
