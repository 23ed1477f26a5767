"""DocOS subscriptions end to end against the fake Razorpay (platform account) through the real SDK:
subscribe (plan, customer, subscription with hosted checkout), signed platform webhooks moving the
state machine forward only, replays, dunning (emails, grace, read-only, suspended) and recovery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from billing import fake_razorpay_subscriptions as rzp_subs
from clinics import subscriptions
from clinics.gateway import PLATFORM_VENDOR
from clinics.models import PlatformPayment, Subscription, VendorRoute
from docos.models import WebhookEvent
from docos.webhooks import VendorError
from tests.clinics.subscription_helpers import deliver, deliver_all, make_plan, process_pending

pytestmark = pytest.mark.usefixtures("clock")


def subscribe(seeded: Any, *, trial_days: int = 0, seats: int = 3) -> Subscription:
    plan = make_plan(trial_days=trial_days)
    sub = subscriptions.subscription_start(clinic=seeded.clinic, plan=plan, seats=seats, actor=seeded.users["owner"])
    connection.set_schema_to_public()
    return sub


def fresh(sub: Subscription) -> Subscription:
    connection.set_schema_to_public()
    return Subscription.objects.get(pk=sub.pk)


def test_subscribing_makes_plan_customer_and_subscription_with_a_checkout_link(clinic_a, platform):
    sub = subscribe(clinic_a, trial_days=14)
    assert sub.status == Subscription.Status.CREATED and sub.access == Subscription.Access.ACTIVE
    assert sub.short_url.startswith(platform.base_url) and sub.razorpay_subscription_id.startswith("sub_")
    posts = {r.path: r for r in platform.requests if r.method == "POST"}
    assert posts["/v1/plans"].body["period"] == "monthly" and posts["/v1/plans"].body["item"]["amount"] == 149900
    assert posts["/v1/customers"].body["email"] == clinic_a.clinic.contact_email
    created = posts["/v1/subscriptions"].body
    assert created["quantity"] == 3 and created["customer_id"] == sub.razorpay_customer_id
    assert created["start_at"] == int(sub.trial_ends_at.timestamp())  # the trial: first charge after 14 days
    routes = set(VendorRoute.objects.filter(vendor=PLATFORM_VENDOR).values_list("account_id", flat=True))
    assert routes == {sub.razorpay_subscription_id, sub.razorpay_customer_id}


def test_a_second_live_subscription_is_refused(clinic_a, platform):
    subscribe(clinic_a)
    with pytest.raises(ValidationError, match="already has a subscription"):
        subscriptions.subscription_start(
            clinic=clinic_a.clinic, plan=make_plan(code="other"), seats=1, actor=clinic_a.users["owner"]
        )


def test_checkout_and_first_charge_through_signed_webhooks_make_it_active(clinic_a, platform):
    sub = subscribe(clinic_a)
    deliver_all(rzp_subs.authenticate(platform, sub.razorpay_subscription_id))
    sub = fresh(sub)
    assert sub.status == Subscription.Status.ACTIVE and sub.paid_count == 1
    assert sub.current_end is not None and sub.charge_at == sub.current_end
    assert PlatformPayment.objects.filter(subscription=sub, status="captured").count() == 1


def test_late_events_never_move_the_subscription_backwards(clinic_a, platform, clock):
    sub = subscribe(clinic_a)
    sid = sub.razorpay_subscription_id
    first = rzp_subs.authenticate(platform, sid)  # authenticated, activated, charged (#1), invoice.paid
    clock.shift(dt.timedelta(days=30))
    failing = rzp_subs.fail_charge(platform, sid)  # payment.failed, pending
    clock.shift(dt.timedelta(days=1))
    recovered = rzp_subs.charge(platform, sid)  # charged (#2), invoice.paid
    deliver_all(recovered)  # the newest arrives first
    deliver_all(failing + first)  # then everything older, in any order
    sub = fresh(sub)
    assert sub.status == Subscription.Status.ACTIVE and sub.paid_count == 2
    assert sub.access == Subscription.Access.ACTIVE and sub.dunning_started_at is None


def test_a_final_state_is_never_left(clinic_a, platform, clock):
    sub = subscribe(clinic_a)
    sid = sub.razorpay_subscription_id
    early = rzp_subs.authenticate(platform, sid)
    clock.shift(dt.timedelta(hours=1))
    subscriptions.subscription_cancel(subscription=fresh(sub), actor=clinic_a.users["owner"], at_cycle_end=False)
    connection.set_schema_to_public()
    deliver_all(early)
    assert fresh(sub).status == Subscription.Status.CANCELLED


def test_a_replayed_event_is_stored_and_applied_once(clinic_a, platform):
    sub = subscribe(clinic_a)
    events = rzp_subs.authenticate(platform, sub.razorpay_subscription_id)
    for _ in range(5):
        assert deliver(events[0], event_id="evt_Replayed000001") == 200
    process_pending()
    assert WebhookEvent.objects.filter(vendor=PLATFORM_VENDOR, event_id="evt_Replayed000001").count() == 1


def test_a_body_not_signed_with_the_platform_secret_is_refused(clinic_a, platform):
    sub = subscribe(clinic_a)
    events = rzp_subs.authenticate(platform, sub.razorpay_subscription_id)
    assert deliver(events[0], secret="a-clinic-webhook-secret") == 403
    assert deliver(events[0], signature="") == 403
    assert not WebhookEvent.objects.filter(vendor=PLATFORM_VENDOR).exists()


def test_a_failed_payment_emails_the_owner_once_and_starts_the_grace_period(
    clinic_a, platform, django_capture_on_commit_callbacks, settings, clock
):
    sub = subscribe(clinic_a)
    sid = sub.razorpay_subscription_id
    deliver_all(rzp_subs.authenticate(platform, sid))
    mail.outbox.clear()
    clock.shift(dt.timedelta(days=30))
    events = rzp_subs.fail_charge(platform, sid)
    for item in events:
        for _ in range(3):  # Razorpay retries
            deliver(item, event_id=f"evt_{item['event'].replace('.', '_')}")
    with django_capture_on_commit_callbacks(execute=True):
        process_pending()
    sub = fresh(sub)
    assert sub.status == Subscription.Status.PENDING and sub.access == Subscription.Access.GRACE
    assert sub.grace_until == sub.dunning_started_at + dt.timedelta(days=settings.SUBSCRIPTION_GRACE_DAYS)
    to_owner = [m for m in mail.outbox if clinic_a.users["owner"].email in m.to]
    assert len(to_owner) == 1 and "did not go through" in to_owner[0].body
    failed = PlatformPayment.objects.get(subscription=sub, status="failed")
    assert failed.owner_notified_at is not None and "insufficient" in failed.error_description


def test_grace_then_read_only_then_suspended_by_the_clock_and_paying_restores_at_once(clinic_a, platform, clock):
    sub = subscribe(clinic_a)
    sid = sub.razorpay_subscription_id
    deliver_all(rzp_subs.authenticate(platform, sid))
    clock.shift(dt.timedelta(days=30))
    deliver_all(rzp_subs.fail_charge(platform, sid))
    assert subscriptions.subscription_dunning_tick() == 0
    assert fresh(sub).access == Subscription.Access.GRACE
    clock.shift(dt.timedelta(days=7, minutes=1))
    deliver_all(rzp_subs.fail_charge(platform, sid, halt=True))
    assert subscriptions.subscription_dunning_tick() == 1
    assert fresh(sub).access == Subscription.Access.READ_ONLY and fresh(sub).status == Subscription.Status.HALTED
    clock.shift(dt.timedelta(days=14))
    assert subscriptions.subscription_dunning_tick() == 1
    assert fresh(sub).access == Subscription.Access.SUSPENDED
    deliver_all(rzp_subs.charge(platform, sid))
    sub = fresh(sub)
    assert sub.status == Subscription.Status.ACTIVE and sub.access == Subscription.Access.ACTIVE
    assert sub.dunning_started_at is None and subscriptions.access_at(sub, sub.updated_at) == "active"


def test_changing_seats_asks_razorpay_to_prorate_now(clinic_a, platform):
    sub = subscribe(clinic_a)
    deliver_all(rzp_subs.authenticate(platform, sub.razorpay_subscription_id))
    sub = subscriptions.subscription_change_seats(subscription=fresh(sub), seats=5, actor=clinic_a.users["owner"])
    patch = [r for r in platform.requests if r.method == "PATCH"]
    assert patch[-1].body == {"quantity": 5, "schedule_change_at": "now"}
    assert fresh(sub).seats == 5


def test_seats_cannot_change_before_checkout(clinic_a, platform):
    sub = subscribe(clinic_a)
    with pytest.raises(ValidationError, match="once the subscription is active"):
        subscriptions.subscription_change_seats(subscription=sub, seats=5, actor=clinic_a.users["owner"])


def test_razorpay_refusing_a_plan_is_a_permanent_vendor_error(clinic_a, platform):
    plan = make_plan()
    plan.unit_price = Decimal("0.50")  # below Razorpay's minimum (the model's validator is bypassed here)
    with pytest.raises(VendorError) as raised:
        subscriptions.plan_ensure_at_razorpay(plan)
    assert raised.value.permanent and "atleast INR 1.00" in raised.value.message


def test_an_event_for_an_unknown_subscription_is_acknowledged_and_changes_nothing(clinic_a, platform):
    sub = subscribe(clinic_a)
    events = rzp_subs.authenticate(platform, sub.razorpay_subscription_id)
    events[0]["payload"]["subscription"]["entity"]["id"] = "sub_NotOurs00000001"
    assert deliver(events[0]) == 200
    assert process_pending() == ["processed"]
    assert fresh(sub).status == Subscription.Status.CREATED


def test_a_failure_older_than_the_last_successful_charge_starts_no_dunning(
    clinic_a, platform, django_capture_on_commit_callbacks, clock
):
    sub = subscribe(clinic_a)
    sid = sub.razorpay_subscription_id
    deliver_all(rzp_subs.authenticate(platform, sid))
    clock.shift(dt.timedelta(days=30))
    failed = rzp_subs.fail_charge(platform, sid)
    clock.shift(dt.timedelta(hours=6))
    deliver_all(rzp_subs.charge(platform, sid))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all(failed)  # Razorpay's retry of the old failure arrives after the payment
    sub = fresh(sub)
    assert sub.access == Subscription.Access.ACTIVE and sub.dunning_started_at is None
    assert mail.outbox == []


def test_the_fakes_hosted_checkout_authorises_the_mandate(clinic_a, platform):
    import urllib.request

    sub = subscribe(clinic_a)
    with urllib.request.urlopen(sub.short_url, timeout=5) as page:
        assert "Authorise UPI Autopay" in page.read().decode()
    request = urllib.request.Request(sub.short_url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    assert platform.state.subscriptions[sub.razorpay_subscription_id]["status"] == "active"


def test_the_system_check_refuses_half_configured_platform_credentials(settings):
    from clinics.checks import check_subscription_settings

    assert check_subscription_settings() == []
    settings.RAZORPAY_PLATFORM_WEBHOOK_SECRET = ""
    assert [e.id for e in check_subscription_settings()] == ["clinics.E001"]
    settings.RAZORPAY_PLATFORM_KEY_ID = settings.RAZORPAY_PLATFORM_KEY_SECRET = ""
    settings.SUBSCRIPTION_GRACE_DAYS = 0
    assert [e.id for e in check_subscription_settings()] == ["clinics.E002"]


def test_a_new_subscription_after_a_cancelled_one_gets_no_trial_and_keeps_the_clinic_read_only_until_paid(
    clinic_a, platform, clock
):
    sub = subscribe(clinic_a, trial_days=14)
    sid = sub.razorpay_subscription_id
    deliver_all(rzp_subs.authenticate(platform, sid))
    clock.shift(dt.timedelta(days=14, minutes=1))
    deliver_all(rzp_subs.charge(platform, sid))
    subscriptions.subscription_cancel(subscription=fresh(sub), actor=clinic_a.users["owner"], at_cycle_end=False)
    clock.shift(dt.timedelta(days=8))
    subscriptions.subscription_dunning_tick()
    assert fresh(sub).access == Subscription.Access.READ_ONLY
    again = subscriptions.subscription_start(
        clinic=clinic_a.clinic, plan=fresh(sub).plan, seats=2, actor=clinic_a.users["owner"]
    )
    connection.set_schema_to_public()
    assert again.pk == sub.pk and again.trial_ends_at is None and again.razorpay_subscription_id != sid
    assert fresh(sub).access == Subscription.Access.READ_ONLY  # not restored by subscribing alone
    assert "start_at" not in [r for r in platform.requests if r.path == "/v1/subscriptions"][-1].body
    events = rzp_subs.authenticate(platform, again.razorpay_subscription_id)  # charged at once
    deliver_all(events[:1])
    assert fresh(sub).access == Subscription.Access.READ_ONLY  # authenticated is not paid
    deliver_all(events[1:])
    assert fresh(sub).access == Subscription.Access.ACTIVE and fresh(sub).status == Subscription.Status.ACTIVE


def test_the_platform_operators_list_shows_states_access_and_failed_payments(clinic_a, clinic_b, platform, clock):
    from io import StringIO

    from django.core.management import call_command

    sub = subscribe(clinic_a)
    deliver_all(rzp_subs.authenticate(platform, sub.razorpay_subscription_id))
    clock.shift(dt.timedelta(days=30))
    deliver_all(rzp_subs.fail_charge(platform, sub.razorpay_subscription_id))
    out = StringIO()
    call_command("platform_subscriptions", stdout=out)
    text = out.getvalue()
    line_a = next(line for line in text.splitlines() if clinic_a.clinic.slug in line and "seats" in line)
    assert "pending" in line_a and "grace" in line_a and "seats 3" in line_a
    line_b = next(line for line in text.splitlines() if clinic_b.clinic.slug in line and "seats" in line)
    assert "none" in line_b
    assert "insufficient balance" in text and "clinic-monthly" in text


def test_done_when_trial_active_halted_read_only_and_active_again_against_the_fake(
    clinic_a, platform, client_for, clock
):
    """Issue 10's "done when", end to end through the fake Razorpay and signed platform webhooks: a
    trial, its first charge (active), renewals failing until Razorpay halts it, DocOS read-only after
    the grace period (a write refused, reading still allowed), and a charge that restores it at once."""
    from tests.patients.test_registry_views import form_data

    desk = client_for(clinic_a, "front_desk")

    def access() -> str:
        return subscriptions.access_at(fresh(sub), dt.datetime.now(dt.UTC))

    # Trial: subscribed on a 14-day trial plan; the checkout authorises the mandate, nothing is charged.
    sub = subscribe(clinic_a, trial_days=14, seats=2)
    sid = sub.razorpay_subscription_id
    deliver_all(rzp_subs.authenticate(platform, sid))
    sub = fresh(sub)
    assert sub.status == Subscription.Status.AUTHENTICATED and sub.paid_count == 0 and access() == "active"
    assert subscriptions.trial_days_left(sub, dt.datetime.now(dt.UTC)) == 14
    assert sub.charge_at is not None and abs((sub.charge_at - sub.trial_ends_at).total_seconds()) < 1  # epoch seconds
    assert not PlatformPayment.objects.filter(subscription=sub).exists()

    # Active: at the trial's end Razorpay makes the first charge.
    clock.shift(dt.timedelta(days=14, minutes=5))
    deliver_all(rzp_subs.charge(platform, sid))
    sub = fresh(sub)
    assert sub.status == Subscription.Status.ACTIVE and sub.paid_count == 1 and access() == "active"
    assert subscriptions.trial_days_left(sub, dt.datetime.now(dt.UTC)) is None

    # Halted: the renewal fails (pending, grace), Razorpay's retries fail too, then it halts the subscription.
    clock.shift(dt.timedelta(days=30))
    deliver_all(rzp_subs.fail_charge(platform, sid))
    assert fresh(sub).status == Subscription.Status.PENDING and access() == "grace"
    assert desk.post("/patients/new", form_data(clinic_a, given_name="Lakshmi")).status_code == 302  # grace: usable
    clock.shift(dt.timedelta(days=3))
    deliver_all(rzp_subs.fail_charge(platform, sid, halt=True))
    assert fresh(sub).status == Subscription.Status.HALTED and access() == "grace"

    # Read-only: the grace period (7 days from the first failure) runs out.
    clock.shift(dt.timedelta(days=4, minutes=5))
    assert subscriptions.subscription_dunning_tick() == 1
    sub = fresh(sub)
    assert sub.status == Subscription.Status.HALTED and sub.access == Subscription.Access.READ_ONLY
    desk = client_for(clinic_a, "front_desk")  # a new session: the clock moved past the idle timeout
    refused = desk.post("/patients/new", form_data(clinic_a, given_name="Fatima"))
    assert refused.status_code == 403 and "read-only" in refused.content.decode()
    assert desk.get("/patients/").status_code == 200  # staff still view

    # Active again: the owner pays (Razorpay charges the halted subscription); access returns at once.
    deliver_all(rzp_subs.charge(platform, sid))
    sub = fresh(sub)
    assert sub.status == Subscription.Status.ACTIVE and sub.paid_count == 2
    assert sub.access == Subscription.Access.ACTIVE and sub.dunning_started_at is None and access() == "active"
    assert desk.post("/patients/new", form_data(clinic_a, given_name="Fatima")).status_code == 302
    captured = PlatformPayment.objects.filter(subscription=sub, status="captured").count()
    failed = PlatformPayment.objects.filter(subscription=sub, status="failed").count()
    assert (captured, failed) == (2, 2)


def test_a_platform_event_lacking_a_needed_field_fails_once_naming_it(clinic_a, platform):
    sub = subscribe(clinic_a)
    events = rzp_subs.authenticate(platform, sub.razorpay_subscription_id)
    del events[0]["payload"]["subscription"]["entity"]["status"]
    assert deliver(events[0], event_id="evt_NoStatus000001") == 200
    assert process_pending() == ["failed"]
    stored = WebhookEvent.objects.get(vendor=PLATFORM_VENDOR)
    assert stored.note == "missing:payload.subscription.entity.status" and stored.attempts == 1
    assert fresh(sub).status == Subscription.Status.CREATED
    assert process_pending() == []  # failed events are not picked up again
