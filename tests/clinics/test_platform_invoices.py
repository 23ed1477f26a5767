"""DocOS's B2B GST tax invoices to clinics: one per captured subscription charge whatever the
replays, numbered consecutively per financial year, tax split by the clinic's state, downloadable
as a PDF by the clinic's owner only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billing import fake_razorpay_subscriptions as rzp_subs
from clinics import subscriptions
from clinics.models import Clinic, PlatformInvoice
from clinics.platform_invoices import financial_year, tax_split
from tests.clinics.subscription_helpers import deliver, make_plan, process_pending

pytestmark = pytest.mark.usefixtures("clock")


def paying(seeded: Any, platform: Any, *, state: str, code: str = "clinic-monthly") -> Any:
    Clinic.objects.filter(pk=seeded.clinic.pk).update(billing_state=state, gstin="29AAGCS1234K1Z7")
    seeded.clinic.refresh_from_db()
    sub = subscriptions.subscription_start(
        clinic=seeded.clinic, plan=make_plan(code=code), seats=3, actor=seeded.users["owner"]
    )
    connection.set_schema_to_public()
    events = rzp_subs.authenticate(platform, sub.razorpay_subscription_id)
    for item in events:
        for _ in range(3):
            deliver(item, event_id=f"evt_{item['event']}_{sub.razorpay_subscription_id}")
    process_pending()
    return sub


def test_a_charge_makes_one_intra_state_invoice_with_cgst_and_sgst(clinic_a, platform):
    sub = paying(clinic_a, platform, state="Karnataka")
    invoice = PlatformInvoice.objects.get(payment__subscription=sub)
    assert invoice.total == Decimal("4497.00") and invoice.taxable_value == Decimal("3811.02")
    assert invoice.cgst == invoice.sgst == Decimal("342.99") and invoice.igst == 0
    assert invoice.taxable_value + invoice.cgst + invoice.sgst == invoice.total
    assert invoice.clinic_gstin == "29AAGCS1234K1Z7" and invoice.sac == "998315"
    assert invoice.number == f"DOS{financial_year(invoice.issued_at)}-000001" and len(invoice.number) <= 16


def test_an_inter_state_clinic_is_charged_igst_and_numbers_run_on(clinic_a, clinic_b, platform):
    paying(clinic_a, platform, state="Karnataka")
    sub_b = paying(clinic_b, platform, state="Maharashtra", code="clinic-b")
    invoice = PlatformInvoice.objects.get(payment__subscription=sub_b)
    assert invoice.igst == Decimal("685.98") and invoice.cgst == invoice.sgst == 0
    assert invoice.place_of_supply == "Maharashtra" and invoice.number.endswith("-000002")


@pytest.mark.parametrize("total", ["1.00", "1499.00", "4497.00", "99999.99", "0.01"])
def test_the_tax_split_always_adds_up_to_the_total(total):
    for intra in (True, False):
        split = tax_split(Decimal(total), intra_state=intra)
        assert sum(split.values()) == Decimal(total)


def test_the_owner_downloads_the_pdf_and_another_clinic_gets_a_404(clinic_a, clinic_b, platform, client_for):
    sub = paying(clinic_a, platform, state="Karnataka")
    number = PlatformInvoice.objects.get(payment__subscription=sub).number
    owner = client_for(clinic_a, "owner")
    assert number in owner.get("/settings/subscription/").content.decode()
    pdf = owner.get(f"/settings/subscription/invoices/{number}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client_for(clinic_b, "owner").get(f"/settings/subscription/invoices/{number}.pdf").status_code == 404
    assert client_for(clinic_a, "front_desk").get(f"/settings/subscription/invoices/{number}.pdf").status_code in (
        403,
        404,
    )
