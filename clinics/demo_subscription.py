"""The demo's DocOS plans and the demo clinic's subscription on a 14-day trial (called by clinics.demo).

The ids match the fake Razorpay's demo data (billing.fake_razorpay_subscriptions.load_demo, which
`make run` starts), so changing seats, cancelling or refreshing in Settings -> Subscription works
against it. clinics sits below billing, so the ids are written out here rather than imported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from clinics.gateway import PLATFORM_VENDOR
from clinics.models import Clinic, Plan, Subscription
from clinics.services import vendor_routes_set

DEMO_PLAN_ID = "plan_DocOSClinicMo01"
DEMO_CUSTOMER_ID = "cust_DocOSSunrise001"
DEMO_SUBSCRIPTION_ID = "sub_DocOSSunrise0001"
DEMO_SEATS = 3
DEMO_TRIAL_DAYS = 14  # the clinic-monthly plan's trial
DEMO_TRIAL_DAYS_DONE = 4  # the mandate was authorised 4 days ago: 10 days of trial left

PLANS = (
    # code, name, period, basis, rupees per unit, trial days
    ("clinic-monthly", "Clinic monthly", Plan.Period.MONTHLY, Plan.Basis.DOCTOR_SEAT, "1499.00", 14),
    ("clinic-yearly", "Clinic yearly", Plan.Period.YEARLY, Plan.Basis.DOCTOR_SEAT, "14990.00", 14),
    ("hospital-yearly", "Hospital group yearly (per branch)", Plan.Period.YEARLY, Plan.Basis.LOCATION, "59990.00", 30),
)


def seed_plans() -> dict[str, Plan]:
    plans = {}
    with schema_context(get_public_schema_name()):
        for code, name, period, basis, price, trial in PLANS:
            plans[code], _ = Plan.objects.get_or_create(
                code=code,
                defaults={
                    "name": name, "period": period, "basis": basis, "unit_price": Decimal(price), "trial_days": trial,
                    "razorpay_plan_id": DEMO_PLAN_ID if code == "clinic-monthly" else "",
                },
            )  # fmt: skip
    return plans


def seed(clinic: Clinic) -> Subscription:
    """A monthly subscription for three doctor seats on the plan's 14-day trial: the owner authorised
    the card mandate at the hosted checkout 4 days ago, so Razorpay holds it `authenticated` with the
    first charge at the trial's end. Full access meanwhile; no payment and no invoice yet."""
    plans = seed_plans()
    now = timezone.now()
    started = now - dt.timedelta(days=DEMO_TRIAL_DAYS_DONE)
    trial_end = started + dt.timedelta(days=DEMO_TRIAL_DAYS)
    with schema_context(get_public_schema_name()):
        sub, _ = Subscription.objects.update_or_create(
            clinic=clinic,
            defaults={
                "plan": plans["clinic-monthly"], "seats": DEMO_SEATS, "status": Subscription.Status.AUTHENTICATED,
                "access": Subscription.Access.ACTIVE, "razorpay_subscription_id": DEMO_SUBSCRIPTION_ID,
                "razorpay_customer_id": DEMO_CUSTOMER_ID, "trial_ends_at": trial_end, "current_start": None,
                "current_end": None, "charge_at": trial_end, "paid_count": 0, "total_count": 120,
                "version_at": started, "last_paid_at": None,
            },
        )  # fmt: skip
        vendor_routes_set(vendor=PLATFORM_VENDOR, clinic=clinic, account_ids=[DEMO_SUBSCRIPTION_ID, DEMO_CUSTOMER_ID])
    return sub
