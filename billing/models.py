"""Patient billing: the price list, invoices with GST, credit notes, payments and refunds, and the
counters that number them.

Money is Decimal rupees with two places (paise) throughout; the arithmetic and its rounding rules
are in `billing.gst`. Issued documents are never edited: an issued invoice's lines and amounts are
frozen, and cancellations and corrections are credit notes. No patient clinical text is kept here:
line descriptions are price-list names ("Consultation", "Dressing").
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Location, User
from docos.fields import EncryptedTextField
from docos.models import UUIDModel
from patients.models import Patient

SAC_HSN = RegexValidator(r"^[0-9]{4}([0-9]{2}){0,2}$", "A SAC or HSN code has 4, 6 or 8 digits.")
PREFIX = RegexValidator(r"^[A-Z0-9]{1,5}$", "Up to 5 capital letters or digits.")
NON_NEGATIVE = MinValueValidator(Decimal("0.00"))


def money_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"), **kwargs)  # type: ignore[arg-type]


class PriceItem(UUIDModel):
    """One thing the clinic charges for, with its SAC/HSN code and GST tax class (see gst_rates.json)."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        PROCEDURE = "procedure", "Procedure"
        PACKAGE = "package", "Package"
        MEDICINE = "medicine", "Medicine"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SERVICE)
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=20, blank=True)  # the clinic's own short code
    sac_hsn = models.CharField("SAC/HSN", max_length=8, validators=[SAC_HSN])
    tax_class = models.CharField(max_length=32)
    default_price = money_field(validators=[NON_NEGATIVE])
    # Put on every invoice made from a visit (the consultation fee), besides the visit's procedures.
    add_to_visits = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="price_item_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class LocationPrice(UUIDModel):
    """A location's own price for an item (else its default price)."""

    item = models.ForeignKey(PriceItem, on_delete=models.CASCADE, related_name="location_prices")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    price = money_field(validators=[NON_NEGATIVE])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "location"], name="location_price_unique")]


class BillingProfile(UUIDModel):
    """A location's numbering prefixes. Numbers are unique per GSTIN and financial year, so each
    location (branches may share a GSTIN) has its own prefixes."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="billing_profile")
    invoice_prefix = models.CharField(max_length=5, validators=[PREFIX])
    credit_note_prefix = models.CharField(max_length=5, validators=[PREFIX])
    receipt_prefix = models.CharField(max_length=5, validators=[PREFIX])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice_prefix"], name="billing_invoice_prefix_unique"),
            models.UniqueConstraint(fields=["credit_note_prefix"], name="billing_credit_prefix_unique"),
            models.UniqueConstraint(fields=["receipt_prefix"], name="billing_receipt_prefix_unique"),
        ]


class DocumentCounter(models.Model):
    """The last number given in one series (location, kind, financial year). Issuing locks this row
    (SELECT ... FOR UPDATE) and takes the next number in the issuing transaction, so numbers are
    consecutive: a rolled-back issue gives its number back, and two issuers never share one."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"
        RECEIPT = "receipt", "Receipt"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    financial_year = models.PositiveSmallIntegerField()  # the year it starts: 2026 = April 2026 to March 2027
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "kind", "financial_year"], name="document_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.financial_year}: {self.last_number}"


class Invoice(UUIDModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTLY_PAID = "partly_paid", "Partly paid"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"  # credited in full, nothing left to pay

    class Kind(models.TextChoices):
        TAX_INVOICE = "tax_invoice", "Tax invoice"  # rule 46: has taxable lines
        BILL_OF_SUPPLY = "bill_of_supply", "Bill of supply"  # rule 49: exempt and nil-rated only

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="invoices")
    visit = models.ForeignKey(
        "clinical.Visit", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    number = models.CharField(max_length=16, blank=True)
    financial_year = models.PositiveSmallIntegerField(null=True, blank=True)
    serial = models.PositiveIntegerField(null=True, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Frozen at issue: the supplier's registration and the place of supply (state codes).
    supplier_gstin = models.CharField(max_length=15, blank=True)
    supplier_state = models.CharField(max_length=2, blank=True)
    place_of_supply = models.CharField(max_length=2, blank=True)  # blank on a draft = the location's state
    invoice_discount = money_field(validators=[NON_NEGATIVE])
    gross = money_field()
    discount = money_field()
    taxable_value = money_field()
    non_taxable_value = money_field()
    cgst = money_field()
    sgst = money_field()
    igst = money_field()
    round_off = money_field()
    total = money_field()
    credited = money_field()  # sum of credit notes
    paid = money_field()  # payments less refunds
    # Printed with a QR code for /verify/<code> (clinics.verification), given when the invoice is issued.
    verification_code = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["verification_code"],
                condition=~models.Q(verification_code=""),
                name="invoice_verification_code_unique",
            ),
            models.UniqueConstraint(
                fields=["location", "financial_year", "serial"],
                condition=models.Q(serial__isnull=False),
                name="invoice_serial_unique",
            ),
            models.UniqueConstraint(
                fields=["number", "financial_year"], condition=~models.Q(number=""), name="invoice_number_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | ~models.Q(number=""), name="invoice_issued_has_number"
            ),
        ]
        indexes = [
            models.Index(fields=["location", "status", "-created_at"], name="invoice_location_status"),
            models.Index(fields=["patient", "-created_at"], name="invoice_patient"),
            models.Index(fields=["location", "invoice_date"], name="invoice_location_date"),
        ]

    def __str__(self) -> str:
        return self.number or "Draft invoice"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def balance(self) -> Decimal:
        """What is still to be paid: total less credit notes less net payments (never below zero)."""
        if self.is_draft:
            return Decimal("0.00")
        return max(self.total - self.credited - self.paid, Decimal("0.00"))

    @property
    def inter_state(self) -> bool:
        return bool(self.place_of_supply and self.supplier_state and self.place_of_supply != self.supplier_state)


class InvoiceLine(UUIDModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    item = models.ForeignKey(PriceItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=PriceItem.Kind.choices, default=PriceItem.Kind.SERVICE)
    description = models.CharField(max_length=200)
    sac_hsn = models.CharField("SAC/HSN", max_length=8, validators=[SAC_HSN])
    tax_class = models.CharField(max_length=32)
    quantity = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("1"))
    unit_price = money_field(validators=[NON_NEGATIVE])
    discount = money_field(validators=[NON_NEGATIVE])
    # Computed (billing.gst) on every change of a draft and frozen at issue.
    gst_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    invoice_discount = money_field()
    taxable_value = money_field()
    cgst = money_field()
    sgst = money_field()
    igst = money_field()
    total = money_field()

    class Meta:
        ordering = ["position", "id"]


class CreditNote(UUIDModel):
    """A credit note against an issued invoice (section 34): the whole invoice (cancellation) or
    some quantity of some lines. Numbered in its own series per location and financial year."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=16)
    financial_year = models.PositiveSmallIntegerField()
    serial = models.PositiveIntegerField()
    note_date = models.DateField()
    reason = models.CharField(max_length=200)
    taxable_value = money_field()
    non_taxable_value = money_field()
    cgst = money_field()
    sgst = money_field()
    igst = money_field()
    total = money_field()
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["location", "financial_year", "serial"], name="credit_note_serial_unique"),
            models.UniqueConstraint(fields=["number", "financial_year"], name="credit_note_number_unique"),
        ]


class CreditNoteLine(UUIDModel):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="credits")
    quantity = models.DecimalField(max_digits=10, decimal_places=3)
    taxable_value = money_field()
    cgst = money_field()
    sgst = money_field()
    igst = money_field()
    total = money_field()


class VendorStatus(models.TextChoices):
    PENDING = "pending", "Pending at Razorpay"
    PROCESSED = "processed", "Processed by Razorpay"
    FAILED = "failed", "Failed at Razorpay"


class Payment(UUIDModel):
    """Money in or out at the desk. A payment against an invoice, an advance deposit (no invoice),
    an advance applied to an invoice (mode `advance`), or a refund (kind `refund`, with a reason)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        DEPOSIT = "deposit", "Advance deposit"
        REFUND = "refund", "Refund"

    class Mode(models.TextChoices):
        CASH = "cash", "Cash"
        UPI = "upi", "UPI"
        CARD = "card", "Card"
        ADVANCE = "advance", "From advance"
        RAZORPAY_LINK = "razorpay_link", "Razorpay payment link"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    refund_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    amount = money_field(validators=[MinValueValidator(Decimal("0.01"))])
    reference = models.CharField(max_length=64, blank=True)  # UPI UTR, card approval code, link id
    reason = models.CharField(max_length=200, blank=True)  # refunds
    receipt_number = models.CharField(max_length=16, blank=True)
    financial_year = models.PositiveSmallIntegerField()
    serial = models.PositiveIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    # Razorpay (mode `razorpay_link`): the payment's id ("pay_..."), unique per kind, so however
    # often its webhooks arrive one payment is recorded; a refund's id ("rfnd_...") and its state
    # at Razorpay (pending until `refund.processed`; failed refunds no longer count).
    razorpay_payment_id = models.CharField(max_length=40, blank=True)
    razorpay_refund_id = models.CharField(max_length=40, blank=True)
    vendor_status = models.CharField(max_length=10, choices=VendorStatus.choices, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["razorpay_payment_id", "kind"],
                condition=~models.Q(razorpay_payment_id="") & ~models.Q(kind="refund"),
                name="payment_razorpay_once",
            ),
            models.UniqueConstraint(
                fields=["razorpay_refund_id"], condition=~models.Q(razorpay_refund_id=""), name="refund_razorpay_once"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["location", "financial_year", "serial"],
                condition=models.Q(serial__isnull=False),
                name="receipt_serial_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "received_at"], name="payment_location_time"),
            models.Index(fields=["patient", "received_at"], name="payment_patient"),
        ]

    @property
    def signed_amount(self) -> Decimal:
        return -self.amount if self.kind == self.Kind.REFUND else self.amount


class RazorpayAccount(UUIDModel):
    """The clinic's own Razorpay account (one per clinic): API key id and secret, and the secret
    Razorpay signs its webhooks with (both secrets encrypted). Razorpay posts the webhooks to
    /webhooks/razorpay/<route_key>/: the key is this clinic's entry in the public routing table
    (clinics.VendorRoute), written in the same transaction by `razorpay_settings_update`."""

    slot = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)  # at most one row
    key_id = models.CharField("key id", max_length=40, blank=True)
    key_secret = EncryptedTextField(blank=True)
    webhook_secret = EncryptedTextField(blank=True)
    # Razorpay retries an event for 24 hours signed with the secret it was first sent with, so the
    # replaced secret stays valid for that long after a change.
    previous_webhook_secret = EncryptedTextField(blank=True)
    webhook_secret_changed_at = models.DateTimeField(null=True, blank=True)
    route_key = models.CharField(max_length=64, unique=True)
    is_enabled = models.BooleanField("take payments by Razorpay payment link", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Razorpay {self.key_id or '(not connected)'}"

    @property
    def is_configured(self) -> bool:
        return bool(self.key_id and self.key_secret and self.webhook_secret)


class PaymentLink(UUIDModel):
    """A Razorpay payment link for an invoice's balance. At most one live link per invoice. Its
    status follows Razorpay's (created, partially_paid, paid, cancelled, expired) and only moves
    forward; `creating`/`failed` are ours (the create call is under way / Razorpay refused it)."""

    class Status(models.TextChoices):
        CREATING = "creating", "Being created"
        FAILED = "failed", "Could not be created"
        CREATED = "created", "Waiting for payment"
        PARTIALLY_PAID = "partially_paid", "Partly paid"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    LIVE = (Status.CREATING, Status.CREATED, Status.PARTIALLY_PAID)

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payment_links")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    amount = money_field(validators=[MinValueValidator(Decimal("1.00"))])
    amount_paid = money_field()
    razorpay_id = models.CharField(max_length=40, blank=True)  # "plink_..."
    short_url = models.URLField(max_length=200, blank=True)
    order_id = models.CharField(max_length=40, blank=True)  # Razorpay's order behind the link, once paid
    expire_by = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)  # why Razorpay refused to create it
    # The latest failed attempt to pay (payment.failed): Razorpay's code and description, no PHI.
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    last_failed_payment_id = models.CharField(max_length=40, blank=True)
    last_failure = models.CharField(max_length=200, blank=True)
    sent_count = models.PositiveSmallIntegerField(default=0)  # WhatsApp sends of the link
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"], condition=models.Q(status__in=["creating", "created", "partially_paid"]),
                name="payment_link_one_live",
            ),
            models.UniqueConstraint(
                fields=["razorpay_id"], condition=~models.Q(razorpay_id=""), name="payment_link_razorpay_unique"
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["order_id"], name="payment_link_order")]

    def __str__(self) -> str:
        return self.razorpay_id or "Payment link"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE
