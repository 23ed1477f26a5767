"""Small forms of the billing pages (parsing only; the rules are in billing.services)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from billing import gst
from billing.models import Payment, PriceItem

AMOUNT: dict[str, Any] = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.00")}


class LineForm(forms.Form):
    item = forms.ModelChoiceField(queryset=PriceItem.objects.filter(is_active=True), required=False)
    quantity = forms.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"), initial=1)
    unit_price = forms.DecimalField(required=False, label="Price (₹, blank = price list)", **AMOUNT)
    discount = forms.DecimalField(required=False, label="Discount (₹)", **AMOUNT)
    description = forms.CharField(max_length=200, required=False)
    sac_hsn = forms.CharField(max_length=8, required=False, label="SAC/HSN")
    tax_class = forms.ChoiceField(choices=[("", "—"), *gst.tax_class_choices()], required=False)


class DraftForm(forms.Form):
    invoice_discount = forms.DecimalField(required=False, label="Invoice discount (₹)", **AMOUNT)
    place_of_supply = forms.ChoiceField(
        choices=[("", "The location's state"), *gst.STATE_CHOICES], required=False, label="Place of supply"
    )


class PaymentForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[
            (Payment.Mode.CASH, "Cash"),
            (Payment.Mode.UPI, "UPI"),
            (Payment.Mode.CARD, "Card"),
            (Payment.Mode.ADVANCE, "From advance"),
        ]
    )
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reference = forms.CharField(max_length=64, required=False, label="Reference (UPI UTR, card approval)")


class DepositForm(PaymentForm):
    mode = forms.ChoiceField(
        choices=[(Payment.Mode.CASH, "Cash"), (Payment.Mode.UPI, "UPI"), (Payment.Mode.CARD, "Card")]
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=200)


class PriceItemForm(forms.ModelForm):
    tax_class = forms.ChoiceField(choices=gst.tax_class_choices())

    class Meta:
        model = PriceItem
        fields = ["name", "kind", "code", "sac_hsn", "tax_class", "default_price", "add_to_visits", "is_active"]


class RazorpaySettingsForm(forms.Form):
    key_id = forms.CharField(label="Key id", max_length=40, required=False, help_text="e.g. rzp_live_AbCdEf123456")
    key_secret = forms.CharField(
        label="Key secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the stored one.",
    )
    webhook_secret = forms.CharField(
        label="Webhook secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The secret you set on the webhook in Razorpay's dashboard. Leave empty to keep the stored one.",
    )
    is_enabled = forms.BooleanField(label="Take payments by Razorpay payment link", required=False)
