"""The demo clinic's DocOS subscription: three plans, an active monthly subscription matching the
fake Razorpay's demo data, so the console's seat change works against the fake as in `make run`."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from billing import fake_razorpay_subscriptions as fake_subs
from clinics import demo_subscription
from clinics.models import Plan, PlatformPayment, Subscription


@pytest.fixture
def demo_platform(fake_razorpay: Any, settings: Any) -> Any:
    fake_razorpay.reset()
    fake_subs.load_demo(fake_razorpay)
    settings.RAZORPAY_BASE_URL = fake_razorpay.base_url
    settings.RAZORPAY_PLATFORM_KEY_ID = fake_subs.DEMO_PLATFORM_KEY_ID
    settings.RAZORPAY_PLATFORM_KEY_SECRET = fake_subs.DEMO_PLATFORM_KEY_SECRET
    return fake_razorpay


def test_the_demo_ids_match_the_fake(clinic_a):
    assert demo_subscription.DEMO_SUBSCRIPTION_ID == fake_subs.DEMO_SUBSCRIPTION_ID
    assert demo_subscription.DEMO_CUSTOMER_ID == fake_subs.DEMO_CUSTOMER_ID
    assert demo_subscription.DEMO_PLAN_ID == fake_subs.DEMO_PLAN_ID
    assert demo_subscription.DEMO_SEATS == fake_subs.DEMO_SEATS


def test_demo_clinic_has_an_active_subscription_whose_seats_change_against_the_fake(
    clinic_a, demo_platform, client_for, clock
):
    sub = demo_subscription.seed(clinic_a.clinic)
    assert Plan.objects.count() == len(demo_subscription.PLANS)
    assert sub.status == Subscription.Status.ACTIVE and sub.seats == 3
    assert set(PlatformPayment.objects.filter(subscription=sub).values_list("status", flat=True)) == {
        "failed",
        "captured",
    }
    owner = client_for(clinic_a, "owner")
    page = owner.get("/settings/subscription/").content.decode()
    assert "Clinic monthly" in page and "insufficient balance" in page
    assert owner.post("/settings/subscription/seats/", {"seats": 4}).status_code == 302
    connection.set_schema_to_public()
    assert Subscription.objects.get(pk=sub.pk).seats == 4
    assert demo_platform.state.subscriptions[fake_subs.DEMO_SUBSCRIPTION_ID]["quantity"] == 4
    assert owner.post("/settings/subscription/refresh/").status_code == 302
