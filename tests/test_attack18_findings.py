"""Defects found by attacking Razorpay payment links, invoice verification and the billing set-up
pages from outside (one test per defect)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from billing import payment_links, services
from billing.models import Invoice, Payment, PaymentLink
from messaging.models import OutboundMessage
from tests.billing import test_razorpay_links as links
from tests.billing.billing_helpers import staff

pytestmark = pytest.mark.usefixtures("clock")

rzp, billed = links.rzp, links.billed  # the payment-link fixtures: clinic A connected, an issued invoice
make_link, state = links.make_link, links.state


def _messages_for(b: dict[str, Any], link: PaymentLink) -> int:
    with tenant_context(b["seeded"].clinic):
        count = OutboundMessage.objects.filter(related_id=str(link.pk)).count()
    connection.set_schema_to_public()
    return count


def test_a_link_of_an_invoice_cancelled_by_a_credit_note_is_not_sent_to_the_patient(billed, client_for):
    """The credit note cancelled the invoice but left its payment link open: the desk could still
    send the patient a WhatsApp asking for ₹750 on a cancelled invoice."""
    link = make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        owner = staff(billed["seeded"], "owner")
        services.credit_note_issue(actor=owner, invoice=billed["invoice"], reason="Billed the wrong patient")
    connection.set_schema_to_public()
    client = client_for(billed["seeded"], "front_desk")
    assert client.post(f"/billing/payment-links/{link.pk}/send", {"sent_count": "0"}).status_code == 302
    assert _messages_for(billed, link) == 0
    with tenant_context(billed["seeded"].clinic), pytest.raises(ValidationError, match="cancel"):
        payment_links.payment_link_send(actor=billed["desk"], link=link)


def test_a_link_asking_for_more_than_is_now_due_is_not_sent(billed):
    """Cash taken at the desk after the link was made left ₹250 due, yet the WhatsApp message
    would ask the patient for the link's ₹750 (paying it parks ₹500 as an unasked-for deposit)."""
    link = make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        services.payment_record(actor=billed["desk"], invoice=billed["invoice"], mode="cash", amount=Decimal("500"))
        with pytest.raises(ValidationError, match="new link"):
            payment_links.payment_link_send(actor=billed["desk"], link=link)
    connection.set_schema_to_public()
    assert _messages_for(billed, link) == 0
    _, _, link = state(billed)
    assert link.sent_count == 0


def test_the_public_page_of_a_partly_credited_invoice_says_what_was_credited(billed):
    """₹250 of a ₹750 invoice was credited and the ₹500 left was paid: /verify said "Amount ₹750.00,
    Paid in full", so an insurer or employer would reimburse ₹250 the patient never paid."""
    from django.core.cache import cache

    with tenant_context(billed["seeded"].clinic):
        invoice = billed["invoice"]
        dressing = invoice.lines.get(description__startswith="Dressing")
        owner = staff(billed["seeded"], "owner")
        services.credit_note_issue(
            actor=owner, invoice=invoice, reason="Dressing not done", quantities={dressing.pk: 1}
        )
        services.payment_record(actor=billed["desk"], invoice=invoice, mode="cash", amount=Decimal("500"))
        invoice.refresh_from_db()
    connection.set_schema_to_public()
    cache.clear()  # the page's rate limit
    html = Client(HTTP_HOST="testserver.local").get(f"/verify/{invoice.verification_code}").content.decode()
    assert "₹750.00" in html
    assert "Credited" in html and "₹250.00" in html


def test_a_key_id_with_a_character_razorpay_never_issues_is_refused_when_saved(clinic_a):
    """A key id pasted with an invisible zero-width space (or any non-ASCII letter) was saved, and
    every link then failed with "Razorpay could not be reached just now; try again in a minute":
    the SDK cannot even encode it into the Authorization header, and no retry ever helps."""
    with tenant_context(clinic_a.clinic):
        for key_id in ("rzp_test_AlphaKey000001\u200b", "rzp_test_Alpha Key", "rzp_live_कुंजी0001"):
            with pytest.raises(ValidationError) as caught:
                payment_links.razorpay_settings_update(
                    actor=None, key_id=key_id, key_secret="alpha-key-secret", webhook_secret="hook", is_enabled=True
                )
            assert "key_id" in caught.value.message_dict, key_id
        with pytest.raises(ValidationError) as caught:
            payment_links.razorpay_settings_update(
                actor=None,
                key_id="rzp_test_AlphaKey000001",
                key_secret="secret\u200b",
                webhook_secret="h",
                is_enabled=True,
            )
        assert "key_secret" in caught.value.message_dict


def test_a_dashboard_refund_whose_event_outruns_the_payments_events_is_not_lost(billed, rzp):
    """Razorpay retries a webhook for a day, so refund.processed can arrive before the payment's own
    (delayed) events: the refund found no payment, was dropped for good, and the payment recorded
    next left the invoice "Paid" although the patient had the money back."""
    from billing import razorpay

    link = make_link(billed)
    captured, paid = rzp.pay(link.razorpay_id)
    pay_id = captured["payload"]["payment"]["entity"]["id"]
    refund = razorpay.refund_create(
        razorpay.Credentials(links.KEY_A, links.SECRET_A),
        payment_id=pay_id,
        amount=Decimal("750"),
        receipt="",
        notes={},
    )
    links.post(billed["route"], rzp.process_refund(refund["id"]), links.HOOK_A)
    assert set(links.process_pending()) == {"processed"}
    for event in (captured, paid):  # the payment's events, late
        links.post(billed["route"], event, links.HOOK_A)
    links.process_pending()
    invoice, payments, link = state(billed)
    kinds = sorted((p.kind, p.amount) for p in payments)
    assert kinds == [(Payment.Kind.PAYMENT, Decimal("750.00")), (Payment.Kind.REFUND, Decimal("750.00"))]
    assert invoice.paid == 0 and invoice.status == Invoice.Status.ISSUED
    assert link.status == PaymentLink.Status.PAID


def test_a_payment_forged_with_a_replaced_leaked_webhook_secret_is_not_recorded(billed, rzp):
    """The clinic replaced its webhook secret because it leaked; the old one still verifies for 24
    hours (for Razorpay's retries), and a payment invented by whoever holds it was recorded as money
    received: nothing asked Razorpay whether that payment exists. A real retry still lands."""
    from billing import fake_razorpay

    link = make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        payment_links.razorpay_settings_update(
            actor=None, key_id=links.KEY_A, key_secret=None, webhook_secret="alpha-new-secret", is_enabled=True
        )
    connection.set_schema_to_public()
    forged = {
        "id": "pay_Forged000000001", "entity": "payment", "amount": 75000, "currency": "INR",
        "status": "captured", "order_id": "order_Forged0000001", "notes": {"docos_link": str(link.pk)},
        "created_at": 1764900000,
    }  # fmt: skip
    event = fake_razorpay.event("payment.captured", payment=forged)
    assert links.post(billed["route"], event, links.HOOK_A).status_code == 200  # the leaked, replaced secret
    links.process_pending()
    invoice, payments, _ = state(billed)
    assert payments == [] and invoice.status == Invoice.Status.ISSUED
    captured, _ = rzp.pay(link.razorpay_id)  # a real payment, its event signed before the change
    assert links.post(billed["route"], captured, links.HOOK_A).status_code == 200
    links.process_pending()
    invoice, payments, _ = state(billed)
    assert len(payments) == 1 and payments[0].razorpay_payment_id == captured["payload"]["payment"]["entity"]["id"]
    assert invoice.status == Invoice.Status.PAID
