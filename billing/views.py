"""Billing pages: invoices (from a visit or standalone), issuing, collecting, credit notes, refunds,
deposits, the PDFs, the price list and the reports. Thin: parse, check, call one service or
selector, render. Every id goes through `billing.access` (or `patients.access`)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import require_capability, staff_user
from accounts.selectors import locations_for
from audit.context import audit_context
from billing import payment_links, pdf, reports, sending, services
from billing.access import (
    billable_visit_access,
    credit_note_access,
    invoice_access,
    invoices_visible_to,
    payment_access,
    payment_link_access,
)
from billing.forms import DepositForm, DraftForm, LineForm, PaymentForm, PriceItemForm, RefundForm
from billing.models import Invoice, Payment, PaymentLink, PriceItem
from docos.ids import parse_uuid
from docos.permissions import capability_required
from patients.access import note_list_reads, patient_access

VIEW, COLLECT, REFUND, MANAGE = "billing.view", "billing.collect", "billing.refund", "billing.manage"


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _form_errors(form: Any) -> str:
    return "; ".join(f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items())


def _file(data: bytes, filename: str, content_type: str = "application/pdf") -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    # RFC 6266 (quotes escaped, non-ASCII as filename*=utf-8''): names carry branch names
    response["Content-Disposition"] = content_disposition_header(content_type != "application/pdf", filename) or ""
    response["Cache-Control"] = "private, no-store"
    return response


def _safe_name(number: str) -> str:
    return number.replace("/", "-") or "draft"


# --- invoices -----------------------------------------------------------------------------------------


@require_GET
@capability_required(VIEW)
def invoice_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    status = request.GET.get("status", "")
    invoices = invoices_visible_to(user).order_by("-created_at")
    if status in Invoice.Status.values:
        invoices = invoices.filter(status=status)
    page = Paginator(invoices, 50).get_page(request.GET.get("page"))
    note_list_reads(user=user, records=page.object_list, what="list")
    return render(
        request,
        "billing/invoice_list.html",
        {"page": page, "status": status, "statuses": Invoice.Status.choices},
    )


@require_POST
@capability_required(COLLECT)
def invoice_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    chosen = parse_uuid(request.POST.get("location"))
    location = locations_for(user).filter(pk=chosen).first() if chosen else None
    if location is None:
        location = locations_for(user).filter(pk=patient.registered_location_id).first() or locations_for(user).first()
    if location is None:
        raise Http404("No location")
    try:
        invoice = services.invoice_create(
            actor=user, patient=patient, location=location, context=audit_context(request)
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("patients-detail", patient_id=patient.pk)
    return redirect("billing-invoice-detail", invoice_id=invoice.pk)


@require_POST
@capability_required(COLLECT)
def invoice_from_visit(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    user = staff_user(request)
    visit = billable_visit_access(user=user, visit_id=visit_id)
    try:
        invoice = services.invoice_create_for_visit(actor=user, visit=visit, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("patients-detail", patient_id=visit.patient_id)
    return redirect("billing-invoice-detail", invoice_id=invoice.pk)


@require_GET
@capability_required(VIEW)
def invoice_detail(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    user = staff_user(request)
    invoice = invoice_access(user=user, invoice_id=invoice_id)
    payments = list(invoice.payments.select_related("received_by").order_by("received_at"))
    return render(
        request,
        "billing/invoice_detail.html",
        {
            "invoice": invoice,
            "patient": invoice.patient,
            "lines": list(invoice.lines.all()),
            "payments": [(p, services.refundable(p)) for p in payments],
            "credit_notes": list(invoice.credit_notes.all()),
            "line_form": LineForm(),
            "draft_form": DraftForm(
                initial={"invoice_discount": invoice.invoice_discount, "place_of_supply": invoice.place_of_supply}
            ),
            "payment_form": PaymentForm(initial={"amount": invoice.balance}),
            "advance": services.advance_balance(invoice.patient),
            "payment_links": list(invoice.payment_links.order_by("-created_at")[:10]),
            "razorpay_ready": payment_links.razorpay_ready(payment_links.razorpay_account()),
            "price_items": PriceItem.objects.filter(is_active=True).order_by("kind", "name"),
            "can_send_whatsapp": sending.can_send(user) and sending.sendable(invoice),
            "can_send_documents": sending.can_send(user),
            "send_key": str(uuid.uuid4()),
        },
    )


def _collect_invoice(request: HttpRequest, invoice_id: UUID) -> Invoice:
    return invoice_access(user=staff_user(request), invoice_id=invoice_id, capability=COLLECT)


def _back(invoice: Invoice) -> HttpResponse:
    return redirect("billing-invoice-detail", invoice_id=invoice.pk)


@require_POST
@capability_required(COLLECT)
def invoice_add_line(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    form = LineForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the line: " + _form_errors(form))
        return _back(invoice)
    data = form.cleaned_data
    try:
        services.invoice_add_line(
            actor=staff_user(request),
            invoice=invoice,
            item=data["item"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            discount=data["discount"] or Decimal("0"),
            description=data["description"],
            sac_hsn=data["sac_hsn"],
            tax_class=data["tax_class"],
            context=audit_context(request),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def invoice_remove_line(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    try:
        services.invoice_remove_line(
            actor=staff_user(request), invoice=invoice, line_id=request.POST.get("line"), context=audit_context(request)
        )
    except (ValidationError, ValueError) as exc:
        messages.error(request, _errors(exc) if isinstance(exc, ValidationError) else "No such line.")
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def invoice_update(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    form = DraftForm(request.POST)
    if form.is_valid():
        try:
            services.invoice_update_draft(
                actor=staff_user(request),
                invoice=invoice,
                invoice_discount=form.cleaned_data["invoice_discount"] or Decimal("0"),
                place_of_supply=form.cleaned_data["place_of_supply"],
                context=audit_context(request),
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
    else:
        messages.error(request, "Check the discount and the place of supply.")
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def invoice_issue(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    try:
        issued = services.invoice_issue(actor=staff_user(request), invoice=invoice, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"{issued.get_kind_display()} {issued.number} issued.")
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def invoice_discard(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    patient_id = invoice.patient_id
    try:
        services.invoice_discard(actor=staff_user(request), invoice=invoice, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return _back(invoice)
    messages.success(request, "Draft discarded.")
    return redirect("patients-detail", patient_id=patient_id)


@require_POST
@capability_required(COLLECT)
def invoice_pay(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the amount and how it was paid.")
        return _back(invoice)
    try:
        payment = services.payment_record(
            actor=staff_user(request), invoice=invoice, context=audit_context(request), **form.cleaned_data
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request, f"₹{payment.amount} received by {payment.get_mode_display()} (receipt {payment.receipt_number})."
        )
    return _back(invoice)


@require_http_methods(["GET", "POST"])
@capability_required(REFUND)
def credit_note_new(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    user = staff_user(request)
    invoice = invoice_access(user=user, invoice_id=invoice_id, capability=REFUND)
    left = services.invoice_lines_left_to_credit(invoice)
    error = ""
    if request.method == "POST":
        quantities: dict[Any, Decimal] | None = None
        if request.POST.get("whole") != "1":
            quantities = {}
            for line, _remaining in left:
                raw = request.POST.get(f"qty-{line.pk}", "").strip()
                if raw:
                    try:
                        quantities[line.pk] = Decimal(raw)
                    except ArithmeticError:
                        error = "Enter quantities as numbers."
        if not error:
            try:
                note = services.credit_note_issue(
                    actor=user,
                    invoice=invoice,
                    reason=request.POST.get("reason", ""),
                    quantities=quantities,
                    context=audit_context(request),
                )
            except ValidationError as exc:
                error = _errors(exc)
            else:
                messages.success(request, f"Credit note {note.number} issued for ₹{note.total}.")
                return _back(invoice)
    return render(
        request,
        "billing/credit_note_form.html",
        {"invoice": invoice, "patient": invoice.patient, "left": left, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@capability_required(REFUND)
def payment_refund(request: HttpRequest, payment_id: UUID) -> HttpResponse:
    user = staff_user(request)
    payment = payment_access(user=user, payment_id=payment_id, capability=REFUND)
    form = RefundForm(request.POST or None, initial={"amount": services.refundable(payment)})
    if request.method == "POST" and form.is_valid():
        try:
            refund = services.refund_record(
                actor=user, payment=payment, context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, f"₹{refund.amount} refunded (voucher {refund.receipt_number}).")
            if payment.invoice_id:
                return redirect("billing-invoice-detail", invoice_id=payment.invoice_id)
            return redirect("patients-detail", patient_id=payment.patient_id)
    return render(
        request,
        "billing/refund_form.html",
        {"payment": payment, "patient": payment.patient, "form": form, "refundable": services.refundable(payment)},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@capability_required(COLLECT)
def patient_deposit(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    form = DepositForm(request.POST or None)
    locations = list(locations_for(user))
    if request.method == "POST" and form.is_valid():
        location = next((loc for loc in locations if str(loc.pk) == request.POST.get("location")), None)
        if location is None:
            form.add_error(None, "Choose your location.")
        else:
            try:
                deposit = services.deposit_record(
                    actor=user, patient=patient, location=location, context=audit_context(request), **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, _errors(exc))
            else:
                messages.success(request, f"Advance of ₹{deposit.amount} received (receipt {deposit.receipt_number}).")
                return redirect("patients-detail", patient_id=patient.pk)
    return render(
        request,
        "billing/deposit_form.html",
        {"patient": patient, "form": form, "locations": locations, "advance": services.advance_balance(patient)},
        status=400 if request.method == "POST" else 200,
    )


# --- PDFs ---------------------------------------------------------------------------------------------


@require_GET
@capability_required(VIEW)
def invoice_pdf(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = invoice_access(user=staff_user(request), invoice_id=invoice_id, what="invoice pdf")
    return _file(pdf.invoice_pdf(invoice), f"{_safe_name(invoice.number)}.pdf")


@require_GET
@capability_required(VIEW)
def receipt_pdf(request: HttpRequest, payment_id: UUID) -> HttpResponse:
    payment = payment_access(user=staff_user(request), payment_id=payment_id, what="receipt pdf")
    if payment.mode == Payment.Mode.ADVANCE and payment.kind == Payment.Kind.PAYMENT:
        pass  # an advance applied still has its receipt number
    return _file(pdf.receipt_pdf(payment), f"{_safe_name(payment.receipt_number)}.pdf")


@require_GET
@capability_required(VIEW)
def credit_note_pdf(request: HttpRequest, credit_note_id: UUID) -> HttpResponse:
    note = credit_note_access(user=staff_user(request), credit_note_id=credit_note_id, what="credit note pdf")
    return _file(pdf.credit_note_pdf(note), f"{_safe_name(note.number)}.pdf")


# --- price list -----------------------------------------------------------------------------------------


@require_GET
@capability_required(VIEW)
def price_list(request: HttpRequest) -> HttpResponse:
    from billing import gst

    items = PriceItem.objects.order_by("-is_active", "kind", "name")
    classes = gst.tax_classes()
    return render(
        request,
        "billing/price_list.html",
        {
            "items": [(item, classes.get(item.tax_class)) for item in items],
            "form": PriceItemForm(),
            "classes": classes.values(),
        },
    )


@require_POST
@capability_required(MANAGE)
def price_item_new(request: HttpRequest) -> HttpResponse:
    form = PriceItemForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        data.pop("is_active", None)
        try:
            services.price_item_create(actor=staff_user(request), context=audit_context(request), **data)
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, f"{data['name']} added to the price list.")
    else:
        messages.error(request, "Check the item: " + _form_errors(form))
    return redirect("billing-price-list")


# --- reports --------------------------------------------------------------------------------------------


def _location(request: HttpRequest) -> Any:
    locations = locations_for(staff_user(request))
    chosen = parse_uuid(request.GET.get("location"))
    return (locations.filter(pk=chosen).first() if chosen else None) or locations.first()


REPORT_YEARS = range(2000, 2201)  # dates outside them fall back to today (9999-12-31 + 1 day overflows)


def _report_date(text: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if day.year in REPORT_YEARS else None


def _day(request: HttpRequest, location: Any) -> dt.date:
    return _report_date(request.GET.get("date", "")) or services.local_today(location)


@require_GET
@capability_required(VIEW)
def day_book(request: HttpRequest) -> HttpResponse:
    location = _location(request)
    if location is None:
        raise Http404("No location")
    day = _day(request, location)
    book = reports.day_book(user=staff_user(request), location=location, day=day)
    note_list_reads(user=staff_user(request), records=book.entries, what="day book")
    if request.GET.get("format") == "csv":
        return _file(reports.day_book_csv(book).encode(), f"day-book-{location.name}-{day}.csv", "text/csv")
    return render(
        request,
        "billing/day_book.html",
        {"book": book, "locations": locations_for(staff_user(request)), "day": day, "location": location},
    )


@require_GET
@capability_required(VIEW)
def outstanding(request: HttpRequest) -> HttpResponse:
    invoices = reports.outstanding(user=staff_user(request))
    note_list_reads(user=staff_user(request), records=invoices, what="outstanding dues")
    if request.GET.get("format") == "csv":
        return _file(reports.outstanding_csv(invoices).encode(), "outstanding-dues.csv", "text/csv")
    return render(
        request,
        "billing/outstanding.html",
        {"invoices": invoices, "total": sum((i.balance for i in invoices), Decimal("0"))},
    )


@require_GET
@capability_required(VIEW)
def gst_summary(request: HttpRequest) -> HttpResponse:
    location = _location(request)
    month = _report_date(request.GET.get("month", "") + "-01") or (
        services.local_today(location) if location else dt.date.today()
    )
    rows = reports.gst_summary(user=staff_user(request), month=month)
    if request.GET.get("format") == "csv":
        return _file(reports.gst_summary_csv(rows).encode(), f"gst-summary-{month:%Y-%m}.csv", "text/csv")
    return render(request, "billing/gst_summary.html", {"rows": rows, "month": month})


# --- Razorpay payment links -----------------------------------------------------------------------


def _invoice_link(request: HttpRequest, link_id: UUID) -> tuple[Invoice, PaymentLink]:
    link = payment_link_access(user=staff_user(request), link_id=link_id, capability=COLLECT)
    return link.invoice, link


@require_POST
@capability_required(COLLECT)
def payment_link_new(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    invoice = _collect_invoice(request, invoice_id)
    try:
        link = payment_links.invoice_payment_link_create(
            actor=staff_user(request), invoice=invoice, context=audit_context(request)
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Payment link for ₹{link.amount} made: {link.short_url}")
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def payment_link_cancel(request: HttpRequest, link_id: UUID) -> HttpResponse:
    invoice, link = _invoice_link(request, link_id)
    try:
        payment_links.payment_link_cancel(actor=staff_user(request), link=link, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, "Payment link cancelled.")
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def payment_link_send(request: HttpRequest, link_id: UUID) -> HttpResponse:
    from messaging.services import failure_sentence

    invoice, link = _invoice_link(request, link_id)
    try:
        seen = request.POST.get("sent_count", "")
        message = payment_links.payment_link_send(
            actor=staff_user(request),
            link=link,
            seen_sent_count=int(seen) if seen.isdigit() else None,
            context=audit_context(request),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        if message.status == "failed":
            messages.error(request, "Not sent: " + failure_sentence(message.error, message.error_title))
        else:
            messages.success(request, "Payment link queued to go out on WhatsApp.")
    return _back(invoice)


def _whatsapp_outcome(request: HttpRequest, send: Any, what: str) -> None:
    """Run `send(idempotency_key)` and say what happened (queued, or why it was not sent)."""
    from messaging.services import failure_sentence

    key = parse_uuid(request.POST.get("key", ""))
    try:
        message = send(str(key or uuid.uuid4()))
    except ValidationError as exc:
        messages.error(request, "Not sent: " + _errors(exc))
    else:
        if message.status == "failed":
            messages.error(request, "Not sent: " + failure_sentence(message.error, message.error_title))
        else:
            messages.success(request, f"{what} queued to go out on WhatsApp as a PDF.")


@require_POST
@capability_required(COLLECT)
def invoice_send_whatsapp(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    """The issued invoice's PDF to the patient as a WhatsApp document (through messaging's outbox).
    Needs `billing.collect` and `messaging.send`; a double press sends once (the form's key)."""
    user = staff_user(request)
    invoice = _collect_invoice(request, invoice_id)
    require_capability(user, "messaging.send", "send WhatsApp messages")
    _whatsapp_outcome(
        request,
        lambda key: sending.invoice_send_whatsapp(
            actor=user, invoice=invoice, idempotency_key=key, context=audit_context(request)
        ),
        f"Invoice {invoice.number}",
    )
    return _back(invoice)


@require_POST
@capability_required(COLLECT)
def receipt_send_whatsapp(request: HttpRequest, payment_id: UUID) -> HttpResponse:
    user = staff_user(request)
    payment = payment_access(user=user, payment_id=payment_id, capability=COLLECT, what="receipt")
    require_capability(user, "messaging.send", "send WhatsApp messages")
    _whatsapp_outcome(
        request,
        lambda key: sending.receipt_send_whatsapp(
            actor=user, payment=payment, idempotency_key=key, context=audit_context(request)
        ),
        f"Receipt {payment.receipt_number}",
    )
    if payment.invoice_id is None:
        return redirect("patients-detail", patient_id=payment.patient_id)
    return redirect("billing-invoice-detail", invoice_id=payment.invoice_id)


@require_POST
@capability_required(COLLECT)
def credit_note_send_whatsapp(request: HttpRequest, credit_note_id: UUID) -> HttpResponse:
    user = staff_user(request)
    note = credit_note_access(user=user, credit_note_id=credit_note_id, what="credit note")
    require_capability(user, "messaging.send", "send WhatsApp messages")
    _whatsapp_outcome(
        request,
        lambda key: sending.credit_note_send_whatsapp(
            actor=user, note=note, idempotency_key=key, context=audit_context(request)
        ),
        f"Credit note {note.number}",
    )
    return redirect("billing-invoice-detail", invoice_id=note.invoice_id)
