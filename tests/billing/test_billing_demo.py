"""The demo clinic's billing: a price list and invoices in every state, paid every way."""

from __future__ import annotations

from decimal import Decimal

from django_tenants.utils import tenant_context

from accounts.models import Location, User
from billing import demo
from billing.models import CreditNote, Invoice, Payment, PriceItem
from clinics.models import Clinic
from patients import demo as patients_demo
from tests.billing.billing_helpers import set_gstin


def test_demo_has_invoices_in_every_state(clinic_a, client_for, clock):
    set_gstin(clinic_a)
    with tenant_context(clinic_a.clinic):
        # The demo's names for the branches and the desk.
        east, main = clinic_a.locations
        Location.objects.filter(pk=east.pk).update(name="Koramangala")
        Location.objects.filter(pk=main.pk).update(name="Indiranagar")
        User.objects.filter(pk=clinic_a.users["owner"].pk).update(email="owner@demo.docos.in")
        User.objects.filter(pk=clinic_a.users["front_desk"].pk).update(email="frontdesk@demo.docos.in")
        patients_demo.seed_patients()
        Clinic.objects.filter(pk=clinic_a.clinic.pk).update(gstin="29AAGCS1234K1Z7")
        demo.seed(clinic_a.clinic)
        assert PriceItem.objects.count() == len(demo.PRICE_LIST)
        states = set(Invoice.objects.values_list("status", flat=True))
        assert states == {"draft", "issued", "partly_paid", "paid", "cancelled"}
        kinds = set(Invoice.objects.exclude(status="draft").values_list("kind", flat=True))
        assert kinds == {"tax_invoice", "bill_of_supply"}
        modes = set(Payment.objects.values_list("mode", flat=True))
        assert {"cash", "upi", "card", "advance", "razorpay_link"} <= modes
        from billing.models import PaymentLink

        links = {link.status: link for link in PaymentLink.objects.select_related("invoice")}
        assert set(links) == {"paid", "created"}
        assert links["paid"].invoice.status == "paid" and links["created"].amount == Decimal("2150.00")
        assert Payment.objects.filter(mode="razorpay_link").count() == 1
        assert CreditNote.objects.count() == 2 and Payment.objects.filter(kind="refund").count() == 1
        assert demo.seed(clinic_a.clinic) == {}  # once only
    owner = client_for(clinic_a, "owner")
    assert "Chemical peel" in owner.get("/billing/price-list/").content.decode()
    assert owner.get("/billing/outstanding/").status_code == 200
