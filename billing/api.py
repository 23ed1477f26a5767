"""Billing API (/api/v1/): invoices (create a draft with its lines, read, issue, pay, credit, PDF),
payments (list, refund) and the price list. One view per resource, small serializers,
`required_capability` per method; every id goes through `billing.access` (another clinic's or
branch's ids answer 404). Amounts are decimal strings in rupees with two places (paise)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import RefOutput, StaffRefOutput
from accounts.guards import staff_user
from accounts.models import Location
from accounts.selectors import locations_for
from audit.context import audit_context
from billing import gst, pdf, services
from billing.access import (
    billable_visit_access,
    invoice_access,
    invoices_visible_to,
    payment_access,
    payments_visible_to,
)
from billing.models import Invoice, Payment, PriceItem
from docos.api_errors import error_responses
from docos.api_pagination import ApiPagination, paginate
from patients.access import paginate_records, patient_access

VIEW, COLLECT, REFUND = "billing.view", "billing.collect", "billing.refund"
MAX_AMOUNT = Decimal("9999999999.99")
API_MAX_LINES = 100


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$", "example": "500.00"}
)
class AmountInput(serializers.DecimalField):
    """Rupees with up to two decimals (paise), zero or more."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_AMOUNT, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^(?!0*(\.0*)?$)[0-9]{1,10}(\.[0-9]{1,2})?$",
        "example": "500.00",
    }
)
class PositiveAmountInput(serializers.DecimalField):
    """Rupees with up to two decimals (paise), above zero."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_AMOUNT, **kwargs)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^(?!0*(\.0*)?$)[0-9]{1,6}(\.[0-9]{1,3})?$", "example": "1"}
)
class QuantityInput(serializers.DecimalField):
    """A quantity above zero with up to three decimals."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=10, decimal_places=3, min_value=Decimal("0.001"), max_value=Decimal("999999.999"), **kwargs
        )


# --- serializers ---------------------------------------------------------------------------------


class InvoiceLineOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    item = serializers.UUIDField(source="item_id", allow_null=True)
    kind = serializers.ChoiceField(choices=PriceItem.Kind.choices)
    description = serializers.CharField()
    sac_hsn = serializers.CharField()
    tax_class = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3)
    unit_price = _money()
    discount = _money(help_text="Line discount.")
    invoice_discount = _money(help_text="This line's share of the invoice discount.")
    gst_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent: CGST + SGST, or IGST.")
    taxable_value = _money()
    cgst = _money()
    sgst = _money()
    igst = _money()
    total = _money()


class PaymentOutput(serializers.Serializer[Payment]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    invoice = serializers.UUIDField(source="invoice_id", allow_null=True)
    refund_of = serializers.UUIDField(source="refund_of_id", allow_null=True)
    location = RefOutput()
    kind = serializers.ChoiceField(choices=Payment.Kind.choices)
    mode = serializers.ChoiceField(choices=Payment.Mode.choices)
    amount = _money()
    reference = serializers.CharField()
    reason = serializers.CharField()
    receipt_number = serializers.CharField()
    received_at = serializers.DateTimeField()
    received_by = StaffRefOutput()


class CreditNoteOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    number = serializers.CharField()
    note_date = serializers.DateField()
    reason = serializers.CharField()
    taxable_value = _money()
    non_taxable_value = _money()
    cgst = _money()
    sgst = _money()
    igst = _money()
    total = _money()


class InvoiceOutput(serializers.Serializer[Invoice]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    visit = serializers.UUIDField(source="visit_id", allow_null=True)
    location = RefOutput()
    status = serializers.ChoiceField(choices=Invoice.Status.choices)
    kind = serializers.ChoiceField(
        choices=Invoice.Kind.choices, allow_blank=True, help_text="Set at issue; empty on a draft."
    )
    number = serializers.CharField(help_text="Empty on a draft; at most 16 characters.")
    invoice_date = serializers.DateField(allow_null=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    supplier_gstin = serializers.CharField()
    supplier_state = serializers.CharField()
    place_of_supply = serializers.CharField(help_text="GST state code; empty on a draft = the location's state.")
    invoice_discount = _money()
    gross = _money()
    discount = _money()
    taxable_value = _money()
    non_taxable_value = _money(help_text="Exempt and nil-rated lines.")
    cgst = _money()
    sgst = _money()
    igst = _money()
    round_off = _money()
    total = _money(help_text="Payable, in whole rupees.")
    credited = _money()
    paid = _money(help_text="Payments less refunds.")
    balance = _money()
    lines = InvoiceLineOutput(many=True, source="lines.all")
    payments = PaymentOutput(many=True, source="payments.all")
    credit_notes = CreditNoteOutput(many=True, source="credit_notes.all")
    created_at = serializers.DateTimeField()


class LineInput(serializers.Serializer[Any]):
    openapi_rules = {
        "anyOf": [
            {"required": ["item"]},
            {"required": ["description", "sac_hsn", "tax_class", "unit_price"]},
        ]
    }

    item = serializers.UUIDField(required=False, help_text="A price-list item (GET /api/v1/price-items).")
    quantity = QuantityInput(default=Decimal("1"))
    unit_price = AmountInput(required=False, help_text="Defaults to the item's price.")
    discount = AmountInput(required=False, help_text="At most the line's value.")
    description = serializers.CharField(max_length=200, required=False)
    sac_hsn = serializers.RegexField(r"^[0-9]{4}([0-9]{2}){0,2}$", required=False)
    tax_class = serializers.ChoiceField(choices=list(gst.tax_classes()), required=False)

    def validate_item(self, value: Any) -> PriceItem:
        item = PriceItem.objects.filter(pk=value, is_active=True).first()
        if item is None:
            raise serializers.ValidationError("No such price-list item.")
        return item


class InvoiceInput(serializers.Serializer[Any]):
    openapi_examples = {"lines": [{"quantity": "1"}]}

    patient = serializers.UUIDField()
    location = serializers.UUIDField(
        required=False, help_text="One of the caller's locations; defaults to the visit's, else the caller's first."
    )
    visit = serializers.UUIDField(required=False, help_text="The patient's visit this invoice bills.")
    lines = serializers.ListField(child=LineInput(), required=False, max_length=API_MAX_LINES)
    invoice_discount = AmountInput(required=False, help_text="Shared over the lines; at most their value.")
    place_of_supply = serializers.ChoiceField(choices=list(gst.STATES), required=False)

    def validate_location(self, value: Any) -> Location:
        location = locations_for(self.context["user"]).filter(pk=value).first()
        if location is None:
            raise serializers.ValidationError("Not one of your active locations.")
        return location


class InvoiceListQuery(serializers.Serializer[Any]):
    patient = serializers.UUIDField(required=False, help_text="Only this patient's invoices.")
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)


class PaymentListQuery(serializers.Serializer[Any]):
    patient = serializers.UUIDField(required=False, help_text="Only this patient's payments.")


class PaymentInput(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(
        choices=[Payment.Mode.CASH, Payment.Mode.UPI, Payment.Mode.CARD, Payment.Mode.ADVANCE],
        help_text="`advance`: from the patient's advance deposits.",
    )
    amount = PositiveAmountInput(required=False, help_text="Defaults to the balance due; at most the balance.")
    reference = serializers.CharField(max_length=64, required=False, default="", help_text="UPI UTR, card approval.")


@extend_schema_field(
    {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {
            "type": "string",
            "format": "decimal",
            "pattern": r"^(?!0*(\.0*)?$)[0-9]{1,6}(\.[0-9]{1,3})?$",
        },
        "description": "Invoice line id -> quantity to credit. Without it, everything not yet credited "
        "(a cancellation). A key that is no line of the invoice, or more than is left of a line, answers 400.",
    }
)
class CreditQuantities(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=QuantityInput(), allow_empty=False, **kwargs)


class CreditNoteInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=200)
    lines = CreditQuantities(required=False)


class RefundInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=200)
    amount = PositiveAmountInput(required=False, help_text="Defaults to all that is left to refund of the payment.")


class PriceItemOutput(serializers.Serializer[PriceItem]):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=PriceItem.Kind.choices)
    name = serializers.CharField()
    code = serializers.CharField()
    sac_hsn = serializers.CharField()
    tax_class = serializers.CharField()
    default_price = _money()
    add_to_visits = serializers.BooleanField()


# --- helpers -------------------------------------------------------------------------------------


def _invoice_data(invoice: Invoice) -> dict[str, Any]:
    return dict(InvoiceOutput(invoice).data)


def _fresh(request: Request, invoice: Invoice) -> dict[str, Any]:
    return _invoice_data(invoice_access(user=staff_user(request), invoice_id=invoice.pk))


# --- views ---------------------------------------------------------------------------------------


class InvoiceListView(APIView):
    required_capability = {"GET": VIEW, "POST": COLLECT}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="invoices_list",
        summary="Invoices",
        description="Requires `billing.view`. Newest first; invoices made at the caller's locations.",
        parameters=[InvoiceListQuery],
        responses={200: InvoiceOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def get(self, request: Request) -> Response:
        user = staff_user(request)
        query = InvoiceListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        invoices = invoices_visible_to(user).prefetch_related("lines", "payments", "credit_notes")
        if query.validated_data.get("patient"):
            invoices = invoices.filter(patient=patient_access(user=user, patient_id=query.validated_data["patient"]))
        if query.validated_data.get("status"):
            invoices = invoices.filter(status=query.validated_data["status"])
        return paginate_records(self, request, invoices.order_by("-created_at", "pk"), _invoice_data)

    @extend_schema(
        operation_id="invoices_create",
        summary="Start a draft invoice",
        description="Requires `billing.collect`. With `visit` and no `lines`, the lines are suggested from the "
        "price list (items marked for every visit, and procedures the visit names). A draft has no number; "
        "issue it with POST /invoices/{id}/issue.",
        request=InvoiceInput,
        responses={201: InvoiceOutput, **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def post(self, request: Request) -> Response:
        user = staff_user(request)
        payload = InvoiceInput(data=request.data, context={"user": user})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        patient = patient_access(user=user, patient_id=data["patient"])
        visit = billable_visit_access(user=user, visit_id=data["visit"]) if data.get("visit") else None
        if visit is not None and visit.patient_id != patient.pk:
            raise serializers.ValidationError({"visit": ["This visit is another patient's."]})
        location = data.get("location") or (visit.location if visit is not None else locations_for(user).first())
        if location is None:
            raise serializers.ValidationError({"location": ["You have no active location."]})
        context = audit_context(request)
        with transaction.atomic():  # a bad line leaves no draft behind
            if visit is not None and not data.get("lines") and location == visit.location:
                invoice = services.invoice_create_for_visit(actor=user, visit=visit, context=context)
            else:
                invoice = services.invoice_create(
                    actor=user, patient=patient, location=location, visit=visit, context=context
                )
                services.invoice_add_lines(
                    actor=user,
                    invoice=invoice,
                    lines=[
                        {
                            "item": line.get("item"),
                            "quantity": line["quantity"],
                            "unit_price": line.get("unit_price"),
                            "discount": line.get("discount") or Decimal("0"),
                            "description": line.get("description", ""),
                            "sac_hsn": line.get("sac_hsn", ""),
                            "tax_class": line.get("tax_class", ""),
                        }
                        for line in data.get("lines") or []
                    ],
                    context=context,
                )
            if data.get("invoice_discount") is not None or data.get("place_of_supply"):
                services.invoice_update_draft(
                    actor=user,
                    invoice=invoice,
                    invoice_discount=data.get("invoice_discount"),
                    place_of_supply=data.get("place_of_supply"),
                    context=context,
                )
        return Response(_fresh(request, invoice), status=201)


class InvoiceDetailView(APIView):
    required_capability = VIEW

    @extend_schema(
        operation_id="invoices_retrieve",
        summary="One invoice, with its lines, payments and credit notes",
        description="Requires `billing.view`.",
        responses={200: InvoiceOutput, **error_responses(401, 403, 404)},
        tags=["billing"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(_invoice_data(invoice_access(user=staff_user(request), invoice_id=id)))


class InvoiceIssueView(APIView):
    required_capability = COLLECT

    @extend_schema(
        operation_id="invoices_issue",
        summary="Issue a draft invoice",
        description="Requires `billing.collect`. Freezes the lines at the rates of the invoice date and gives the "
        "next number of the location's series. A tax invoice when any line is taxable, else a bill of supply. "
        "An issued invoice answers 400 (never edited: credit notes correct it); so does one without lines.",
        request=None,
        responses={200: InvoiceOutput, **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        invoice = invoice_access(user=user, invoice_id=id, capability=COLLECT)
        services.invoice_issue(actor=user, invoice=invoice, context=audit_context(request))
        return Response(_fresh(request, invoice))


class InvoicePaymentsView(APIView):
    required_capability = COLLECT

    @extend_schema(
        operation_id="invoices_payments_create",
        summary="Record a payment of an invoice",
        description="Requires `billing.collect`. Cash, UPI, card (recorded at the desk) or the patient's advance. "
        "At most the balance due (400 otherwise, also for a draft, a cancelled or a paid invoice).",
        request=PaymentInput,
        responses={201: PaymentOutput, **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        invoice = invoice_access(user=user, invoice_id=id, capability=COLLECT)
        payload = PaymentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        payment = services.payment_record(
            actor=user, invoice=invoice, context=audit_context(request), **payload.validated_data
        )
        return Response(PaymentOutput(payment).data, status=201)


class InvoiceCreditNotesView(APIView):
    required_capability = REFUND

    @extend_schema(
        operation_id="invoices_credit_notes_create",
        summary="Issue a credit note against an invoice",
        description="Requires `billing.refund`. Credits quantities of lines, or everything left (a cancellation). "
        "Money already paid is refunded separately (POST /payments/{id}/refund).",
        request=CreditNoteInput,
        responses={201: CreditNoteOutput, **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        invoice = invoice_access(user=user, invoice_id=id, capability=REFUND)
        payload = CreditNoteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        lines = payload.validated_data.get("lines")
        note = services.credit_note_issue(
            actor=user,
            invoice=invoice,
            reason=payload.validated_data["reason"],
            quantities=dict(lines) if lines is not None else None,
            context=audit_context(request),
        )
        return Response(CreditNoteOutput(note).data, status=201)


class InvoicePdfView(APIView):
    required_capability = VIEW

    @extend_schema(
        operation_id="invoices_pdf",
        summary="The invoice as PDF",
        description="Requires `billing.view`. The GST invoice or bill of supply on the issuing branch's letterhead "
        "(a draft prints marked as not valid).",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
            **error_responses(401, 403, 404),
        },
        tags=["billing"],
    )
    def get(self, request: Request, id: Any) -> Any:
        from django.http import HttpResponse

        invoice = invoice_access(user=staff_user(request), invoice_id=id, what="invoice pdf")
        response = HttpResponse(pdf.invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{(invoice.number or "draft").replace("/", "-")}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


class PaymentListView(APIView):
    required_capability = VIEW
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="payments_list",
        summary="Payments, deposits and refunds",
        description="Requires `billing.view`. Newest first; those made at the caller's locations.",
        parameters=[PaymentListQuery],
        responses={200: PaymentOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def get(self, request: Request) -> Response:
        user = staff_user(request)
        query = PaymentListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        payments = payments_visible_to(user)
        if query.validated_data.get("patient"):
            payments = payments.filter(patient=patient_access(user=user, patient_id=query.validated_data["patient"]))
        return paginate_records(
            self, request, payments.order_by("-received_at", "pk"), lambda payment: PaymentOutput(payment).data
        )


class PaymentRefundView(APIView):
    required_capability = REFUND

    @extend_schema(
        operation_id="payments_refund",
        summary="Refund a payment or advance deposit",
        description="Requires `billing.refund`. With a reason; at most what is left to refund (and of a deposit, "
        "what is left of the advance). Money goes back the way it came.",
        request=RefundInput,
        responses={201: PaymentOutput, **error_responses(400, 401, 403, 404)},
        tags=["billing"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        payment = payment_access(user=user, payment_id=id, capability=REFUND)
        payload = RefundInput(data=request.data)
        payload.is_valid(raise_exception=True)
        refund = services.refund_record(
            actor=user,
            payment=payment,
            amount=payload.validated_data.get("amount"),
            reason=payload.validated_data["reason"],
            context=audit_context(request),
        )
        return Response(PaymentOutput(refund).data, status=201)


class PriceItemListView(APIView):
    required_capability = VIEW
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="price_items_list",
        summary="The price list",
        description="Requires `billing.view`. Active items, by kind and name.",
        responses={200: PriceItemOutput(many=True), **error_responses(400, 401, 403)},
        tags=["billing"],
    )
    def get(self, request: Request) -> Response:
        items = PriceItem.objects.filter(is_active=True).order_by("kind", "name", "pk")
        return paginate(self, request, items, lambda item: PriceItemOutput(item).data)
