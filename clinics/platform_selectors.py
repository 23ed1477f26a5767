"""What DocOS's platform operators read (public schema): clinics, plans, subscription states, payments
and DocOS's own invoices. Clinics and money only: nothing here reads a patient record.

One implementation for both the web console (clinics/platform_views.py, /platform/ on the public
domain) and `manage.py platform_subscriptions`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from clinics.models import SLUG_RE, Clinic, Plan, PlatformInvoice, PlatformPayment, Subscription
from clinics.subscriptions import FAILING, PAYING, access_at, seats_in_use, trial_days_left

PAGE_SIZE = 50
# The keys of a subscription audit event's metadata that the console shows (states, seats, plan).
HISTORY_KEYS = ("from", "to", "access", "plan", "seats", "at_cycle_end")


def platform_clinics(*, search: str = "") -> QuerySet[Clinic]:
    """Every clinic (not the public schema's), by name; `search` matches the name or the slug."""
    qs = Clinic.objects.exclude(schema_name=get_public_schema_name()).select_related("subscription__plan")
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return qs.order_by("name", "slug")


def platform_clinic(slug: str) -> Clinic | None:
    if not SLUG_RE.match(slug):  # never a clinic's address (e.g. a NUL byte, which PostgreSQL refuses)
        return None
    return platform_clinics().filter(slug=slug).first()


def _subscription_of(clinic: Clinic) -> Subscription | None:
    try:
        return clinic.subscription
    except Subscription.DoesNotExist:
        return None


def clinic_row(clinic: Clinic, *, now: dt.datetime | None = None, count_seats: bool = True) -> dict[str, Any]:
    """One clinic's line: plan, Razorpay status, DocOS access, seats used / paid, next charge."""
    now = now or timezone.now()
    sub = _subscription_of(clinic)
    in_use: int | None = None
    if sub is not None and count_seats:
        in_use = seats_in_use(clinic, sub.plan)
    return {
        "clinic": clinic,
        "slug": clinic.slug,
        "name": clinic.name,
        "created_at": clinic.created_at,
        "subscription": sub,
        "plan": sub.plan if sub else None,
        "status": sub.status if sub else "none",
        "access": access_at(sub, now) if sub else "",
        "seats": sub.seats if sub else 0,
        "seats_in_use": in_use,
        "trial_ends_at": sub.trial_ends_at if sub else None,
        "trial_days_left": trial_days_left(sub, now) if sub else None,
        "next_charge": sub.charge_at if sub and sub.status in PAYING | FAILING else None,
    }


def clinic_rows(
    clinics: Iterable[Clinic], *, now: dt.datetime | None = None, count_seats: bool = True
) -> list[dict[str, Any]]:
    now = now or timezone.now()
    with schema_context(get_public_schema_name()):
        return [clinic_row(clinic, now=now, count_seats=count_seats) for clinic in clinics]


def clinic_payments(clinic: Clinic) -> QuerySet[PlatformPayment]:
    """Every payment attempt on the clinic's subscription, newest first, with its invoice if any."""
    return (
        PlatformPayment.objects.filter(subscription__clinic=clinic)
        .select_related("invoice")
        .order_by("-paid_or_failed_at")
    )


def clinic_invoices(clinic: Clinic) -> QuerySet[PlatformInvoice]:
    return PlatformInvoice.objects.filter(payment__subscription__clinic=clinic).order_by("-issued_at")


def platform_invoice(number: str) -> PlatformInvoice | None:
    if not number.isprintable() or len(number) > 16:  # PlatformInvoice.number: max_length 16
        return None
    return PlatformInvoice.objects.select_related("payment__subscription__clinic").filter(number=number).first()


def subscription_history(clinic: Clinic, sub: Subscription | None, *, limit: int = 100) -> list[dict[str, Any]]:
    """The subscription's audited changes (start, state, access, seats, cancel) from the clinic's own
    audit log: action, time and the state values only (no actor, address or other metadata)."""
    if sub is None:
        return []
    from audit.models import AuditEvent

    with tenant_context(clinic):
        events = list(
            AuditEvent.objects.filter(object_type="clinics.subscription", object_id=str(sub.pk))
            .order_by("-occurred_at", "-seq")
            .values("occurred_at", "action", "metadata")[:limit]
        )
    return [
        {
            "at": event["occurred_at"],
            "action": event["action"],
            "details": {key: event["metadata"][key] for key in HISTORY_KEYS if key in (event["metadata"] or {})},
        }
        for event in events
    ]


def plan_rows() -> QuerySet[Any]:  # Plans annotated with subscription_count and live_count
    """Every plan with its number of subscriptions (all states) and of live ones."""
    live = Q(subscriptions__status__in=[*PAYING, *FAILING, Subscription.Status.CREATED])
    return Plan.objects.annotate(
        subscription_count=Count("subscriptions"), live_count=Count("subscriptions", filter=live)
    ).order_by("-is_active", "period", "unit_price")


def failed_payments(*, since: dt.datetime | None = None, search: str = "") -> QuerySet[PlatformPayment]:
    """Failed payment attempts, newest first, with the clinic and Razorpay's reason."""
    qs = PlatformPayment.objects.filter(status="failed").select_related("subscription__clinic", "subscription__plan")
    if since is not None:
        qs = qs.filter(paid_or_failed_at__gte=since)
    search = (search or "").strip()
    if search:
        qs = qs.filter(
            Q(subscription__clinic__name__icontains=search) | Q(subscription__clinic__slug__icontains=search)
        )
    return qs.order_by("-paid_or_failed_at")


def failure_reason(payment: PlatformPayment) -> str:
    return payment.error_description or payment.error_code or "(no reason given)"


def platform_overview(*, failed_since: dt.datetime | None = None, limit: int = 50) -> dict[str, Any]:
    """Plans, every clinic's line and the failed payments since `failed_since` (the command's view)."""
    with schema_context(get_public_schema_name()):
        rows = [
            {
                "clinic": row["slug"],
                "plan": row["plan"].code if row["plan"] else "",
                "status": row["status"],
                "access": row["access"],
                "seats": row["seats"],
                "seats_in_use": row["seats_in_use"],
                "next_charge": row["next_charge"],
            }
            for row in clinic_rows(platform_clinics().order_by("slug"))
        ]
        failures = [
            {
                "clinic": p.subscription.clinic.slug,
                "payment": p.razorpay_payment_id,
                "amount": p.amount,
                "at": p.paid_or_failed_at,
                "reason": failure_reason(p),
            }
            for p in failed_payments(since=failed_since)[:limit]
        ]
        plans = list(
            plan_rows().values_list("code", "name", "period", "basis", "unit_price", "is_active", "live_count")
        )
    return {"clinics": rows, "failed_payments": failures, "plans": plans}
