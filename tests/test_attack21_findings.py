"""Defects found by attacking billing, DocOS subscriptions and the privacy workbench from outside
(another branch, a role without the capability, bad input, re-ordered webhooks): one test per
defect, each stating the behaviour expected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from billing import payment_links, razorpay, services
from billing.models import Invoice, Payment
from clinical.models import Visit
from privacy.export import export_build
from privacy.models import PatientExport, RightsRequest
from privacy.services import rights_request_create
from tests.appointments.helpers import make_patient
from tests.billing import test_razorpay_links as links
from tests.billing.billing_helpers import price_list, set_gstin, staff
from tests.privacy.helpers import owner, visit

pytestmark = pytest.mark.usefixtures("clock")

rzp, billed = links.rzp, links.billed  # the payment-link fixtures: clinic A connected, an issued invoice


# --- billing ---------------------------------------------------------------------------------------


def test_a_refund_of_a_link_payments_advance_part_is_not_recorded_twice(billed, rzp):
    """The desk took ₹500 cash after the link was made, the patient then paid the link's ₹750: ₹250
    went to the invoice and ₹500 became an advance. Refunding that advance asks Razorpay (a task);
    when `refund.processed` arrives before the task has saved Razorpay's refund id, the refund must
    be matched to the desk's refund row by its note, not recorded a second time as a dashboard
    refund of the invoice's payment (which re-opened the paid invoice and counted ₹500 twice)."""
    link = links.make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        services.payment_record(actor=billed["desk"], invoice=billed["invoice"], mode="cash", amount=Decimal("500"))
    connection.set_schema_to_public()
    captured, paid = rzp.pay(link.razorpay_id)
    for event in (captured, paid):
        links.post(billed["route"], event, links.HOOK_A)
    links.process_pending()
    pay_id = captured["payload"]["payment"]["entity"]["id"]
    with tenant_context(billed["seeded"].clinic):
        deposit = Payment.objects.get(razorpay_payment_id=pay_id, kind=Payment.Kind.DEPOSIT)
        assert deposit.amount == Decimal("500.00")
        accounts = staff(billed["seeded"], "owner")
        refund = services.refund_record(actor=accounts, payment=deposit, amount=None, reason="Procedure cancelled")
    connection.set_schema_to_public()
    # The task's call reached Razorpay, but its answer is not saved yet when the webhook comes.
    made = razorpay.refund_create(
        razorpay.Credentials(links.KEY_A, links.SECRET_A),
        payment_id=pay_id,
        amount=Decimal("500"),
        receipt=refund.receipt_number,
        notes={"docos_refund": str(refund.pk)},
    )
    links.post(billed["route"], rzp.process_refund(made["id"]), links.HOOK_A)
    assert set(links.process_pending()) == {"processed"}
    invoice, payments, _ = links.state(billed)
    refunds = [p for p in payments if p.kind == Payment.Kind.REFUND]
    assert [(r.pk, r.amount, r.vendor_status) for r in refunds] == [(refund.pk, Decimal("500.00"), "processed")]
    assert invoice.status == Invoice.Status.PAID


@pytest.fixture
def issued(clinic_a: Any) -> dict[str, Any]:
    set_gstin(clinic_a)
    with tenant_context(clinic_a.clinic):
        items = price_list(staff(clinic_a, "owner"))
        patient = make_patient(clinic_a, given_name="Kavitha", family_name="Raman")
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_create(actor=desk, patient=patient, location=clinic_a.locations[0])
        line = services.invoice_add_line(actor=desk, invoice=invoice, item=items["dolo"], quantity=Decimal("2"))
        invoice = services.invoice_issue(actor=desk, invoice=invoice)
    return {"invoice": invoice, "line": line}


@pytest.mark.parametrize("quantity", ["NaN", "sNaN", "Infinity", "0.0001", "1e-9"])
def test_a_credit_note_quantity_that_is_no_quantity_is_refused_with_a_sentence(clinic_a, client_for, issued, quantity):
    """The credit-note page read quantities with Decimal(): "NaN" passed and crashed the service
    (500), and "0.0001" (beyond the three decimals a quantity has) issued a numbered ₹0.00 credit
    note. Both must be refused (400) with nothing issued."""
    from billing.models import CreditNote

    invoice, line = issued["invoice"], issued["line"]
    response = client_for(clinic_a, "owner").post(
        f"/billing/invoices/{invoice.pk}/credit-note", {"reason": "Returned", f"qty-{line.pk}": quantity}
    )
    assert response.status_code == 400
    with tenant_context(clinic_a.clinic):
        assert not CreditNote.objects.filter(invoice=invoice).exists()


@pytest.mark.parametrize("report", ["day-book", "gst-summary"])
def test_a_report_with_a_malformed_location_falls_back_instead_of_crashing(clinic_a, client_for, report):
    """`?location=` took any text into a UUID lookup: a malformed value answered 500."""
    response = client_for(clinic_a, "owner").get(f"/billing/{report}/?location=not-a-uuid")
    assert response.status_code == 200


# --- privacy ---------------------------------------------------------------------------------------


def _east_manager(seeded: Any) -> User:
    manager = User.objects.create_user(
        "east-privacy@alpha.example.in", "correct-horse-battery-42", full_name="Sunita Iyer",
        role=owner(seeded).role,
    )  # fmt: skip
    manager.locations.set([seeded.locations[1]])
    return manager


@pytest.fixture
def shared_patient(clinic_a: Any) -> dict[str, Any]:
    """A patient registered and treated at Main branch, seen once at East branch too."""
    patient = make_patient(clinic_a, given_name="Farida", family_name="Sheikh")
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, timezone.now() - dt.timedelta(days=30))  # Main branch: "Fever for 3 days"
        Visit.objects.create(
            patient=patient, location=clinic_a.locations[1], clinician=clinic_a.users["doctor"],
            visit_at=timezone.now() - dt.timedelta(days=3), chief_complaint="Sprained ankle",
        )  # fmt: skip
        manager = _east_manager(clinic_a)
        request = rights_request_create(
            actor=manager, kind=RightsRequest.Kind.ACCESS, location=clinic_a.locations[1], patient=patient,
            requester_name="Farida Sheikh", verification=RightsRequest.Verification.IN_PERSON_ID,
        )  # fmt: skip
    return {"patient": patient, "manager": manager, "request": request}


def test_a_branch_restricted_privacy_manager_cannot_export_another_branchs_records(
    clinic_a, client_for, shared_patient
):
    """An access request's archive holds every record of the patient, made at every branch. A
    privacy manager restricted to East branch could build it and download Main branch's visits,
    which the branch rule hides from them everywhere else. Exports (start, progress, download) are
    for privacy managers who work at every branch, like the breach register."""
    client = client_for(clinic_a)
    client.login_as(shared_patient["manager"])
    request = shared_patient["request"]
    assert client.get(f"/settings/privacy/{request.pk}/").status_code == 200  # the request itself: theirs
    client.post(f"/settings/privacy/{request.pk}/export/")
    with tenant_context(clinic_a.clinic):
        assert not PatientExport.objects.filter(request=request).exists()
        export = PatientExport.objects.create(request=request, created_by=owner(clinic_a))
        assert export_build(export_id=str(export.pk)) == "ready"
    assert client.get(f"/settings/privacy/exports/{export.pk}/download/").status_code == 404
    assert client.get(f"/settings/privacy/exports/{export.pk}/progress/").status_code == 404
    assert client_for(clinic_a, "owner").get(f"/settings/privacy/exports/{export.pk}/download/").status_code == 200


def test_a_branch_restricted_privacy_manager_cannot_erase_another_branchs_records(clinic_a, client_for, shared_patient):
    """Answering an erasure request deletes (or restricts) the patient's records at every branch;
    a manager restricted to East branch could do it to Main branch's records they may not even read."""
    with tenant_context(clinic_a.clinic):
        request = rights_request_create(
            actor=shared_patient["manager"], kind=RightsRequest.Kind.ERASURE, location=clinic_a.locations[1],
            patient=shared_patient["patient"], requester_name="Farida Sheikh",
            verification=RightsRequest.Verification.IN_PERSON_ID,
        )  # fmt: skip
    client = client_for(clinic_a)
    client.login_as(shared_patient["manager"])
    client.post(f"/settings/privacy/{request.pk}/erase/")
    with tenant_context(clinic_a.clinic):
        request.refresh_from_db()
        patient = type(shared_patient["patient"]).objects.get(pk=shared_patient["patient"].pk)
        assert request.is_open and request.outcome == ""
        assert patient.restricted_at is None
        assert Visit.objects.filter(patient=patient).count() == 2


def test_a_refund_forged_with_a_replaced_leaked_webhook_secret_is_not_recorded(billed, rzp):
    """The replaced (maybe leaked) webhook secret still verifies for 24 hours. A forged payment is
    checked with Razorpay since attack 18, but a forged `refund.processed` for the patient's real
    payment was recorded as a dashboard refund: the paid invoice re-opened and the day book showed
    money given back that never left. A real refund, signed with the new secret, still lands."""
    from billing import fake_razorpay

    link = links.make_link(billed)
    captured, paid = rzp.pay(link.razorpay_id)
    for event in (captured, paid):
        links.post(billed["route"], event, links.HOOK_A)
    links.process_pending()
    pay_id = captured["payload"]["payment"]["entity"]["id"]
    with tenant_context(billed["seeded"].clinic):
        payment_links.razorpay_settings_update(
            actor=None, key_id=links.KEY_A, key_secret=None, webhook_secret="alpha-new-secret", is_enabled=True
        )
    connection.set_schema_to_public()
    forged = {
        "id": "rfnd_Forged00000001", "entity": "refund", "amount": 75000, "currency": "INR",
        "payment_id": pay_id, "notes": {}, "status": "processed", "created_at": 1764900000,
    }  # fmt: skip
    event = fake_razorpay.event("refund.processed", refund=forged)
    assert links.post(billed["route"], event, links.HOOK_A).status_code == 200  # the leaked, replaced secret
    links.process_pending()
    invoice, payments, _ = links.state(billed)
    assert [p.kind for p in payments] == [Payment.Kind.PAYMENT] and invoice.status == Invoice.Status.PAID
    real = razorpay.refund_create(
        razorpay.Credentials(links.KEY_A, links.SECRET_A), payment_id=pay_id, amount=Decimal("750"), receipt="",
        notes={},
    )  # fmt: skip
    assert links.post(billed["route"], rzp.process_refund(real["id"]), "alpha-new-secret").status_code == 200
    links.process_pending()
    invoice, payments, _ = links.state(billed)
    assert sorted(p.kind for p in payments) == [Payment.Kind.PAYMENT, Payment.Kind.REFUND]
    assert invoice.status == Invoice.Status.ISSUED and invoice.paid == 0


# --- the public /verify page --------------------------------------------------------------------------


def test_verify_lookups_from_one_ipv6_network_share_one_budget(clinic_a, monkeypatch, settings):
    """The guessing limit was per exact address: an IPv6 client owns at least a /64 (2^64
    addresses) and could take a fresh address per guess, so the limit did not slow guessing at all.
    Lookups from one /64 share one budget; another network keeps its own."""
    from django.core.cache import cache
    from django.test import Client

    from clinics import verification

    cache.clear()
    monkeypatch.setattr(verification, "VIEW_LIMIT", 3)
    host = settings.DOCOS_BASE_DOMAIN
    for n in range(1, 4):
        guess = Client(HTTP_HOST=host, REMOTE_ADDR=f"2001:db8:4:7::{n:x}").get("/verify/MC-22222222")
        assert guess.status_code == 404
    assert Client(HTTP_HOST=host, REMOTE_ADDR="2001:db8:4:7:a:b:c:d").get("/verify/MC-22222222").status_code == 429
    assert Client(HTTP_HOST=host, REMOTE_ADDR="2001:db8:4:8::1").get("/verify/MC-22222222").status_code == 404
    cache.clear()


# --- raw webhook events (public schema) -----------------------------------------------------------


def test_raw_webhook_events_are_purged_once_the_vendors_retry_windows_are_past(db, settings):
    """Every raw webhook body (WhatsApp message texts and phone numbers, Razorpay's customer name,
    contact and e-mail) was kept forever in the public schema: neither the 90-day WhatsApp text
    rule nor a patient's erasure ever reached it. Handled events older than
    WEBHOOK_EVENT_RETENTION_DAYS are deleted by a nightly beat task; an event still waiting to be
    processed is kept."""
    from django_tenants.utils import get_public_schema_name, schema_context

    from docos import webhooks
    from docos.models import WebhookEvent

    days = settings.WEBHOOK_EVENT_RETENTION_DAYS
    assert 8 <= days <= 30  # longer than Meta's and Razorpay's retries, well inside the 90-day text rule
    old = timezone.now() - dt.timedelta(days=days, hours=1)
    with schema_context(get_public_schema_name()):

        def stored(event_id: str, status: str, at: dt.datetime) -> WebhookEvent:
            return WebhookEvent.objects.create(
                vendor="whatsapp", event_id=event_id, body='{"text": "Meena: fever since Monday"}', status=status,
                received_at=at,
            )  # fmt: skip

        gone = [stored("a21-old-processed", "processed", old), stored("a21-old-failed", "failed", old)]
        kept = [stored("a21-old-waiting", "received", old), stored("a21-recent", "processed", timezone.now())]
        assert webhooks.webhook_purge() == 2
        assert not WebhookEvent.objects.filter(pk__in=[e.pk for e in gone]).exists()
        assert WebhookEvent.objects.filter(pk__in=[e.pk for e in kept]).count() == 2
    assert any(entry["task"] == "docos.webhook_purge" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_a_branch_restricted_privacy_manager_cannot_release_a_legal_hold(clinic_a, client_for, shared_patient):
    """A legal hold keeps every branch's records of the patient from retention purges and erasure.
    A privacy manager restricted to East branch could release the hold set by the clinic (through any
    request about the patient, even a closed one), exposing Main branch's records to the purge."""
    from patients.services import patient_set_legal_hold

    patient, request = shared_patient["patient"], shared_patient["request"]
    with tenant_context(clinic_a.clinic):
        patient_set_legal_hold(patient=patient, actor=owner(clinic_a), hold=True, reason="Consumer court notice 42")
    client = client_for(clinic_a)
    client.login_as(shared_patient["manager"])
    client.post(f"/settings/privacy/{request.pk}/legal-hold/", {"hold": "", "reason": ""})
    with tenant_context(clinic_a.clinic):
        patient.refresh_from_db()
        assert patient.legal_hold_at is not None and patient.legal_hold_reason == "Consumer court notice 42"
    owner_client = client_for(clinic_a, "owner")
    owner_client.post(f"/settings/privacy/{request.pk}/legal-hold/", {"hold": "", "reason": ""})
    with tenant_context(clinic_a.clinic):
        patient.refresh_from_db()
        assert patient.legal_hold_at is None  # the clinic-wide manager still releases it


def test_a_branch_name_with_quotes_or_tamil_letters_gives_a_well_formed_download_name(clinic_a, client_for):
    """The day book's CSV file name carries the branch name inside a hand-made quoted header: a
    quote in the name cut the file name short (or let it add header parameters) and a Tamil
    name was MIME-encoded into gibberish. The header follows RFC 6266 (filename*=utf-8'')."""
    from django.utils.http import content_disposition_header

    from accounts.models import Location

    with tenant_context(clinic_a.clinic):
        Location.objects.filter(pk=clinic_a.locations[0].pk).update(name='அண்ணா நகர் "West"; x=1')
    response = client_for(clinic_a, "owner").get(
        f"/billing/day-book/?location={clinic_a.locations[0].pk}&date=2026-12-09&format=csv"
    )
    assert response.status_code == 200
    expected = content_disposition_header(True, 'day-book-அண்ணா நகர் "West"; x=1-2026-12-09.csv')
    assert response["Content-Disposition"] == expected and "=?utf-8?" not in expected


@pytest.mark.parametrize("forged_event", ["payment_link.paid", "payment_link.cancelled", "payment.captured"])
def test_a_link_status_forged_with_a_replaced_leaked_webhook_secret_is_not_believed(billed, rzp, forged_event):
    """While the replaced (maybe leaked) webhook secret still verifies, a forged `payment_link.paid`
    showed the unpaid link as paid (no payment recorded, the link no longer sendable) and a forged
    `payment_link.cancelled` closed a link the patient can still pay at Razorpay, and a forged
    `payment.captured` (its payment refused since attack 18) still moved the link to paid. The link's
    status is taken from Razorpay then, not from the event."""
    from billing import fake_razorpay
    from billing.models import PaymentLink

    link = links.make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        payment_links.razorpay_settings_update(
            actor=None, key_id=links.KEY_A, key_secret=None, webhook_secret="alpha-new-secret", is_enabled=True
        )
    connection.set_schema_to_public()
    status = "paid" if forged_event.endswith("paid") else "cancelled"
    entity = {
        "id": link.razorpay_id, "entity": "payment_link", "amount": 75000, "amount_paid": 75000 if status == "paid"
        else 0, "currency": "INR", "status": status, "notes": {"docos_link": str(link.pk)},
    }  # fmt: skip
    forged_payment = {
        "id": "pay_Forged000000002", "entity": "payment", "amount": 75000, "currency": "INR",
        "status": "captured", "notes": {"docos_link": str(link.pk)}, "created_at": 1764900000,
    }  # fmt: skip
    payload = {"payment_link": entity, "payment": forged_payment} if status == "paid" else {"payment_link": entity}
    if forged_event == "payment.captured":  # its payment names our link: recorded nothing, but "paid" the link
        payload = {"payment": forged_payment}
    event = fake_razorpay.event(forged_event, **payload)
    assert links.post(billed["route"], event, links.HOOK_A).status_code == 200  # the leaked, replaced secret
    links.process_pending()
    invoice, payments, link = links.state(billed)
    assert payments == [] and invoice.status == Invoice.Status.ISSUED
    assert link.status == PaymentLink.Status.CREATED


def test_a_restricted_patients_open_payment_links_are_cancelled_and_no_new_one_is_made(
    billed, rzp, django_capture_on_commit_callbacks
):
    """A restriction (an erasure the retention law does not allow yet) stops further use of the
    patient's data; imaging revokes their share links. Billing registered no restriction handler: the
    patient's live Razorpay link stayed payable, and a new one could be made, sending their name,
    phone and e-mail to Razorpay again. The restriction cancels open links (a task, after commit)
    and refuses new ones."""
    from django.core.exceptions import ValidationError

    from billing.models import PaymentLink
    from patients.services import patient_restrict

    link = links.make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        with django_capture_on_commit_callbacks() as callbacks:
            patient_restrict(patient=billed["patient"], actor=None, reason="Retention law: billing records kept")
        assert len(callbacks) == 1  # the close task, enqueued once the restriction commits
        assert payment_links.payment_links_close_for_invoice(invoice_id=str(billed["invoice"].pk)) == 1
        link.refresh_from_db()
        assert link.status == PaymentLink.Status.CANCELLED
        billed["invoice"].patient.refresh_from_db()
        with pytest.raises(ValidationError, match="restricted"):
            payment_links.invoice_payment_link_create(actor=billed["desk"], invoice=billed["invoice"])
    connection.set_schema_to_public()
    assert rzp.state.links[link.razorpay_id]["status"] == "cancelled"


@pytest.mark.parametrize("query", ["date=9999-12-31", "date=0001-01-01", "month=9999-12", "month=0001-01"])
def test_a_report_date_at_the_edge_of_the_calendar_is_answered_not_crashed(clinic_a, client_for, query):
    """The reports took any ISO date: the day book's day end (9999-12-31 + 1 day) and the GST
    summary's next month (after December 9999) overflowed Python's dates and answered 500. Dates
    outside the years a clinic can have records (2000-2200) fall back to today."""
    report = "day-book" if query.startswith("date") else "gst-summary"
    response = client_for(clinic_a, "owner").get(f"/billing/{report}/?{query}")
    assert response.status_code == 200


def test_a_dashboard_refund_of_a_whole_link_payment_also_refunds_its_advance_part(billed, rzp):
    """₹500 cash was taken after the link was made; the patient then paid the link's ₹750 (₹250 to
    the invoice, ₹500 kept as an advance). The clinic refunded all ₹750 from Razorpay's dashboard:
    only the invoice's ₹250 was recorded, so the patient kept a ₹500 "advance" the clinic had already
    given back. The refund is recorded against both rows of the payment."""
    link = links.make_link(billed)
    with tenant_context(billed["seeded"].clinic):
        services.payment_record(actor=billed["desk"], invoice=billed["invoice"], mode="cash", amount=Decimal("500"))
    connection.set_schema_to_public()
    captured, paid = rzp.pay(link.razorpay_id)
    for event in (captured, paid):
        links.post(billed["route"], event, links.HOOK_A)
    links.process_pending()
    pay_id = captured["payload"]["payment"]["entity"]["id"]
    made = razorpay.refund_create(
        razorpay.Credentials(links.KEY_A, links.SECRET_A), payment_id=pay_id, amount=Decimal("750"), receipt="",
        notes={},
    )  # fmt: skip
    links.post(billed["route"], rzp.process_refund(made["id"]), links.HOOK_A)
    links.process_pending()
    with tenant_context(billed["seeded"].clinic):
        refunds = Payment.objects.filter(razorpay_payment_id=pay_id, kind=Payment.Kind.REFUND)
        assert sorted(r.amount for r in refunds) == [Decimal("250.00"), Decimal("500.00")]
        assert services.advance_balance(billed["patient"]) == 0
        invoice = Invoice.objects.get(pk=billed["invoice"].pk)
        assert invoice.paid == Decimal("500.00")  # the cash stays


@pytest.mark.parametrize("outcome", ["erased", "restricted"])
def test_a_request_cannot_be_closed_as_erased_or_restricted_by_hand(clinic_a, client_for, outcome):
    """Closing a request offered every outcome: an erasure request could be closed as "Erased" (or
    "Restricted") with nothing erased or restricted, so the register (and what the patient is told)
    claimed a deletion that never happened. Only answering the erasure request sets those outcomes."""
    from privacy.services import rights_request_close

    patient = make_patient(clinic_a, given_name="Zoya", family_name="Khan")
    with tenant_context(clinic_a.clinic):
        request = rights_request_create(
            actor=owner(clinic_a), kind=RightsRequest.Kind.ERASURE, location=clinic_a.locations[0], patient=patient,
            requester_name="Zoya Khan", verification=RightsRequest.Verification.IN_PERSON_ID,
        )  # fmt: skip
    client_for(clinic_a, "owner").post(f"/settings/privacy/{request.pk}/close/", {"outcome": outcome, "note": "Done"})
    with tenant_context(clinic_a.clinic):
        request.refresh_from_db()
        assert request.is_open and request.outcome == ""
        with pytest.raises(ValidationError):
            rights_request_close(request=request, actor=owner(clinic_a), outcome=outcome, note="Done")
        patient.refresh_from_db()
        assert patient.restricted_at is None
