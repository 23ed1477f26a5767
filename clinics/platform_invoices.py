"""DocOS's B2B GST tax invoices to clinics for their subscription charges (public schema).

One invoice per captured platform payment, issued when the payment is recorded (idempotent: the
payment is unique on the invoice). The charge is GST-inclusive: taxable value = total / (1 + rate),
rounded to paise (half up), the tax is the rest; CGST and SGST halve it when the clinic's billing
state is DocOS's own (intra-state), else it is all IGST (the clinic's state is the place of supply).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from clinics.models import PlatformInvoice, PlatformInvoiceCounter, PlatformPayment

PAISE = Decimal("0.01")


def financial_year(moment: dt.datetime) -> str:
    """ "2627" for April 2026 - March 2027 (in India's time)."""
    local = timezone.localtime(moment, timezone=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    start = local.year if local.month >= 4 else local.year - 1
    return f"{start % 100:02d}{(start + 1) % 100:02d}"


def tax_split(total: Decimal, *, intra_state: bool) -> dict[str, Decimal]:
    rate = Decimal(str(settings.DOCOS_GST_RATE))
    taxable = (total * 100 / (100 + rate)).quantize(PAISE, rounding=ROUND_HALF_UP)
    tax = total - taxable
    if intra_state:
        cgst = (tax / 2).quantize(PAISE, rounding=ROUND_HALF_UP)
        return {"taxable_value": taxable, "cgst": cgst, "sgst": tax - cgst, "igst": Decimal("0.00")}
    return {"taxable_value": taxable, "cgst": Decimal("0.00"), "sgst": Decimal("0.00"), "igst": tax}


def platform_invoice_issue(payment: PlatformPayment) -> PlatformInvoice | None:
    """The invoice for a captured payment (made once; None for a payment not captured)."""
    if payment.status != "captured":
        return None
    with schema_context(get_public_schema_name()), transaction.atomic():
        existing = PlatformInvoice.objects.filter(payment=payment).first()
        if existing is not None:
            return existing
        sub = payment.subscription
        clinic = sub.clinic
        fy = financial_year(payment.paid_or_failed_at)
        PlatformInvoiceCounter.objects.get_or_create(financial_year=fy)
        counter = PlatformInvoiceCounter.objects.select_for_update().get(financial_year=fy)
        counter.last += 1
        counter.save(update_fields=["last"])
        intra = (clinic.billing_state or "").strip().lower() == str(settings.DOCOS_STATE).strip().lower()
        plan = sub.plan
        return PlatformInvoice.objects.create(
            payment=payment,
            number=f"DOS{fy}-{counter.last:06d}",
            financial_year=fy,
            issued_at=payment.paid_or_failed_at,
            clinic_name=clinic.name,
            clinic_gstin=clinic.gstin,
            clinic_address=clinic.billing_address,
            place_of_supply=clinic.billing_state,
            description=f"DocOS {plan.name} subscription ({plan.get_basis_display().lower()})",
            sac=str(settings.DOCOS_SAC),
            total=payment.amount,
            **tax_split(payment.amount, intra_state=intra),
        )


def platform_invoice_pdf(invoice: PlatformInvoice) -> bytes:
    from docos.pdf import Letterhead, render_pdf

    letterhead = Letterhead(
        name=str(settings.DOCOS_LEGAL_NAME), address=str(settings.DOCOS_ADDRESS), gstin=str(settings.DOCOS_GSTIN)
    )
    return render_pdf(
        "clinics/platform_invoice_pdf.html",
        {"invoice": invoice, "rate": Decimal(str(settings.DOCOS_GST_RATE)), "docos_state": settings.DOCOS_STATE},
        letterhead=letterhead,
    )
