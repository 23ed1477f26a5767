"""DocOS subscriptions (public schema): a clinic pays DocOS through the platform's Razorpay account.

The `Subscription` row mirrors Razorpay's subscription (created -> authenticated -> active, pending
and halted while charges fail, paused, and the final cancelled / completed / expired) and adds the
clinic's DocOS access (active -> grace -> read_only -> suspended), which dunning moves by the clock.

Ordering: Razorpay retries webhooks for a day and does not keep their order, so a state is applied
only when its key is not older than the one applied last. The key is the entity's own progress:
`(paid_count, event created_at, status rank)`: a charge raises paid_count, so a late `activated`
or `pending` from before it loses; a final state (cancelled, completed, expired) is never left.

Vendor calls go through `clinics.gateway` (billing registers Razorpay there); every write here is
audited in the clinic's own log and runs in the public schema.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from clinics.gateway import PLATFORM_VENDOR, gateway
from clinics.models import Clinic, Plan, PlatformPayment, Subscription
from clinics.services import vendor_routes_set
from docos.webhooks import VendorError, require_fields

logger = logging.getLogger(__name__)

S = Subscription.Status
A = Subscription.Access
FINAL = frozenset({S.CANCELLED, S.COMPLETED, S.EXPIRED})
PAYING = frozenset({S.AUTHENTICATED, S.ACTIVE})
FAILING = frozenset({S.PENDING, S.HALTED, S.PAUSED})
RANK: dict[str, int] = {S.CREATED: 0, S.AUTHENTICATED: 1, S.ACTIVE: 2, S.PENDING: 3, S.HALTED: 4, S.PAUSED: 4}
ACCESS_ORDER: list[str] = [A.ACTIVE, A.GRACE, A.READ_ONLY, A.SUSPENDED]
ALLOW_LIVE = (S.CREATED, S.AUTHENTICATED, S.ACTIVE, S.PENDING, S.HALTED, S.PAUSED)


RAZORPAY_EVENT_PATH = "payload.{entity}.entity.{field}"  # an entity's field in Razorpay's event body


def _require(payload: dict[str, Any], *fields: str) -> None:
    require_fields(payload, *fields, path_format=RAZORPAY_EVENT_PATH)


def _at(epoch: Any) -> dt.datetime | None:
    try:
        value = int(epoch)
    except (TypeError, ValueError):
        return None
    return dt.datetime.fromtimestamp(value, tz=dt.UTC) if value > 0 else None


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def seats_in_use(clinic: Clinic, plan: Plan) -> int:
    """What the plan counts now: active doctors (users holding prescriptions.sign) or active locations."""
    from accounts.models import Location

    with tenant_context(clinic):
        if plan.basis == Plan.Basis.LOCATION:
            return Location.objects.filter(is_active=True).count()
        return sum(
            1
            for user in User.objects.filter(is_active=True).select_related("role")
            if user.role and "prescriptions.sign" in user.role.capabilities
        )


# --- plans ----------------------------------------------------------------------------------------


def plan_ensure_at_razorpay(plan: Plan) -> Plan:
    """The plan's Razorpay plan, made once (Razorpay plans cannot change: a new price is a new plan)."""
    if plan.razorpay_plan_id:
        return plan
    answer = gateway().plan_create(
        name=f"DocOS {plan.name}", period=plan.period, amount=plan.unit_price, notes={"docos_plan": plan.code}
    )
    plan_id = str(answer.get("id") or "")
    if not plan_id.startswith("plan_"):
        raise VendorError(permanent=False, code="unreadable_answer", message="Razorpay made no plan.")
    Plan.objects.filter(pk=plan.pk, razorpay_plan_id="").update(razorpay_plan_id=plan_id)
    plan.refresh_from_db()
    return plan


# --- subscribe, change, cancel --------------------------------------------------------------------


def _audit(
    clinic: Clinic, *, actor: Any, action: str, sub: Subscription, context: AuditContext | None, **meta: Any
) -> None:
    with tenant_context(clinic):
        audit_record(
            actor=actor if isinstance(actor, User) else None,
            action=action,
            object_type="clinics.subscription",
            object_id=str(sub.pk),
            context=context,
            metadata=meta,
        )


def subscription_start(
    *, clinic: Clinic, plan: Plan, seats: int, actor: Any, context: AuditContext | None = None
) -> Subscription:
    """Subscribe the clinic: a Razorpay customer and subscription on the platform account, whose
    `short_url` (hosted checkout: cards and UPI Autopay) the owner opens to authorise the mandate.
    A trial plan starts charging after its trial days; the clinic has full access meanwhile."""
    if not plan.is_active:
        raise ValidationError({"plan": "This plan is no longer offered."})
    if not 1 <= seats <= 1000:
        raise ValidationError({"seats": "Choose between 1 and 1000 seats."})
    with schema_context(get_public_schema_name()):
        existing = Subscription.objects.filter(clinic=clinic).first()
        if existing is not None and existing.status not in FINAL and existing.razorpay_subscription_id:
            raise ValidationError("This clinic already has a subscription; change its seats or cancel it first.")
        plan = plan_ensure_at_razorpay(plan)
        now = timezone.now()
        # The trial is for a clinic's first subscription only; a new one after an old one ended
        # charges at once and keeps the old dunning until that first charge goes through.
        trial_end = now + dt.timedelta(days=plan.trial_days) if plan.trial_days and existing is None else None
        customer = gateway().customer_create(
            name=clinic.name, email=clinic.contact_email, gstin=clinic.gstin, notes={"docos_clinic": clinic.slug}
        )
        answer = gateway().subscription_create(
            plan_id=plan.razorpay_plan_id,
            customer_id=str(customer["id"]),
            quantity=seats,
            total_count=int(settings.SUBSCRIPTION_TOTAL_COUNT[plan.period]),
            start_at=_epoch(trial_end) if trial_end else None,
            notes={"docos_clinic": clinic.slug, "docos_plan": plan.code},
        )
        with transaction.atomic():
            sub = existing or Subscription(clinic=clinic, plan=plan)
            sub.plan = plan
            sub.seats = seats
            sub.status = S.CREATED
            sub.razorpay_subscription_id = str(answer["id"])
            sub.razorpay_customer_id = str(customer["id"])
            sub.short_url = str(answer.get("short_url") or "")
            sub.trial_ends_at = trial_end
            sub.paid_count = 0
            sub.version_at = None
            _copy_entity(sub, answer)
            sub.save()
            vendor_routes_set(
                vendor=PLATFORM_VENDOR,
                clinic=clinic,
                account_ids=[sub.razorpay_subscription_id, sub.razorpay_customer_id],
            )
        _audit(clinic, actor=actor, action="subscription.start", sub=sub, context=context, plan=plan.code, seats=seats)
    return sub


def subscription_change_seats(
    *, subscription: Subscription, seats: int, actor: Any, context: AuditContext | None = None
) -> Subscription:
    """Change the seat count now; Razorpay prorates it (`schedule_change_at=now`). Only a subscription
    Razorpay is charging (authenticated or active) can change."""
    if not 1 <= seats <= 1000:
        raise ValidationError({"seats": "Choose between 1 and 1000 seats."})
    if subscription.status not in PAYING:
        raise ValidationError("Seats can change once the subscription is active (complete the checkout first).")
    if seats == subscription.seats:
        return subscription
    before = subscription.seats
    answer = gateway().subscription_update_quantity(subscription.razorpay_subscription_id, quantity=seats)
    subscription = subscription_apply(entity=answer, event_at=timezone.now()) or subscription
    with schema_context(get_public_schema_name()):
        Subscription.objects.filter(pk=subscription.pk).update(seats=seats)
        subscription.refresh_from_db()
    _audit(
        subscription.clinic,
        actor=actor,
        action="subscription.seats",
        sub=subscription,
        context=context,
        **{"from": before, "to": seats},
    )
    return subscription


def subscription_cancel(
    *, subscription: Subscription, actor: Any, at_cycle_end: bool = True, context: AuditContext | None = None
) -> Subscription:
    if subscription.status in FINAL or not subscription.razorpay_subscription_id:
        raise ValidationError("This subscription is already over.")
    answer = gateway().subscription_cancel(subscription.razorpay_subscription_id, at_cycle_end=at_cycle_end)
    subscription = subscription_apply(entity=answer, event_at=timezone.now()) or subscription
    _audit(
        subscription.clinic,
        actor=actor,
        action="subscription.cancel",
        sub=subscription,
        context=context,
        at_cycle_end=at_cycle_end,
    )
    return subscription


def subscription_refresh(*, subscription: Subscription) -> Subscription:
    """Ask Razorpay for the subscription now (the console's "refresh", and after checkout)."""
    answer = gateway().subscription_fetch(subscription.razorpay_subscription_id)
    return subscription_apply(entity=answer, event_at=timezone.now()) or subscription


# --- the state machine ----------------------------------------------------------------------------


def _copy_entity(sub: Subscription, entity: dict[str, Any]) -> None:
    sub.current_start = _at(entity.get("current_start"))
    sub.current_end = _at(entity.get("current_end"))
    sub.charge_at = _at(entity.get("charge_at"))
    sub.total_count = int(entity.get("total_count") or sub.total_count or 0)
    if entity.get("quantity"):
        sub.seats = int(entity["quantity"])
    if entity.get("short_url"):
        sub.short_url = str(entity["short_url"])


def _key(status: str, paid_count: int, at: dt.datetime | None) -> tuple[int, dt.datetime, int]:
    return (paid_count, at or dt.datetime.min.replace(tzinfo=dt.UTC), RANK.get(status, 9))


def subscription_apply(*, entity: dict[str, Any], event_at: dt.datetime | None) -> Subscription | None:
    """Apply a Razorpay subscription entity (from a webhook or an API answer) if it is not older
    than what the mirror holds. Returns the subscription, or None when DocOS does not know it."""
    sub_id = str(entity.get("id") or "")
    status = str(entity.get("status") or "")
    if not sub_id or status not in S.values:
        return None
    paid_count = int(entity.get("paid_count") or 0)
    event_at = event_at or timezone.now()
    became_paying = became_failing = False
    with schema_context(get_public_schema_name()), transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("clinic", "plan")
            .filter(razorpay_subscription_id=sub_id)
            .first()
        )
        if sub is None:
            return None
        if sub.status in FINAL:
            return sub  # cancelled, completed and expired are final at Razorpay too
        if status not in FINAL and _key(status, paid_count, event_at) < _key(
            sub.status, sub.paid_count, sub.version_at
        ):
            logger.info("late subscription state ignored", extra={"status": status})
            return sub
        previous = sub.status
        sub.status = status
        sub.paid_count = max(sub.paid_count, paid_count)
        sub.version_at = max(event_at, sub.version_at) if sub.version_at else event_at
        _copy_entity(sub, entity)
        if status == S.ACTIVE:  # charged (or resumed): paying restores access at once
            became_paying = sub.access != A.ACTIVE or sub.dunning_started_at is not None
            sub.last_paid_at = event_at
            sub.dunning_started_at = sub.grace_until = sub.suspend_at = None
            sub.access = A.ACTIVE
        elif status in FAILING or status in FINAL:
            became_failing = sub.dunning_started_at is None
            _start_dunning(sub, event_at)
        sub.save()
    if previous != status or became_paying or became_failing:
        _audit(
            sub.clinic,
            actor=None,
            action="subscription.state",
            sub=sub,
            context=None,
            **{"from": previous, "to": status, "access": sub.access},
        )
    # The owner is told by payment.failed (once per payment), which Razorpay sends with every failing charge.
    return sub


def _start_dunning(sub: Subscription, at: dt.datetime) -> None:
    if sub.dunning_started_at is not None:
        return
    sub.dunning_started_at = at
    sub.grace_until = at + dt.timedelta(days=int(settings.SUBSCRIPTION_GRACE_DAYS))
    sub.suspend_at = sub.grace_until + dt.timedelta(days=int(settings.SUBSCRIPTION_READ_ONLY_DAYS))
    sub.access = access_at(sub, timezone.now())


def access_at(sub: Subscription, now: dt.datetime) -> str:
    """The clinic's access at `now`: the stored one, or further along if its dunning dates have
    passed (so access is right even before the beat task has run)."""
    stored = sub.access
    if sub.dunning_started_at is None or sub.grace_until is None or sub.suspend_at is None:
        if (
            sub.status == S.CREATED
            and sub.trial_ends_at is not None
            and now >= sub.trial_ends_at + dt.timedelta(days=int(settings.SUBSCRIPTION_GRACE_DAYS))
        ):
            return A.READ_ONLY  # the trial ended and the checkout was never completed
        return stored
    by_clock = A.GRACE if now < sub.grace_until else A.READ_ONLY if now < sub.suspend_at else A.SUSPENDED
    return max(str(stored), str(by_clock), key=ACCESS_ORDER.index)


def trial_days_left(sub: Subscription, now: dt.datetime) -> int | None:
    """Whole days (rounded up) until the trial ends, while the subscription is still in its trial
    (created or authenticated, nothing charged yet); None otherwise."""
    if sub.trial_ends_at is None or sub.paid_count or sub.status not in (S.CREATED, S.AUTHENTICATED):
        return None
    seconds = (sub.trial_ends_at - now).total_seconds()
    return math.ceil(seconds / 86400) if seconds > 0 else None


def subscription_dunning_tick(now: dt.datetime | None = None) -> int:
    """Store the access each dunning subscription has reached by the clock (beat). Returns how many moved."""
    now = now or timezone.now()
    moved = 0
    with schema_context(get_public_schema_name()):
        candidates = (
            Subscription.objects.exclude(access=A.SUSPENDED)
            .filter(dunning_started_at__isnull=False)
            .select_related("clinic")
        )
        for sub in candidates:
            wanted = access_at(sub, now)
            if wanted == sub.access:
                continue
            with transaction.atomic():
                updated = Subscription.objects.filter(
                    pk=sub.pk, access=sub.access, dunning_started_at__isnull=False
                ).update(access=wanted)
            if updated:
                moved += 1
                _audit(
                    sub.clinic,
                    actor=None,
                    action="subscription.access",
                    sub=sub,
                    context=None,
                    **{"from": sub.access, "to": wanted},
                )
    return moved


# --- payments and invoices (webhooks) -------------------------------------------------------------


def _subscription_for(payload: dict[str, Any]) -> Subscription | None:
    invoice = payload.get("invoice") or {}
    payment = payload.get("payment") or {}
    sub_id = str((payload.get("subscription") or {}).get("id") or invoice.get("subscription_id") or "")
    qs = Subscription.objects.select_related("clinic", "plan")
    if sub_id:
        return qs.filter(razorpay_subscription_id=sub_id).first()
    customer = str(payment.get("customer_id") or invoice.get("customer_id") or "")
    return qs.filter(razorpay_customer_id=customer).first() if customer else None


def platform_payment_record(
    *, payment: dict[str, Any], subscription: Subscription, invoice_id: str = ""
) -> tuple[PlatformPayment, bool]:
    """One row per Razorpay payment id (replays update it); returns (row, created)."""
    with schema_context(get_public_schema_name()):
        at = _at(payment.get("created_at")) or timezone.now()
        row, created = PlatformPayment.objects.get_or_create(
            razorpay_payment_id=str(payment["id"]),
            defaults={
                "subscription": subscription,
                "razorpay_invoice_id": invoice_id or str(payment.get("invoice_id") or ""),
                "status": str(payment.get("status") or ""),
                "amount": (Decimal(int(payment.get("amount") or 0)) / 100).quantize(Decimal("0.01")),
                "method": str(payment.get("method") or "")[:20],
                "error_code": str(payment.get("error_code") or "")[:60],
                "error_description": str(payment.get("error_description") or "")[:255],
                "paid_or_failed_at": at,
            },
        )
        if not created and payment.get("status") == "captured" and row.status != "captured":
            row.status = "captured"
            row.save(update_fields=["status"])
        if row.status == "captured":
            from clinics.platform_invoices import platform_invoice_issue

            platform_invoice_issue(row)
    return row, created


def on_payment_failed(payload: dict[str, Any]) -> None:
    """payment.failed on the platform account: record it; unless a later charge already succeeded,
    start dunning (grace period) and tell the owner, once per payment."""
    _require(payload, "payment.id")
    payment = payload.get("payment") or {}
    with schema_context(get_public_schema_name()):
        sub = _subscription_for(payload)
        if sub is None:
            return
        row, _ = platform_payment_record(payment=payment, subscription=sub)
        failed_at = row.paid_or_failed_at
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().get(pk=sub.pk)
            stale = locked.last_paid_at is not None and failed_at <= locked.last_paid_at
            if not stale and locked.status not in FINAL:
                _start_dunning(locked, failed_at)
                locked.save()
            notify = not stale and row.owner_notified_at is None
            if notify:
                PlatformPayment.objects.filter(pk=row.pk).update(owner_notified_at=timezone.now())
        if notify:
            _notify_owner(locked, reason="payment_failed", payment=row)


def on_invoice_paid(payload: dict[str, Any]) -> None:
    """invoice.paid: the payment is recorded against its invoice; the subscription entity (fetched
    when the event does not carry it) restores access at once."""
    _require(payload, "invoice.id")
    invoice = payload.get("invoice") or {}
    payment = payload.get("payment") or {}
    with schema_context(get_public_schema_name()):
        sub = _subscription_for(payload)
        if sub is None:
            return
        if payment.get("id"):
            platform_payment_record(payment=payment, subscription=sub, invoice_id=str(invoice.get("id") or ""))
    entity = payload.get("subscription") or gateway().subscription_fetch(sub.razorpay_subscription_id)
    subscription_apply(entity=entity, event_at=_at(payload.get("created_at")))


def on_subscription_event(payload: dict[str, Any]) -> None:
    """subscription.* events: apply the entity, then record the charge's payment if one came along."""
    _require(payload, "subscription.id", "subscription.status")
    entity = payload.get("subscription") or {}
    sub = subscription_apply(entity=entity, event_at=_at(payload.get("created_at")))
    payment = payload.get("payment") or {}
    if sub is not None and payment.get("id"):
        platform_payment_record(payment=payment, subscription=sub)


SUBSCRIPTION_EVENTS = (
    "subscription.authenticated",
    "subscription.activated",
    "subscription.charged",
    "subscription.pending",
    "subscription.halted",
    "subscription.cancelled",
    "subscription.completed",
    "subscription.updated",
    "subscription.paused",
    "subscription.resumed",
)


def register_handlers() -> None:
    from docos import webhooks

    for kind in SUBSCRIPTION_EVENTS:
        webhooks.register_handler(PLATFORM_VENDOR, kind, on_subscription_event)
    webhooks.register_handler(PLATFORM_VENDOR, "payment.failed", on_payment_failed)
    webhooks.register_handler(PLATFORM_VENDOR, "invoice.paid", on_invoice_paid)


# --- emails ---------------------------------------------------------------------------------------


def owner_emails(clinic: Clinic) -> list[str]:
    with tenant_context(clinic):
        owners = User.objects.filter(is_active=True, role__slug="owner").values_list("email", flat=True)
        emails: Iterable[str] = [*owners, clinic.contact_email]
    return sorted({e.strip().lower() for e in emails if e})


def _notify_owner(sub: Subscription, *, reason: str, payment: PlatformPayment | None = None) -> None:
    clinic = sub.clinic
    grace = timezone.localtime(sub.grace_until).strftime("%d %b %Y") if sub.grace_until else ""
    amount = f"₹{payment.amount:,.2f} " if payment is not None else ""
    lines = [
        f"Dear {clinic.name} team,",
        "",
        f"The {amount}payment for your DocOS subscription ({sub.plan.name}) did not go through."
        if reason == "payment_failed"
        else f"Your DocOS subscription is {sub.get_status_display().lower()}: its payment is not coming through.",
        "",
        f"DocOS stays fully usable until {grace}. After that the clinic becomes read-only (staff can "
        "view and export, not create), and later suspended, until the subscription is paid."
        if grace
        else "",
        "",
        "Update the payment method in DocOS: Settings -> Subscription.",
        "",
        "DocOS billing",
    ]
    recipients = owner_emails(clinic)
    if not recipients:
        return
    body = "\n".join(lines)
    transaction.on_commit(
        lambda: send_mail("DocOS: your subscription payment failed", body, None, recipients, fail_silently=True)
    )


def subscription_for_clinic(clinic: Clinic) -> Subscription | None:
    with schema_context(get_public_schema_name()):
        return Subscription.objects.select_related("plan").filter(clinic=clinic).first()
