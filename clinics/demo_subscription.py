"""The demo's DocOS plans and the demo clinic's active subscription (called by clinics.demo).

The ids match the fake Razorpay's demo data (billing.fake_razorpay_subscriptions.load_demo, which
`make run` starts), so changing seats, cancelling or refreshing in Settings -> Subscription works
against it. clinics sits below billing, so the ids are written out here rather than imported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from clinics.gateway import PLATFORM_VENDOR
from clinics.models import Clinic, Plan, PlatformPayment, Subscription
from clinics.platform_invoices import platform_invoice_issue
from clinics.services import vendor_routes_set

DEMO_PLAN_ID = "plan_DocOSClinicMo01"
DEMO_CUSTOMER_ID = "cust_DocOSSunrise001"
DEMO_SUBSCRIPTION_ID = "sub_DocOSSunrise0001"
DEMO_SEATS = 3
DEMO_PERIOD_DAYS_DONE = 10

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
    """An active monthly subscription for three doctor seats, ten days into its month, with last
    month's UPI Autopay charge that failed once and then went through (as the admin sees it)."""
    plans = seed_plans()
    now = timezone.now()
    start = now - dt.timedelta(days=DEMO_PERIOD_DAYS_DONE)
    with schema_context(get_public_schema_name()):
        sub, _ = Subscription.objects.update_or_create(
            clinic=clinic,
            defaults={
                "plan": plans["clinic-monthly"], "seats": DEMO_SEATS, "status": Subscription.Status.ACTIVE,
                "access": Subscription.Access.ACTIVE, "razorpay_subscription_id": DEMO_SUBSCRIPTION_ID,
                "razorpay_customer_id": DEMO_CUSTOMER_ID, "current_start": start,
                "current_end": start + dt.timedelta(days=30), "charge_at": start + dt.timedelta(days=30),
                "paid_count": 1, "total_count": 120, "version_at": start, "last_paid_at": start,
            },
        )  # fmt: skip
        vendor_routes_set(vendor=PLATFORM_VENDOR, clinic=clinic, account_ids=[DEMO_SUBSCRIPTION_ID, DEMO_CUSTOMER_ID])
        amount = Decimal("1499.00") * DEMO_SEATS
        PlatformPayment.objects.get_or_create(
            razorpay_payment_id="pay_DocOSDemoFail01",
            defaults={
                "subscription": sub, "status": "failed", "amount": amount, "method": "upi",
                "error_code": "BAD_REQUEST_ERROR", "error_description": "Payment failed due to insufficient balance",
                "paid_or_failed_at": start - dt.timedelta(hours=20),
                "owner_notified_at": start - dt.timedelta(hours=20),
            },
        )  # fmt: skip
        paid, _ = PlatformPayment.objects.get_or_create(
            razorpay_payment_id="pay_DocOSDemoPaid01",
            defaults={
                "subscription": sub, "status": "captured", "amount": amount, "method": "upi",
                "razorpay_invoice_id": "inv_DocOSDemoInv001", "paid_or_failed_at": start,
            },
        )  # fmt: skip
        platform_invoice_issue(paid)
    return sub
