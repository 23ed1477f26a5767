"""Razorpay payment links end to end against the local fake (billing.fake_razorpay) through the real
SDK: creating and cancelling a link, the signed webhook (per-clinic path and secret), exactly one
payment whatever the replays, order or concurrency, failed payments and refunds."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from billing import payment_links, services
from billing.fake_razorpay import FakeRazorpayServer, signed_headers
from billing.models import Invoice, Payment, PaymentLink
from clinics.models import VendorRoute
from docos import webhooks
from docos.models import WebhookEvent
from tests.billing.billing_helpers import make_patient, price_list, set_gstin, staff

pytestmark = pytest.mark.usefixtures("clock")

KEY_A, SECRET_A, HOOK_A = "rzp_test_AlphaKey000001", "alpha-key-secret", "alpha-webhook-secret"
KEY_B, SECRET_B, HOOK_B = "rzp_test_BetaKey0000001", "beta-key-secret", "beta-webhook-secret"


def connect(seeded: Any, key: str, secret: str, hook: str) -> Any:
    with tenant_context(seeded.clinic):
        account = payment_links.razorpay_settings_update(
            actor=None, key_id=key, key_secret=secret, webhook_secret=hook, is_enabled=True
        )
    connection.set_schema_to_public()
    return account


@pytest.fixture
def rzp(fake_razorpay: FakeRazorpayServer, settings: Any) -> FakeRazorpayServer:
    fake_razorpay.reset()
    fake_razorpay.add_account(KEY_A, SECRET_A)
    fake_razorpay.add_account(KEY_B, SECRET_B)
    settings.RAZORPAY_BASE_URL = fake_razorpay.base_url
    return fake_razorpay


@pytest.fixture
def billed(clinic_a: Any, rzp: FakeRazorpayServer) -> dict[str, Any]:
    set_gstin(clinic_a)
    account = connect(clinic_a, KEY_A, SECRET_A, HOOK_A)
    with tenant_context(clinic_a.clinic):
        owner = staff(clinic_a, "owner")
        items = price_list(owner)
        patient = make_patient(clinic_a, given_name="Lakshmi", family_name="Narayanan")
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_create(actor=desk, patient=patient, location=clinic_a.locations[0])
        services.invoice_add_line(actor=desk, invoice=invoice, item=items["consult"])
        services.invoice_add_line(actor=desk, invoice=invoice, item=items["dressing"])
        invoice = services.invoice_issue(actor=desk, invoice=invoice)
    connection.set_schema_to_public()
    return {"seeded": clinic_a, "desk": desk, "invoice": invoice, "route": account.route_key, "patient": patient}


def make_link(b: dict[str, Any]) -> PaymentLink:
    with tenant_context(b["seeded"].clinic):
        link = payment_links.invoice_payment_link_create(actor=b["desk"], invoice=b["invoice"])
    connection.set_schema_to_public()
    return link


def post(
    route: str, payload: dict[str, Any] | bytes, secret: str, *, event_id: str = "", signature: str | None = None
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = signed_headers(body, secret, event_id or None)
    meta = {"HTTP_X_RAZORPAY_EVENT_ID": headers["X-Razorpay-Event-Id"]}
    meta["HTTP_X_RAZORPAY_SIGNATURE"] = headers["X-Razorpay-Signature"] if signature is None else signature
    return Client().post(
        f"/webhooks/razorpay/{route}/", data=body, content_type="application/json",
        HTTP_HOST=settings.DOCOS_BASE_DOMAIN, **meta,
    )  # fmt: skip


def process_pending() -> list[str]:
    connection.set_schema_to_public()
    pks = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).values_list("pk", flat=True))
    return [webhooks.webhook_process(str(pk)) for pk in pks]


def state(b: dict[str, Any]) -> tuple[Invoice, list[Payment], PaymentLink]:
    with tenant_context(b["seeded"].clinic):
        invoice = Invoice.objects.get(pk=b["invoice"].pk)
        payments = list(Payment.objects.filter(patient=b["patient"]).order_by("received_at"))
        link = PaymentLink.objects.filter(invoice=invoice).order_by("-created_at").first()
    connection.set_schema_to_public()
    assert link is not None
    return invoice, payments, link


def test_a_link_is_made_through_the_sdk_for_the_balance_with_basic_auth(billed, rzp):
    link = make_link(billed)
    assert link.status == PaymentLink.Status.CREATED and link.razorpay_id.startswith("plink_")
    assert link.amount == Decimal("750.00") and link.short_url.startswith(rzp.base_url)
    create = [r for r in rzp.requests if r.method == "POST" and r.path == "/v1/payment_links"]
    assert len(create) == 1 and create[0].key_id == KEY_A
    assert create[0].body["amount"] == 75000 and create[0].body["currency"] == "INR"
    assert create[0].body["notes"]["docos_link"] == str(link.pk) and create[0].body["reference_id"] == link.pk.hex


def test_a_second_live_link_for_the_same_invoice_is_refused(billed):
    make_link(billed)
    with pytest.raises(ValidationError, match="already has a payment link"):
        make_link(billed)


def test_razorpay_refusing_the_key_reads_as_a_sentence_and_the_link_is_failed(billed, rzp):
    rzp.state.accounts[KEY_A].key_secret = "rotated-at-razorpay"
    with pytest.raises(ValidationError, match="refused the key id or key secret"):
        make_link(billed)
    _, _, link = state(billed)
    assert link.status == PaymentLink.Status.FAILED


def test_a_server_error_is_worth_a_retry_and_a_bad_request_is_permanent(billed, rzp):
    from billing import razorpay
    from docos.webhooks import VendorError

    creds = razorpay.Credentials(KEY_A, SECRET_A)
    rzp.script(status=500, code="SERVER_ERROR", description="The server encountered an error")
    with pytest.raises(VendorError) as transient:
        razorpay.payment_link_fetch(creds, "plink_Unknown0000001")
    assert transient.value.permanent is False
    with pytest.raises(VendorError) as permanent:
        razorpay.payment_link_fetch(creds, "plink_Unknown0000001")
    assert permanent.value.permanent is True and "does not exist" in permanent.value.message


def test_cancelling_a_link_cancels_it_at_razorpay(billed, rzp):
    link = make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        payment_links.payment_link_cancel(actor=billed["desk"], link=link)
    _, _, link = state(billed)
    assert link.status == PaymentLink.Status.CANCELLED and rzp.state.links[link.razorpay_id]["status"] == "cancelled"


def test_a_paid_link_records_exactly_one_payment_whatever_the_replays(billed, rzp):
    link = make_link(billed)
    captured, paid = rzp.pay(link.razorpay_id)
    for _ in range(3):  # Razorpay retries: same event id
        assert post(billed["route"], captured, HOOK_A, event_id="EvtCaptured0001").status_code == 200
        assert post(billed["route"], paid, HOOK_A, event_id="EvtLinkPaid0001").status_code == 200
    assert WebhookEvent.objects.filter(vendor="razorpay").count() == 2  # deduped by x-razorpay-event-id
    for n in range(3):  # and the same payment under new event ids
        post(billed["route"], paid, HOOK_A, event_id=f"EvtAgain{n:08d}")
    assert set(process_pending()) == {"processed"}
    invoice, payments, link = state(billed)
    assert len(payments) == 1 and payments[0].amount == Decimal("750.00")
    assert (
        payments[0].mode == Payment.Mode.RAZORPAY_LINK
        and payments[0].razorpay_payment_id == captured["payload"]["payment"]["entity"]["id"]
    )
    assert invoice.status == Invoice.Status.PAID and invoice.balance == 0
    assert link.status == PaymentLink.Status.PAID and link.amount_paid == Decimal("750.00")


@pytest.mark.parametrize("order", ["captured_first", "link_paid_first"])
def test_events_out_of_order_still_record_one_payment_and_a_paid_link(billed, rzp, order):
    link = make_link(billed)
    captured, paid = rzp.pay(link.razorpay_id)
    events = [captured, paid] if order == "captured_first" else [paid, captured]
    for event in events:
        post(billed["route"], event, HOOK_A)
        process_pending()
    invoice, payments, link = state(billed)
    assert len(payments) == 1 and invoice.status == Invoice.Status.PAID
    assert link.status == PaymentLink.Status.PAID and link.order_id.startswith("order_")


def test_a_bad_or_missing_signature_is_refused_before_anything_is_stored(billed, rzp):
    link = make_link(billed)
    _, paid = rzp.pay(link.razorpay_id)
    assert post(billed["route"], paid, HOOK_A, signature="0" * 64).status_code == 403
    assert post(billed["route"], paid, HOOK_A, signature="").status_code == 403
    assert post(billed["route"], b"not json", "wrong").status_code == 403
    assert post("NoSuchRouteKey000000000", paid, HOOK_A).status_code == 403
    assert WebhookEvent.objects.filter(vendor="razorpay").count() == 0


def test_another_clinics_secret_cannot_mark_this_clinics_invoice_paid(billed, rzp, clinic_b):
    route_b = connect(clinic_b, KEY_B, SECRET_B, HOOK_B).route_key
    link = make_link(billed)
    captured, paid = rzp.pay(link.razorpay_id)
    assert post(billed["route"], paid, HOOK_B).status_code == 403  # B's secret on A's path
    assert post(route_b, paid, HOOK_B).status_code == 200  # B's own path: handled in B's schema
    assert post(route_b, captured, HOOK_B).status_code == 200
    process_pending()
    invoice, payments, _ = state(billed)
    assert payments == [] and invoice.status == Invoice.Status.ISSUED


def test_a_failed_payment_is_noted_on_the_link_and_records_no_payment(billed, rzp):
    link = make_link(billed)
    failed = rzp.fail(link.razorpay_id, description="Your payment has been declined by the bank")
    post(billed["route"], failed, HOOK_A)
    post(billed["route"], failed, HOOK_A)  # a second delivery under a new event id
    process_pending()
    invoice, payments, link = state(billed)
    assert payments == [] and invoice.status == Invoice.Status.ISSUED
    assert link.status == PaymentLink.Status.CREATED and link.failed_attempts == 1
    assert "declined by the bank" in link.last_failure


def test_a_refund_goes_through_razorpay_and_refund_processed_confirms_it(billed, rzp, settings):
    link = make_link(billed)
    _captured, paid = rzp.pay(link.razorpay_id)
    post(billed["route"], paid, HOOK_A)
    process_pending()
    _, payments, _ = state(billed)
    owner = staff(billed["seeded"], "owner")
    with tenant_context(billed["seeded"].clinic):
        with transaction.atomic():  # the task is enqueued on commit; here it runs inline
            refund = services.refund_record(
                actor=owner, payment=payments[0], amount=Decimal("250.00"), reason="Dressing not done"
            )
        assert refund.vendor_status == "pending" and refund.mode == Payment.Mode.RAZORPAY_LINK
        assert payment_links.razorpay_refund_submit(refund_id=str(refund.pk)) == "pending"
        assert payment_links.razorpay_refund_submit(refund_id=str(refund.pk)) == "nothing_to_do"  # not twice
        refund.refresh_from_db()
    connection.set_schema_to_public()
    assert refund.razorpay_refund_id.startswith("rfnd_") and len(rzp.state.refunds) == 1
    processed = rzp.process_refund(refund.razorpay_refund_id)
    post(billed["route"], processed, HOOK_A)
    post(billed["route"], processed, HOOK_A)
    process_pending()
    invoice, payments, _ = state(billed)
    refunds = [p for p in payments if p.kind == Payment.Kind.REFUND]
    assert len(refunds) == 1 and refunds[0].vendor_status == "processed"
    assert invoice.paid == Decimal("500.00") and invoice.status == Invoice.Status.PARTLY_PAID


def test_a_refund_made_in_the_razorpay_dashboard_is_recorded_once(billed, rzp):
    from billing import razorpay

    link = make_link(billed)
    _, paid = rzp.pay(link.razorpay_id)
    post(billed["route"], paid, HOOK_A)
    process_pending()
    pay_id = paid["payload"]["payment"]["entity"]["id"]
    refund = razorpay.refund_create(
        razorpay.Credentials(KEY_A, SECRET_A), payment_id=pay_id, amount=Decimal("750"), receipt="", notes={}
    )
    processed = rzp.process_refund(refund["id"])
    for _ in range(2):
        post(billed["route"], processed, HOOK_A)
    process_pending()
    invoice, payments, _ = state(billed)
    assert [p.kind for p in payments].count(Payment.Kind.REFUND) == 1
    assert invoice.paid == 0 and invoice.status == Invoice.Status.ISSUED


def test_the_webhook_route_follows_the_clinic_setting(billed):
    assert VendorRoute.objects.filter(vendor="razorpay", account_id=billed["route"]).count() == 1
    with tenant_context(billed["seeded"].clinic):
        payment_links.razorpay_settings_update(
            actor=None, key_id=KEY_A, key_secret=None, webhook_secret="", is_enabled=False
        )
    connection.set_schema_to_public()
    assert not VendorRoute.objects.filter(vendor="razorpay", account_id=billed["route"]).exists()


def test_concurrent_deliveries_of_one_payment_record_it_once(
    throwaway_clinic, django_db_blocker, fake_razorpay, settings
):
    fake_razorpay.reset()
    fake_razorpay.add_account(KEY_A, SECRET_A)
    settings.RAZORPAY_BASE_URL = fake_razorpay.base_url
    clinic = throwaway_clinic.clinic
    with django_db_blocker.unblock():
        set_gstin(throwaway_clinic)
        with tenant_context(clinic):
            payment_links.razorpay_settings_update(
                actor=None, key_id=KEY_A, key_secret=SECRET_A, webhook_secret=HOOK_A, is_enabled=True
            )
            owner = throwaway_clinic.owner
            item = services.price_item_create(
                actor=owner, name="Consultation", kind="service", sac_hsn="999312", tax_class="health_exempt",
                default_price=Decimal("1200"),
            )  # fmt: skip
            from patients.models import Patient

            patient = Patient.objects.create(
                mrn="RZP-1",
                given_name="Suresh",
                family_name="Pillai",
                registered_location=throwaway_clinic.locations[0],
            )
            invoice = services.invoice_create(actor=owner, patient=patient, location=throwaway_clinic.locations[0])
            services.invoice_add_line(actor=owner, invoice=invoice, item=item)
            invoice = services.invoice_issue(actor=owner, invoice=invoice)
            link = payment_links.invoice_payment_link_create(actor=owner, invoice=invoice)
        connection.set_schema_to_public()
        captured, paid = fake_razorpay.pay(link.razorpay_id)
        jobs = [(payment_links.on_payment_captured, captured), (payment_links.on_payment_link_paid, paid)] * 6
        barrier = threading.Barrier(len(jobs))
        errors: list[BaseException] = []

        def run(handler: Any, event: dict[str, Any]) -> None:
            try:
                connection.set_tenant(clinic)
                payload = webhooks.vendor("razorpay").parse(json.dumps(event).encode())[0].payload  # type: ignore[union-attr]
                barrier.wait()
                with transaction.atomic():
                    handler(payload)
            except BaseException as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with tenant_context(clinic):
            assert Payment.objects.filter(invoice=invoice).count() == 1
            assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
        connection.set_schema_to_public()


def test_front_desk_makes_sends_and_sees_a_link_on_the_invoice_page(billed, client_for, rzp):
    client = client_for(billed["seeded"], "front_desk")
    url = f"/billing/invoices/{billed['invoice'].pk}/"
    page = client.get(url)
    assert page.status_code == 200 and b"No payment link yet." in page.content
    assert client.post(url + "payment-link").status_code == 302
    _, _, link = state(billed)
    page = client.get(url).content.decode()
    assert "Waiting for payment" in page and link.short_url in page
    assert client.post(f"/billing/payment-links/{link.pk}/send").status_code == 302
    from messaging.models import OutboundMessage

    with tenant_context(billed["seeded"].clinic):
        message = OutboundMessage.objects.get(related_id=str(link.pk))
    connection.set_schema_to_public()
    assert message.template_name == "payment_link" and message.parameters[3] == link.short_url
    assert message.parameters[1] == "₹750.00"
    assert client.post(f"/billing/payment-links/{link.pk}/cancel").status_code == 302
    assert "Cancelled" in client.get(url).content.decode()


def test_a_link_is_not_found_for_a_missing_id_or_without_collect(billed, client_for):
    import uuid

    link = make_link(billed)
    client = client_for(billed["seeded"], "front_desk")
    assert client.post(f"/billing/payment-links/{uuid.uuid4()}/cancel").status_code == 404
    doctor = client_for(billed["seeded"], "doctor")  # sees invoices, does not collect
    assert doctor.post(f"/billing/payment-links/{link.pk}/cancel").status_code in (403, 404)
    _, _, link = state(billed)
    assert link.status == PaymentLink.Status.CREATED


def test_settings_page_saves_the_account_and_shows_the_webhook_url(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    response = client.post(
        "/settings/razorpay/",
        {"key_id": "rzp_live_OwnerKey00001", "key_secret": "s3cret", "webhook_secret": "wh-s3cret", "is_enabled": "on"},
    )
    assert response.status_code == 302
    page = client.get("/settings/razorpay/").content.decode()
    assert "/webhooks/razorpay/" in page and "s3cret" not in page and "A key secret is stored" in page
    bad = client.post("/settings/razorpay/", {"key_id": "live_key", "is_enabled": "on"})
    assert bad.status_code == 400 and "rzp_live_" in bad.content.decode()
    assert client_for(clinic_a, "front_desk").get("/settings/razorpay/").status_code in (403, 404)


def test_a_replaced_webhook_secret_still_verifies_razorpays_retries_for_a_day(billed, rzp, clock):
    import datetime as dt

    link = make_link(billed)
    _captured, paid = rzp.pay(link.razorpay_id)
    with tenant_context(billed["seeded"].clinic):
        payment_links.razorpay_settings_update(
            actor=None, key_id=KEY_A, key_secret=None, webhook_secret="alpha-new-secret", is_enabled=True
        )
    connection.set_schema_to_public()
    assert post(billed["route"], paid, "alpha-new-secret").status_code == 200
    assert post(billed["route"], paid, HOOK_A).status_code == 200  # a retry signed before the change
    clock.shift(dt.timedelta(hours=25))
    assert post(billed["route"], paid, HOOK_A).status_code == 403  # Razorpay stopped retrying by now


def test_cancelling_a_link_paid_meanwhile_shows_it_paid(billed, rzp):
    link = make_link(billed)
    rzp.pay(link.razorpay_id)
    with tenant_context(billed["seeded"].clinic), pytest.raises(ValidationError, match="is paid"):
        payment_links.payment_link_cancel(actor=billed["desk"], link=link)
    _, _, link = state(billed)
    assert link.status == PaymentLink.Status.PAID


def test_an_expired_link_is_closed_and_a_new_one_can_be_made(billed, rzp):
    from billing.fake_razorpay import event

    link = make_link(billed)
    entity = dict(rzp.state.links[link.razorpay_id], status="expired")
    post(billed["route"], event("payment_link.expired", payment_link=entity), HOOK_A)
    process_pending()
    _, _, link = state(billed)
    assert link.status == PaymentLink.Status.EXPIRED
    assert make_link(billed).status == PaymentLink.Status.CREATED


def test_the_fake_refuses_what_razorpay_documents_it_refuses(rzp):
    from billing import razorpay
    from docos.webhooks import VendorError

    creds = razorpay.Credentials(KEY_A, SECRET_A)
    import time

    base = {"description": "x", "customer": {}, "notes": {}, "expire_by": int(time.time()) + 86400}
    cases = [
        ({"amount": Decimal("0.50"), "reference_id": "r1"}, "atleast INR 1.00"),
        ({"amount": Decimal("10"), "reference_id": "r2", "expire_by": 1}, "15 minutes in future"),
        ({"amount": Decimal("10"), "reference_id": "r3", "notes": {"k": "v" * 256}}, "greater than 255"),
    ]
    for extra, message in cases:
        with pytest.raises(VendorError, match=message) as caught:
            razorpay.payment_link_create(creds, **{**base, **extra})  # type: ignore[arg-type]
        assert caught.value.permanent and caught.value.code == "BAD_REQUEST_ERROR"
    razorpay.payment_link_create(creds, **{**base, "amount": Decimal("10"), "reference_id": "dup"})  # type: ignore[arg-type]
    with pytest.raises(VendorError, match="reference ID already attempted"):
        razorpay.payment_link_create(creds, **{**base, "amount": Decimal("10"), "reference_id": "dup"})  # type: ignore[arg-type]
    with pytest.raises(VendorError, match="api key provided is invalid") as auth:
        razorpay.payment_link_fetch(razorpay.Credentials("rzp_test_Nobody", "x"), "plink_X")
    assert auth.value.code == "authentication"


def test_a_thousand_replays_record_one_payment(billed, rzp):
    link = make_link(billed)
    captured, paid = rzp.pay(link.razorpay_id)
    body = json.dumps(paid).encode()
    for n in range(1000):  # Razorpay's retries (same event id) and a few re-sends under new ids
        event_id = "EvtPaid000000001" if n % 20 else f"EvtResend{n:07d}"
        assert post(billed["route"], body, HOOK_A, event_id=event_id).status_code == 200
    post(billed["route"], captured, HOOK_A)
    assert WebhookEvent.objects.filter(vendor="razorpay").count() == 1 + 50 + 1
    assert set(process_pending()) == {"processed"}
    invoice, payments, _ = state(billed)
    assert len(payments) == 1 and invoice.status == Invoice.Status.PAID


def test_an_expired_link_without_its_webhook_does_not_block_a_new_one(billed, rzp, clock):
    import datetime as dt

    make_link(billed)
    clock.shift(dt.timedelta(days=8))  # past RAZORPAY_LINK_EXPIRY_DAYS
    assert make_link(billed).status == PaymentLink.Status.CREATED
    with tenant_context(billed["seeded"].clinic):
        statuses = sorted(PaymentLink.objects.values_list("status", flat=True))
    connection.set_schema_to_public()
    assert statuses == ["created", "expired"]


def test_the_system_check_refuses_razorpay_on_without_an_api_url(settings):
    from billing.checks import check_razorpay_settings

    settings.RAZORPAY_ENABLED, settings.RAZORPAY_BASE_URL = True, ""
    assert [e.id for e in check_razorpay_settings()] == ["billing.E001"]
    settings.RAZORPAY_BASE_URL = "https://api.razorpay.com"
    assert check_razorpay_settings() == []
    settings.RAZORPAY_ENABLED, settings.RAZORPAY_BASE_URL = False, ""
    assert check_razorpay_settings() == []


def test_a_double_press_of_send_messages_the_patient_once(billed, client_for, rzp):
    from messaging.models import OutboundMessage

    client = client_for(billed["seeded"], "front_desk")
    assert client.post(f"/billing/invoices/{billed['invoice'].pk}/payment-link").status_code == 302
    _, _, link = state(billed)
    send = f"/billing/payment-links/{link.pk}/send"
    assert client.post(send, {"sent_count": "0"}).status_code == 302
    assert client.post(send, {"sent_count": "0"}).status_code == 302  # the same page, pressed again
    with tenant_context(billed["seeded"].clinic):
        assert OutboundMessage.objects.filter(related_id=str(link.pk)).count() == 1
    connection.set_schema_to_public()
    assert client.post(send, {"sent_count": "1"}).status_code == 302  # sent again on purpose, from a fresh page
    with tenant_context(billed["seeded"].clinic):
        assert OutboundMessage.objects.filter(related_id=str(link.pk)).count() == 2
    connection.set_schema_to_public()


def test_a_full_credit_note_cancels_the_open_link_at_razorpay(billed, rzp, django_capture_on_commit_callbacks):
    link = make_link(billed)
    owner = staff(billed["seeded"], "owner")
    with tenant_context(billed["seeded"].clinic):
        with django_capture_on_commit_callbacks() as callbacks:
            services.credit_note_issue(actor=owner, invoice=billed["invoice"], reason="Billed to the wrong patient")
        assert len(callbacks) == 1  # the close task is enqueued once the credit note commits
        assert payment_links.payment_links_close_for_invoice(invoice_id=str(billed["invoice"].pk)) == 1
        assert payment_links.payment_links_close_for_invoice(invoice_id=str(billed["invoice"].pk)) == 0  # twice: no-op
        link.refresh_from_db()
    connection.set_schema_to_public()
    assert link.status == PaymentLink.Status.CANCELLED
    assert rzp.state.links[link.razorpay_id]["status"] == "cancelled"


def test_a_partial_credit_note_leaves_the_link_open(billed, rzp, django_capture_on_commit_callbacks):
    make_link(billed)
    owner = staff(billed["seeded"], "owner")
    with tenant_context(billed["seeded"].clinic):
        line = billed["invoice"].lines.order_by("position").first()
        with django_capture_on_commit_callbacks() as callbacks:
            services.credit_note_issue(
                actor=owner, invoice=billed["invoice"], reason="Dressing not done", quantities={line.pk: line.quantity}
            )
    connection.set_schema_to_public()
    assert callbacks == []


def test_a_signed_event_lacking_a_field_its_handler_needs_fails_once_naming_the_field(billed, rzp, caplog):
    """Not retried for a day, not a 500, and no half-done work: the link is not marked paid without
    the payment it was paid with."""
    from docos.tasks import webhook_process_task

    link = make_link(billed)
    _, paid = rzp.pay(link.razorpay_id)
    del paid["payload"]["payment"]["entity"]["id"]
    assert post(billed["route"], paid, HOOK_A, event_id="EvtNoPaymentId01").status_code == 200
    stored = WebhookEvent.objects.get(vendor="razorpay")
    assert process_pending() == ["failed"]
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.FAILED and stored.note == "missing:payload.payment.entity.id"
    assert stored.attempts == 1
    assert "lacks a field" in caplog.text
    assert webhook_process_task.apply(args=[str(stored.pk)]).get() == "failed"  # a rerun changes nothing
    stored.refresh_from_db()
    assert stored.attempts == 1
    invoice, payments, link = state(billed)
    assert payments == [] and link.status == PaymentLink.Status.CREATED and invoice.status == Invoice.Status.ISSUED


def test_a_refund_event_without_its_payment_id_fails_naming_the_field(billed, rzp):
    refund = {"id": "rfnd_NoPayment00001", "entity": "refund", "amount": 75000, "currency": "INR", "notes": {}}
    body = {"entity": "event", "account_id": "acc_x", "event": "refund.processed", "contains": ["refund"],
            "payload": {"refund": {"entity": refund}}, "created_at": 1796000000}  # fmt: skip
    assert post(billed["route"], body, HOOK_A).status_code == 200
    assert process_pending() == ["failed"]
    assert WebhookEvent.objects.get(vendor="razorpay").note == "missing:payload.refund.entity.payment_id"
