"""Every write of patient billing: the price list, draft invoices and their lines, issuing,
payments, advance deposits, refunds and credit notes.

Rules kept here (the views and the API only parse and call):
- a draft has no number; issuing freezes the lines, rates (of the invoice date), place of supply and
  amounts, and takes the next number of the location's series (`billing.numbering`);
- an issued invoice is never edited: corrections and cancellations are credit notes;
- status follows the money: issued -> partly paid -> paid, or cancelled when credited in full;
- a payment never exceeds what is due (money beyond it is an advance deposit); a refund never
  exceeds what was paid and not yet refunded, and needs `billing.refund` and a reason;
- each of these writes an audit event with ids only (no names, no amounts in words, no PHI).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from accounts.models import Location, User
from audit.context import AuditContext
from audit.services import audit_record
from billing import gst
from billing.models import (
    CreditNote,
    CreditNoteLine,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    LocationPrice,
    Payment,
    PaymentLink,
    PriceItem,
    VendorStatus,
)
from billing.numbering import next_number
from clinical.models import Visit
from clinics.verification import new_code, verification_register
from documents.signing import current_clinic, local_time
from patients.access import patient_check_writable
from patients.models import Patient

ZERO = Decimal("0.00")
MAX_LINES = 200
MAX_AMOUNT = Decimal("9999999999.99")
LINE_TOTAL_MAX = Decimal("99999999.99")  # room for tax and many lines within MAX_AMOUNT


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def _price(field: str, value: Any) -> Decimal:
    """A price in rupees from a form or the API: a finite amount from zero to LINE_TOTAL_MAX, to the paisa."""
    try:
        amount = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise _fail(field, "Give the price in rupees, e.g. 450 or 450.50.") from None
    if not amount.is_finite():
        raise _fail(field, "Give the price in rupees, e.g. 450 or 450.50.")
    if amount < 0:
        raise _fail(field, "A price cannot be negative.")
    if amount > LINE_TOTAL_MAX:
        raise _fail(field, "This price is too large for an invoice line.")
    return gst.money(amount)


def local_today(location: Location) -> dt.date:
    return local_time(timezone.now(), location).date()


# --- price list ------------------------------------------------------------------------------------


def _check_item_fields(*, name: str, sac_hsn: str, tax_class: str) -> None:
    if not name.strip():
        raise _fail("name", "Give the item a name.")
    if tax_class not in gst.tax_classes():
        raise _fail("tax_class", "Choose one of the GST tax classes.")
    PriceItem(sac_hsn=sac_hsn).clean_fields(exclude=[f.name for f in PriceItem._meta.fields if f.name != "sac_hsn"])


@transaction.atomic
def price_item_create(
    *,
    actor: User,
    name: str,
    kind: str,
    sac_hsn: str,
    tax_class: str,
    default_price: Decimal,
    code: str = "",
    add_to_visits: bool = False,
    context: AuditContext | None = None,
) -> PriceItem:
    default_price = _price("default_price", default_price)
    _check_item_fields(name=name, sac_hsn=sac_hsn, tax_class=tax_class)
    if PriceItem.objects.filter(name__iexact=name.strip()).exists():
        raise _fail("name", "The price list already has an item of this name.")
    item = PriceItem.objects.create(
        name=name.strip(),
        kind=kind,
        sac_hsn=sac_hsn,
        tax_class=tax_class,
        default_price=default_price,
        code=code.strip(),
        add_to_visits=add_to_visits,
    )
    audit_record(actor=actor, action="price_item.create", obj=item, context=context)
    return item


@transaction.atomic
def price_item_update(*, actor: User, item: PriceItem, context: AuditContext | None = None, **fields: Any) -> PriceItem:
    """Change an item: issued invoices keep what they froze; drafts pick up the new rate class on their next change."""
    allowed = {"name", "kind", "sac_hsn", "tax_class", "default_price", "code", "add_to_visits", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Unknown fields {sorted(unknown)}")
    for name, value in fields.items():
        setattr(item, name, _price(name, value) if name == "default_price" else value)
    _check_item_fields(name=item.name, sac_hsn=item.sac_hsn, tax_class=item.tax_class)
    if PriceItem.objects.filter(name__iexact=item.name.strip()).exclude(pk=item.pk).exists():
        raise _fail("name", "The price list already has an item of this name.")
    item.save()
    audit_record(actor=actor, action="price_item.update", obj=item, context=context, changed_fields=sorted(fields))
    return item


@transaction.atomic
def location_price_set(
    *, actor: User, item: PriceItem, location: Location, price: Decimal | None, context: AuditContext | None = None
) -> None:
    """Set (or with None, clear) a location's own price for an item."""
    if price is None:
        LocationPrice.objects.filter(item=item, location=location).delete()
    else:
        price = _price("price", price)
        LocationPrice.objects.update_or_create(item=item, location=location, defaults={"price": price})
    audit_record(actor=actor, action="price_item.location_price", obj=item, location_id=location.pk, context=context)


def price_at(item: PriceItem, location: Location) -> Decimal:
    own = LocationPrice.objects.filter(item=item, location=location).values_list("price", flat=True).first()
    return own if own is not None else item.default_price


# --- registration and place of supply -----------------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    gstin: str
    state: str  # GST state code, "" when unknown


def supplier_for(location: Location) -> Supplier:
    """The GSTIN an invoice of `location` is issued under (the branch's own, else the clinic's) and its state."""
    clinic = current_clinic()
    gstin = (location.gstin or clinic.gstin or "").strip().upper()
    state = gstin[:2] if gstin else gst.state_code_for(clinic.billing_state)
    return Supplier(gstin=gstin, state=state)


# --- drafts ----------------------------------------------------------------------------------------


def _lock(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _require_draft(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.DRAFT:
        raise ValidationError(
            "An issued invoice cannot be changed; issue a credit note to correct or cancel it.", code="issued"
        )


def _recompute(invoice: Invoice, *, day: dt.date) -> gst.Totals:
    """Rates of `day`, the amounts of every line and the invoice's totals, saved on the rows."""
    lines = list(invoice.lines.order_by("position", "id"))
    supplier_state = invoice.supplier_state or supplier_for(invoice.location).state
    place = invoice.place_of_supply or supplier_state
    inter_state = bool(place and supplier_state and place != supplier_state)
    for line in lines:
        line.gst_rate = gst.rate_on(line.tax_class, day)
    try:
        totals = gst.compute(
            [gst.LineInput(line.quantity, line.unit_price, line.gst_rate, line.discount) for line in lines],
            invoice_discount=invoice.invoice_discount,
            inter_state=inter_state,
        )
    except gst.DiscountTooLarge as error:
        raise _fail("invoice_discount", str(error)) from None
    for line, amounts in zip(lines, totals.lines, strict=True):
        line.invoice_discount = amounts.invoice_discount
        line.taxable_value = amounts.taxable
        line.cgst, line.sgst, line.igst = amounts.cgst, amounts.sgst, amounts.igst
        line.total = amounts.total
    InvoiceLine.objects.bulk_update(
        lines, ["gst_rate", "invoice_discount", "taxable_value", "cgst", "sgst", "igst", "total"]
    )
    invoice.gross, invoice.discount = totals.gross, totals.discount
    invoice.taxable_value, invoice.non_taxable_value = totals.taxable, totals.non_taxable
    invoice.cgst, invoice.sgst, invoice.igst = totals.cgst, totals.sgst, totals.igst
    invoice.round_off, invoice.total = totals.round_off, totals.total
    invoice.save()
    return totals


@transaction.atomic
def invoice_create(
    *,
    actor: User,
    patient: Patient,
    location: Location,
    visit: Visit | None = None,
    context: AuditContext | None = None,
) -> Invoice:
    """A draft invoice for `patient` at `location` (for `visit`, which must be the patient's)."""
    patient_check_writable(actor=actor, patient=patient)
    if visit is not None and visit.patient_id != patient.pk:
        raise _fail("visit", "This visit is another patient's.")
    if not location.is_active:
        raise _fail("location", "This location is closed.")
    invoice = Invoice.objects.create(patient=patient, location=location, visit=visit, created_by=actor)
    audit_record(actor=actor, action="invoice.create", obj=invoice, location_id=location.pk, context=context)
    return invoice


def visit_suggested_items(visit: Visit) -> list[PriceItem]:
    """Price-list items for a visit: those marked for every visit (the consultation fee), then each
    procedure item whose name the visit's "procedures performed" mentions."""
    items = list(PriceItem.objects.filter(is_active=True, add_to_visits=True).order_by("name"))
    text = (visit.procedures_performed or "").lower()
    if text:
        for item in PriceItem.objects.filter(is_active=True, add_to_visits=False).exclude(kind="medicine"):
            if item.name.lower() in text and item not in items:
                items.append(item)
    return items


@transaction.atomic
def invoice_create_for_visit(*, actor: User, visit: Visit, context: AuditContext | None = None) -> Invoice:
    """A draft for the visit with its suggested lines; an existing draft for the visit is reused."""
    existing = Invoice.objects.filter(visit=visit, status=Invoice.Status.DRAFT).first()
    if existing is not None:
        return existing
    invoice = invoice_create(actor=actor, patient=visit.patient, location=visit.location, visit=visit, context=context)
    for item in visit_suggested_items(visit):
        _add_line(invoice, item=item, quantity=Decimal("1"))
    _recompute(invoice, day=local_today(invoice.location))
    return invoice


def _add_line(
    invoice: Invoice,
    *,
    item: PriceItem | None,
    quantity: Decimal,
    unit_price: Decimal | None = None,
    discount: Decimal = ZERO,
    description: str = "",
    sac_hsn: str = "",
    tax_class: str = "",
    kind: str = "",
) -> InvoiceLine:
    if invoice.lines.count() >= MAX_LINES:
        raise _fail("lines", f"An invoice has at most {MAX_LINES} lines.")
    if quantity <= 0 or quantity >= 1_000_000:
        raise _fail("quantity", "Enter a quantity above zero.")
    if item is not None:
        description = description or item.name
        sac_hsn = sac_hsn or item.sac_hsn
        tax_class = tax_class or item.tax_class
        kind = kind or item.kind
        if unit_price is None:
            unit_price = price_at(item, invoice.location)
    if unit_price is None or not description.strip() or not sac_hsn or not tax_class:
        raise _fail("item", "Choose a price-list item, or give a description, SAC/HSN code, tax class and price.")
    if tax_class not in gst.tax_classes():
        raise _fail("tax_class", "Choose one of the GST tax classes.")
    unit_price, discount = gst.money(unit_price), gst.money(discount)
    if unit_price < 0 or unit_price > MAX_AMOUNT:
        raise _fail("unit_price", "Enter a price of zero or more.")
    if quantity * unit_price > LINE_TOTAL_MAX:  # the invoice's totals must fit their columns (12 digits)
        raise _fail("quantity", "This line's value is too large for one invoice; split it.")
    if discount < 0 or discount > gst.money(quantity * unit_price):
        raise _fail("discount", "A line discount must be between zero and the line's value.")
    position = (invoice.lines.aggregate(p=Max("position"))["p"] or 0) + 1
    line = InvoiceLine(
        invoice=invoice,
        position=position,
        item=item,
        kind=kind or PriceItem.Kind.SERVICE,
        description=description.strip()[:200],
        sac_hsn=sac_hsn,
        tax_class=tax_class,
        quantity=quantity,
        unit_price=unit_price,
        discount=discount,
    )
    line.full_clean(exclude=["invoice", "item"])
    line.save()
    return line


@transaction.atomic
def invoice_add_line(
    *,
    actor: User,
    invoice: Invoice,
    item: PriceItem | None = None,
    quantity: Decimal = Decimal("1"),
    unit_price: Decimal | None = None,
    discount: Decimal = ZERO,
    description: str = "",
    sac_hsn: str = "",
    tax_class: str = "",
    context: AuditContext | None = None,
) -> InvoiceLine:
    invoice = _lock(invoice)
    _require_draft(invoice)
    line = _add_line(
        invoice,
        item=item,
        quantity=quantity,
        unit_price=unit_price,
        discount=discount,
        description=description,
        sac_hsn=sac_hsn,
        tax_class=tax_class,
    )
    _recompute(invoice, day=local_today(invoice.location))
    line.refresh_from_db()
    return line


@transaction.atomic
def invoice_add_lines(
    *, actor: User, invoice: Invoice, lines: list[dict[str, Any]], context: AuditContext | None = None
) -> None:
    """Several lines at once (each as `invoice_add_line` takes them), the sums computed once. A bad
    line's errors are named `lines.<index>.<field>`."""
    invoice = _lock(invoice)
    _require_draft(invoice)
    for index, spec in enumerate(lines):
        try:
            _add_line(invoice, **spec)
        except ValidationError as exc:
            fields = exc.message_dict if hasattr(exc, "error_dict") else {"item": exc.messages}
            raise ValidationError({f"lines.{index}.{name}": messages for name, messages in fields.items()}) from exc
    _recompute(invoice, day=local_today(invoice.location))


@transaction.atomic
def invoice_remove_line(*, actor: User, invoice: Invoice, line_id: Any, context: AuditContext | None = None) -> None:
    invoice = _lock(invoice)
    _require_draft(invoice)
    deleted, _ = InvoiceLine.objects.filter(invoice=invoice, pk=line_id).delete()
    if not deleted:
        raise _fail("line", "No such line on this invoice.")
    _recompute(invoice, day=local_today(invoice.location))


@transaction.atomic
def invoice_update_draft(
    *,
    actor: User,
    invoice: Invoice,
    invoice_discount: Decimal | None = None,
    place_of_supply: str | None = None,
    context: AuditContext | None = None,
) -> Invoice:
    """The invoice discount (rupees) and the place of supply (a GST state code; "" = the location's state)."""
    invoice = _lock(invoice)
    _require_draft(invoice)
    if invoice_discount is not None:
        invoice.invoice_discount = gst.money(invoice_discount)
        if invoice.invoice_discount < 0:
            raise _fail("invoice_discount", "A discount cannot be negative.")
    if place_of_supply is not None:
        if place_of_supply and place_of_supply not in gst.STATES:
            raise _fail("place_of_supply", "Choose a state.")
        invoice.place_of_supply = place_of_supply
    _recompute(invoice, day=local_today(invoice.location))
    return invoice


@transaction.atomic
def invoice_discard(*, actor: User, invoice: Invoice, context: AuditContext | None = None) -> None:
    """Delete a draft (it had no number, so no gap is left)."""
    invoice = _lock(invoice)
    _require_draft(invoice)
    audit_record(actor=actor, action="invoice.discard", obj=invoice, location_id=invoice.location_id, context=context)
    invoice.delete()


# --- issuing ---------------------------------------------------------------------------------------


@transaction.atomic
def invoice_issue(*, actor: User, invoice: Invoice, context: AuditContext | None = None) -> Invoice:
    """Freeze a draft and give it the next number of its location's series.

    The rates are those in force on the invoice date (today at the location); an invoice with a
    taxable line is a tax invoice (rule 46), one with exempt or nil-rated lines only a bill of supply
    (rule 49). A tax invoice needs the location's or the clinic's GSTIN."""
    invoice = _lock(invoice)
    _require_draft(invoice)
    if not invoice.lines.exists():
        raise ValidationError("Add at least one line before issuing.", code="empty")
    day = local_today(invoice.location)
    supplier = supplier_for(invoice.location)
    invoice.supplier_gstin, invoice.supplier_state = supplier.gstin, supplier.state
    invoice.place_of_supply = invoice.place_of_supply or supplier.state
    totals = _recompute(invoice, day=day)
    if totals.total <= 0:
        raise ValidationError("An invoice must be for more than zero rupees.", code="zero")
    taxable = any(rate > 0 for rate in totals.rates)
    if taxable and not supplier.gstin:
        raise ValidationError(
            "Taxable lines need a GSTIN: add the clinic's or this location's GSTIN in Settings first.", code="gstin"
        )
    if not invoice.place_of_supply:
        raise ValidationError("Choose the place of supply (the clinic's state is not known).", code="place")
    invoice.kind = Invoice.Kind.TAX_INVOICE if taxable else Invoice.Kind.BILL_OF_SUPPLY
    invoice.financial_year, invoice.serial, invoice.number = next_number(
        invoice.location, DocumentCounter.Kind.INVOICE, day
    )
    invoice.invoice_date = day
    invoice.issued_at = timezone.now()
    invoice.issued_by = actor
    invoice.status = Invoice.Status.ISSUED
    invoice.verification_code = new_code("invoice")
    invoice.save()
    # The public row holds no hash: an invoice prints its payments and credit notes as they come, so it
    # is verified by its facts (number, date, amount, status), not by its bytes.
    verification_register(
        clinic=current_clinic(), code=invoice.verification_code, kind="invoice", issued_at=invoice.issued_at, sha256=""
    )
    audit_record(
        actor=actor,
        action="invoice.issue",
        obj=invoice,
        location_id=invoice.location_id,
        context=context,
        changed_fields=["status", "number"],
        metadata={"number": invoice.number},
    )
    return invoice


def _settle(invoice: Invoice) -> Invoice:
    """Recount what was paid and credited and move the status accordingly (invoice locked by the caller)."""
    payments = Payment.objects.filter(invoice=invoice).exclude(vendor_status=VendorStatus.FAILED)
    paid_in = payments.exclude(kind=Payment.Kind.REFUND).aggregate(s=Sum("amount"))["s"] or ZERO
    refunded = payments.filter(kind=Payment.Kind.REFUND).aggregate(s=Sum("amount"))["s"] or ZERO
    invoice.paid = paid_in - refunded
    invoice.credited = invoice.credit_notes.aggregate(s=Sum("total"))["s"] or ZERO
    due = invoice.total - invoice.credited - invoice.paid
    if invoice.credited >= invoice.total:
        invoice.status = Invoice.Status.CANCELLED
    elif due <= 0:
        invoice.status = Invoice.Status.PAID
    elif invoice.paid > 0:
        invoice.status = Invoice.Status.PARTLY_PAID
    else:
        invoice.status = Invoice.Status.ISSUED
    invoice.save(update_fields=["paid", "credited", "status", "updated_at"])
    return invoice


# --- payments, deposits, refunds -------------------------------------------------------------------

DESK_MODES = (Payment.Mode.CASH, Payment.Mode.UPI, Payment.Mode.CARD)


def _receipt(location: Location, now: dt.datetime) -> tuple[int, int, str]:
    return next_number(location, DocumentCounter.Kind.RECEIPT, local_time(now, location).date())


def _check_amount(amount: Decimal) -> Decimal:
    amount = gst.money(amount)
    if amount <= 0 or amount > MAX_AMOUNT:
        raise _fail("amount", "Enter an amount above zero.")
    return amount


@transaction.atomic
def payment_record(
    *,
    actor: User,
    invoice: Invoice,
    mode: str,
    amount: Decimal | None = None,
    reference: str = "",
    context: AuditContext | None = None,
) -> Payment:
    """Money received against an issued invoice (`amount` None: the whole balance due): cash, UPI or
    card at the desk, or `advance` (from the
    patient's advance deposits). At most the balance due; more is an advance deposit."""
    invoice = _lock(invoice)
    if invoice.status == Invoice.Status.DRAFT:
        raise ValidationError("Issue the invoice before collecting payment.", code="draft")
    if invoice.status == Invoice.Status.CANCELLED:
        raise ValidationError("This invoice was cancelled by a credit note.", code="cancelled")
    if invoice.balance <= 0:
        raise ValidationError("Nothing is due on this invoice.", code="paid")
    amount = _check_amount(invoice.balance if amount is None else amount)
    if mode not in (*DESK_MODES, Payment.Mode.ADVANCE):
        raise _fail("mode", "Choose cash, UPI, card or the patient's advance.")
    if amount > invoice.balance:
        raise ValidationError(f"At most ₹{gst.indian_grouping(invoice.balance)} is due on this invoice.", code="due")
    if mode == Payment.Mode.ADVANCE:
        _lock_patient_advance(invoice.patient)
        if amount > advance_balance(invoice.patient):
            raise ValidationError("The patient's advance balance is smaller than this.", code="advance")
    now = timezone.now()
    fy, serial, number = _receipt(invoice.location, now)
    payment = Payment.objects.create(
        patient=invoice.patient,
        location=invoice.location,
        invoice=invoice,
        kind=Payment.Kind.PAYMENT,
        mode=mode,
        amount=amount,
        reference=reference.strip()[:64],
        receipt_number=number,
        financial_year=fy,
        serial=serial,
        received_at=now,
        received_by=actor,
    )
    _settle(invoice)
    audit_record(
        actor=actor,
        action="payment.record",
        obj=payment,
        location_id=invoice.location_id,
        context=context,
        metadata={"invoice": str(invoice.pk), "mode": mode},
    )
    return payment


def _lock_patient_advance(patient: Patient) -> None:
    """Serialise changes to one patient's advance balance (the patient row's lock, for the transaction)."""
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()


def advance_balance(patient: Patient) -> Decimal:
    """Deposits, less deposits refunded, less advance applied to invoices, plus refunds of those back to the advance."""
    rows = Payment.objects.filter(patient=patient)
    deposits = rows.filter(kind=Payment.Kind.DEPOSIT).aggregate(s=Sum("amount"))["s"] or ZERO
    deposit_refunds = (
        rows.filter(kind=Payment.Kind.REFUND, refund_of__kind=Payment.Kind.DEPOSIT).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    applied = rows.filter(kind=Payment.Kind.PAYMENT, mode=Payment.Mode.ADVANCE).aggregate(s=Sum("amount"))["s"] or ZERO
    returned = rows.filter(kind=Payment.Kind.REFUND, mode=Payment.Mode.ADVANCE).aggregate(s=Sum("amount"))["s"] or ZERO
    return deposits - deposit_refunds - applied + returned


def patient_dues(invoices: QuerySet[Invoice]) -> Decimal:
    """What is still owed on the issued invoices among `invoices` (a patient's, as the user may see them)."""
    owed = invoices.filter(status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID])
    return sum((invoice.balance for invoice in owed), ZERO)


@transaction.atomic
def deposit_record(
    *,
    actor: User,
    patient: Patient,
    location: Location,
    mode: str,
    amount: Decimal,
    reference: str = "",
    context: AuditContext | None = None,
) -> Payment:
    """An advance deposit (e.g. before a procedure), later applied to invoices or refunded."""
    patient_check_writable(actor=actor, patient=patient)
    amount = _check_amount(amount)
    if mode not in DESK_MODES:
        raise _fail("mode", "Choose cash, UPI or card.")
    now = timezone.now()
    fy, serial, number = _receipt(location, now)
    payment = Payment.objects.create(
        patient=patient,
        location=location,
        kind=Payment.Kind.DEPOSIT,
        mode=mode,
        amount=amount,
        reference=reference.strip()[:64],
        receipt_number=number,
        financial_year=fy,
        serial=serial,
        received_at=now,
        received_by=actor,
    )
    audit_record(
        actor=actor, action="payment.deposit", obj=payment, location_id=location.pk, context=context,
        metadata={"mode": mode},
    )  # fmt: skip
    return payment


def refundable(payment: Payment) -> Decimal:
    if payment.kind == Payment.Kind.REFUND:
        return ZERO
    done = payment.refunds.exclude(vendor_status=VendorStatus.FAILED).aggregate(s=Sum("amount"))["s"] or ZERO
    return payment.amount - done


@transaction.atomic
def refund_record(
    *,
    actor: User,
    payment: Payment,
    amount: Decimal | None,
    reason: str,
    mode: str = "",
    context: AuditContext | None = None,
) -> Payment:
    """Pay money back (`amount` None: all that is left to refund): part or all of a payment or
    deposit not refunded yet, with a reason.

    Money comes back the way it came (cash, UPI, card); a payment made from the advance goes back to
    the advance. Needs `billing.refund`."""
    if not actor.has_capability("billing.refund"):
        raise PermissionDenied("billing.refund")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.kind == Payment.Kind.REFUND:
        raise ValidationError("A refund cannot be refunded.", code="refund")
    invoice = _lock(payment.invoice) if payment.invoice_id is not None else None  # type: ignore[arg-type]
    _lock_patient_advance(payment.patient)
    reason = reason.strip()
    if not reason:
        raise _fail("reason", "Say why the money is refunded.")
    if refundable(payment) <= 0:
        raise ValidationError("This payment has been refunded in full.", code="refunded")
    amount = _check_amount(refundable(payment) if amount is None else amount)
    if amount > refundable(payment):
        raise ValidationError(
            f"At most ₹{gst.indian_grouping(refundable(payment))} of this payment can be refunded.", code="refundable"
        )
    if payment.kind == Payment.Kind.DEPOSIT and amount > advance_balance(payment.patient):
        raise ValidationError("That much of this deposit has already been used on invoices.", code="used")
    refund_mode = Payment.Mode.ADVANCE if payment.mode == Payment.Mode.ADVANCE else (mode or payment.mode)
    # Money paid through a Razorpay link goes back through Razorpay (a task asks it after commit;
    # `refund.processed` confirms): pending until then, and no longer counted if Razorpay refuses.
    by_razorpay = payment.mode == Payment.Mode.RAZORPAY_LINK and bool(payment.razorpay_payment_id)
    if by_razorpay:
        refund_mode = Payment.Mode.RAZORPAY_LINK
    now = timezone.now()
    fy, serial, number = _receipt(payment.location, now)
    refund = Payment.objects.create(
        patient=payment.patient,
        location=payment.location,
        invoice=payment.invoice,
        refund_of=payment,
        kind=Payment.Kind.REFUND,
        mode=refund_mode,
        amount=amount,
        reason=reason[:200],
        receipt_number=number,
        financial_year=fy,
        serial=serial,
        received_at=now,
        received_by=actor,
        razorpay_payment_id=payment.razorpay_payment_id if by_razorpay else "",
        vendor_status=VendorStatus.PENDING if by_razorpay else "",
    )
    if by_razorpay:
        from billing.tasks import razorpay_refund_submit_task

        transaction.on_commit(lambda: razorpay_refund_submit_task.delay(str(refund.pk)))
    if invoice is not None:
        _settle(invoice)
    audit_record(
        actor=actor,
        action="payment.refund",
        obj=refund,
        location_id=payment.location_id,
        context=context,
        metadata={"payment": str(payment.pk)},
    )
    return refund


# --- credit notes ----------------------------------------------------------------------------------


QUANTITY_STEP = Decimal("0.001")


def _credit_quantity(value: Any) -> Decimal:
    """A quantity to credit as a finite Decimal (not NaN or infinity), else ValidationError."""
    try:
        quantity = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        quantity = Decimal("NaN")
    if not quantity.is_finite():
        raise ValidationError("Enter quantities as numbers.", code="quantity")
    return quantity


def _credited_quantity(line: InvoiceLine) -> Decimal:
    return line.credits.aggregate(q=Sum("quantity"))["q"] or Decimal("0")


def _line_share(line: InvoiceLine, quantity: Decimal, *, rest: bool) -> dict[str, Decimal]:
    """The part of a line's frozen amounts that `quantity` stands for. The last of a line's
    quantity (`rest`) takes exactly what earlier credit notes left, so a line credited in parts
    adds up to its invoice amounts to the paisa."""
    fields = ("taxable_value", "cgst", "sgst", "igst")
    if rest:
        done = line.credits.aggregate(**{f: Sum(f) for f in fields})
        share = {f: getattr(line, f) - (done[f] or ZERO) for f in fields}
    else:
        share = {f: gst.money(getattr(line, f) * quantity / line.quantity) for f in fields}
    share["total"] = share["taxable_value"] + share["cgst"] + share["sgst"] + share["igst"]
    return share


@transaction.atomic
def credit_note_issue(
    *,
    actor: User,
    invoice: Invoice,
    reason: str,
    quantities: dict[Any, Decimal] | None = None,
    context: AuditContext | None = None,
) -> CreditNote:
    """A credit note against an issued invoice: `quantities` (line id -> quantity to credit), or
    None for everything not yet credited (a cancellation). The invoice's round-off is credited
    with its last line, so crediting everything credits exactly the invoice total."""
    if not actor.has_capability("billing.refund"):
        raise PermissionDenied("billing.refund")
    invoice = _lock(invoice)
    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.CANCELLED):
        raise ValidationError("Only an issued invoice that is not yet cancelled can be credited.", code="state")
    reason = reason.strip()
    if not reason:
        raise _fail("reason", "Say why the invoice is credited.")
    lines = {str(line.pk): line for line in invoice.lines.all()}
    wanted: dict[str, Decimal] = {}
    if quantities is None:
        for key, line in lines.items():
            left = line.quantity - _credited_quantity(line)
            if left > 0:
                wanted[key] = left
    else:
        for key, quantity in quantities.items():
            named = lines.get(str(key))
            if named is None:
                raise ValidationError("A line named is not on this invoice.", code="line")
            quantity = _credit_quantity(quantity)
            if quantity <= 0:
                continue
            if quantity > named.quantity - _credited_quantity(named):
                raise ValidationError(f"More of “{named.description}” than is left to credit.", code="left")
            if quantity != quantity.quantize(QUANTITY_STEP):  # the column keeps three decimals
                raise ValidationError("A quantity has at most three decimals.", code="quantity")
            wanted[str(key)] = quantity
    if not wanted:
        raise _fail("lines", "Choose what to credit.")
    day = local_today(invoice.location)
    fy, serial, number = next_number(invoice.location, DocumentCounter.Kind.CREDIT_NOTE, day)
    note = CreditNote.objects.create(
        invoice=invoice,
        location=invoice.location,
        number=number,
        financial_year=fy,
        serial=serial,
        note_date=day,
        reason=reason[:200],
        issued_by=actor,
    )
    sums = dict.fromkeys(("taxable_value", "non_taxable_value", "cgst", "sgst", "igst", "total"), ZERO)
    for key, quantity in wanted.items():
        line = lines[key]
        rest = quantity == line.quantity - _credited_quantity(line)
        share = _line_share(line, quantity, rest=rest)
        CreditNoteLine.objects.create(credit_note=note, invoice_line=line, quantity=quantity, **share)
        value_key = "taxable_value" if line.gst_rate > 0 else "non_taxable_value"
        sums[value_key] += share["taxable_value"]
        for f in ("cgst", "sgst", "igst", "total"):
            sums[f] += share[f]
    fully = all(line.quantity - _credited_quantity(line) == 0 for line in lines.values())
    if fully:
        sums["total"] += invoice.round_off  # the whole invoice is credited: to the rupee, like the invoice
    for f, value in sums.items():
        setattr(note, f, value)
    note.save()
    _settle(invoice)
    if invoice.balance == 0 and PaymentLink.objects.filter(invoice=invoice, status__in=PaymentLink.LIVE).exists():
        # Nothing is due any more: the patient's open payment link is cancelled at Razorpay (a task:
        # Razorpay may be slow or down; a payment that crossed the cancel is kept as an advance).
        from billing.tasks import payment_links_close_task

        invoice_id = str(invoice.pk)
        transaction.on_commit(lambda: payment_links_close_task.delay(invoice_id))
    audit_record(
        actor=actor,
        action="credit_note.issue",
        obj=note,
        location_id=invoice.location_id,
        context=context,
        metadata={"invoice": str(invoice.pk), "number": number},
    )
    return note


def invoice_lines_left_to_credit(invoice: Invoice) -> list[tuple[InvoiceLine, Decimal]]:
    return [
        (line, line.quantity - _credited_quantity(line))
        for line in invoice.lines.all()
        if line.quantity - _credited_quantity(line) > 0
    ]


def location_today_range(location: Location, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = local_time(timezone.now(), location).replace(
        year=day.year, month=day.month, day=day.day, hour=0, minute=0, second=0, microsecond=0
    )
    return start, start + dt.timedelta(days=1)
