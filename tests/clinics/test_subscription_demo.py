"""The demo clinic's DocOS subscription: three plans, a monthly subscription on its 14-day trial
(authenticated, first charge at the trial's end) matching the fake Razorpay's demo data, so the
console's seat change works against the fake as in `make run`; and the demo's platform operator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from billing import fake_razorpay_subscriptions as fake_subs
from clinics import demo_subscription
from clinics.demo import DEMO_PLATFORM_STAFF, DEMO_PLATFORM_TOTP
from clinics.models import Plan, PlatformPayment, Subscription
from tests.clinics.subscription_helpers import deliver_all


@pytest.fixture
def demo_platform(fake_razorpay: Any, settings: Any, clock: Any) -> Any:  # the fake reads the pinned clock too
    fake_razorpay.reset()
    fake_subs.load_demo(fake_razorpay)
    settings.RAZORPAY_BASE_URL = fake_razorpay.base_url
    settings.RAZORPAY_PLATFORM_KEY_ID = fake_subs.DEMO_PLATFORM_KEY_ID
    settings.RAZORPAY_PLATFORM_KEY_SECRET = fake_subs.DEMO_PLATFORM_KEY_SECRET
    settings.RAZORPAY_PLATFORM_WEBHOOK_SECRET = fake_subs.DEMO_PLATFORM_WEBHOOK_SECRET
    return fake_razorpay


def test_the_demo_ids_match_the_fake(clinic_a):
    assert demo_subscription.DEMO_SUBSCRIPTION_ID == fake_subs.DEMO_SUBSCRIPTION_ID
    assert demo_subscription.DEMO_CUSTOMER_ID == fake_subs.DEMO_CUSTOMER_ID
    assert demo_subscription.DEMO_PLAN_ID == fake_subs.DEMO_PLAN_ID
    assert demo_subscription.DEMO_SEATS == fake_subs.DEMO_SEATS


def test_demo_clinic_is_on_a_trial_whose_seats_change_against_the_fake(clinic_a, demo_platform, client_for, clock):
    sub = demo_subscription.seed(clinic_a.clinic)
    assert Plan.objects.count() == len(demo_subscription.PLANS)
    assert sub.status == Subscription.Status.AUTHENTICATED and sub.seats == 3 and sub.paid_count == 0
    assert sub.access == Subscription.Access.ACTIVE and sub.charge_at == sub.trial_ends_at
    assert not PlatformPayment.objects.filter(subscription=sub).exists()  # nothing charged during a trial
    fake = demo_platform.state.subscriptions[fake_subs.DEMO_SUBSCRIPTION_ID]
    assert fake["status"] == "authenticated" and fake["paid_count"] == 0
    assert abs(fake["charge_at"] - int(sub.trial_ends_at.timestamp())) <= 5  # both: 10 days from now
    owner = client_for(clinic_a, "owner")
    page = owner.get("/settings/subscription/").content.decode()
    assert "Clinic monthly" in page and "Trial: 10 days left" in page and "No payments yet" in page
    assert owner.post("/settings/subscription/seats/", {"seats": 4}).status_code == 302
    connection.set_schema_to_public()
    assert Subscription.objects.get(pk=sub.pk).seats == 4
    assert fake["quantity"] == 4
    assert owner.post("/settings/subscription/refresh/").status_code == 302
    connection.set_schema_to_public()
    refreshed = Subscription.objects.get(pk=sub.pk)
    assert refreshed.status == Subscription.Status.AUTHENTICATED and refreshed.trial_ends_at == sub.trial_ends_at


def test_the_trial_counts_down_and_ends_with_the_first_charge(clinic_a, demo_platform, client_for, clock):
    sub = demo_subscription.seed(clinic_a.clinic)
    clock.shift(dt.timedelta(days=9, hours=1))
    assert "Trial: 1 day left" in client_for(clinic_a, "owner").get("/settings/subscription/").content.decode()
    clock.shift(dt.timedelta(days=1))
    deliver_all(
        fake_subs.charge(demo_platform, fake_subs.DEMO_SUBSCRIPTION_ID), secret=fake_subs.DEMO_PLATFORM_WEBHOOK_SECRET
    )
    connection.set_schema_to_public()
    sub = Subscription.objects.get(pk=sub.pk)
    assert sub.status == Subscription.Status.ACTIVE and sub.paid_count == 1
    page = client_for(clinic_a, "owner").get("/settings/subscription/").content.decode()
    assert "days left" not in page and "day left" not in page


def test_the_demo_has_a_platform_operator_with_totp(db):
    from accounts.services import platform_staff_save

    connection.set_schema_to_public()
    user, created, secret = platform_staff_save(
        email=DEMO_PLATFORM_STAFF[0], password="demo-clinic-2026", full_name=DEMO_PLATFORM_STAFF[1],
        totp_secret=DEMO_PLATFORM_TOTP,
    )  # fmt: skip
    assert created and user.is_platform_staff and user.totp_enabled and secret == DEMO_PLATFORM_TOTP
    import pyotp

    assert pyotp.TOTP(DEMO_PLATFORM_TOTP).now().isdigit()  # a valid base32 secret
    from clinics.demo import demo_banner
    from clinics.models import Clinic

    banner = demo_banner(Clinic(name="Sunrise", slug="demo", schema_name="demo"))
    assert "ops@docos.in" in banner and "/platform/" in banner and DEMO_PLATFORM_TOTP in banner
