"""Razorpay payment links: the clinic's Razorpay account, a link for an invoice's balance, sending it
over WhatsApp, cancelling it, and what Razorpay's webhooks tell us (payments, failures, refunds).

Routing of webhooks (documented for the settings page too): by a per-clinic PATH. Razorpay signs
each webhook with the secret of the merchant account's webhook, so the secret must be known before
the body is read; the clinic's webhook URL is /webhooks/razorpay/<route key>/, the route key a
random token stored in the public routing table (clinics.VendorRoute, vendor "razorpay"). The
kernel looks up that clinic's webhook secret from the path, checks X-Razorpay-Signature in constant
time, and only then stores the body (docos.webhooks). The `account_id` inside the payload is not
used for routing (it would have to be read before the signature is checked). For 24 hours after the
clinic replaces its webhook secret the old one still verifies (Razorpay's retries); it may have been
replaced because it leaked, so meanwhile a payment is recorded only once Razorpay's API confirms it.

Exactly one payment per Razorpay payment: `payment_link.paid` and `payment.captured` both carry the
payment; whichever arrives first records it, under the link's row lock, and the database refuses a
second row with the same Razorpay payment id (`payment_razorpay_once`). Events may come in any
order and many times: each handler only moves the link's status forward (created < partially_paid
< paid) and finds nothing to do on a replay.

Money beyond the invoice's balance (the desk took cash meanwhile) is kept as an advance deposit of
the patient, never dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from billing import gst, razorpay
from billing.models import Invoice, Payment, PaymentLink, RazorpayAccount, VendorStatus
from billing.services import _lock, _receipt, _settle
from docos.ids import parse_uuid
from docos.webhooks import VendorError

logger = logging.getLogger(__name__)
T = TypeVar("T")

Status = PaymentLink.Status
_RANK: dict[str, int] = {Status.CREATING: 0, Status.CREATED: 1, Status.PARTIALLY_PAID: 2, Status.PAID: 3}


def vendor_sentence(exc: VendorError) -> str:
    """What staff read when Razorpay refused or could not be reached."""
    if exc.code == "authentication":
        return "Razorpay refused the key id or key secret (Settings → Razorpay)."
    if exc.code == "not_configured":
        return "Razorpay is not connected for this clinic (Settings → Razorpay)."
    if not exc.permanent:
        return "Razorpay could not be reached just now; try again in a minute."
    return f"Razorpay refused it: {exc.message}"


# --- the clinic's account ---------------------------------------------------------------------------


def razorpay_account() -> RazorpayAccount | None:
    return RazorpayAccount.objects.first()


def razorpay_ready(account: RazorpayAccount | None) -> bool:
    """Links can be made: the platform switch is on and the clinic connected and enabled its account."""
    return bool(settings.RAZORPAY_ENABLED and account is not None and account.is_enabled and account.is_configured)


def credentials(account: RazorpayAccount) -> razorpay.Credentials:
    return razorpay.Credentials(key_id=account.key_id, key_secret=str(account.key_secret or ""))


# What Razorpay issues (API keys are sent in the Authorization header, which carries ASCII only).
KEY_ID_RE = re.compile(r"rzp_(live|test)_[A-Za-z0-9]{1,30}")
KEY_SECRET_RE = re.compile(r"[!-~]{1,100}")  # printable ASCII, no spaces


@transaction.atomic
def razorpay_settings_update(
    *,
    actor: User | None,
    key_id: str,
    key_secret: str | None,
    webhook_secret: str | None,
    is_enabled: bool,
    context: AuditContext | None = None,
    route_key: str | None = None,
) -> RazorpayAccount:
    """Save the clinic's Razorpay account (`None` secrets keep the stored ones) and, in the same
    transaction, its webhook route in the public routing table (kept while a webhook secret is
    stored, also when links are switched off, so payments on links already sent still land)."""
    from clinics.services import vendor_routes_set

    key_id = key_id.strip()
    errors: dict[str, str] = {}
    if key_id and not KEY_ID_RE.fullmatch(key_id):
        errors["key_id"] = (
            "A Razorpay key id is rzp_live_ or rzp_test_ followed by letters and digits only "
            "(Dashboard → Account & Settings → API keys); copy it again without spaces or hidden characters."
        )
    if key_secret is not None and key_secret.strip() and not KEY_SECRET_RE.fullmatch(key_secret.strip()):
        errors["key_secret"] = (
            "A Razorpay key secret has no spaces or accented letters; copy it again without hidden characters."
        )
    account = RazorpayAccount.objects.select_for_update().first() or RazorpayAccount(
        route_key=route_key or secrets.token_urlsafe(24)  # fixed only by the demo (its fake posts there)
    )
    secret = account.key_secret if key_secret is None else key_secret.strip()
    hook_secret = account.webhook_secret if webhook_secret is None else webhook_secret.strip()
    if is_enabled and not (key_id and secret and hook_secret):
        errors["is_enabled"] = "Enter the key id, key secret and webhook secret before switching payment links on."
    if errors:
        raise ValidationError(errors)
    before = {"key_id": account.key_id, "is_enabled": account.is_enabled}
    changed_secrets = [
        name
        for name, old, new in (
            ("key_secret", account.key_secret, secret),
            ("webhook_secret", account.webhook_secret, hook_secret),
        )
        if old != new
    ]
    if account.webhook_secret and hook_secret != account.webhook_secret:
        account.previous_webhook_secret, account.webhook_secret_changed_at = account.webhook_secret, timezone.now()
    account.key_id, account.is_enabled = key_id, is_enabled
    account.key_secret, account.webhook_secret = secret, hook_secret
    account.save()
    tenant = connection.tenant  # type: ignore[attr-defined]  # settings are edited in the clinic's schema
    vendor_routes_set(vendor=razorpay.VENDOR, clinic=tenant, account_ids=[account.route_key] if hook_secret else [])
    audit_record(
        actor=actor,
        action="razorpay.settings_update",
        obj=account,
        changed_fields=[f for f, v in before.items() if getattr(account, f) != v] + changed_secrets,
        context=context,
        metadata={"enabled": account.is_enabled},
    )
    return account


RETRY_WINDOW = dt.timedelta(hours=24)  # Razorpay retries a webhook for 24 hours


def webhook_secrets_for_route(route_key: str) -> tuple[str, ...]:
    """The webhook secrets of the clinic whose route key this is (none if no clinic): the current
    one, and the replaced one for 24 hours after a change. The kernel's `account_secret` for
    Razorpay, called on the public domain before the body is read."""
    from django_tenants.utils import tenant_context

    from clinics.services import vendor_route_clinic

    clinic = vendor_route_clinic(razorpay.VENDOR, route_key)
    if clinic is None:
        return ()
    with tenant_context(clinic):
        account = RazorpayAccount.objects.filter(route_key=route_key).first()
    if account is None or not account.webhook_secret:
        return ()
    secrets_ = [str(account.webhook_secret)]
    changed = account.webhook_secret_changed_at
    if account.previous_webhook_secret and changed is not None and timezone.now() - changed < RETRY_WINDOW:
        secrets_.append(str(account.previous_webhook_secret))
    return tuple(secrets_)


# --- links ------------------------------------------------------------------------------------------


def invoice_payment_link_create(*, actor: User, invoice: Invoice, context: AuditContext | None = None) -> PaymentLink:
    """A Razorpay payment link for the invoice's balance. Two steps: the link is recorded (`creating`,
    at most one live link per invoice, in its own transaction under the invoice's lock), then Razorpay
    is asked outside any transaction (reference id = our link's id, so a retry cannot make two) and
    the answer recorded. Raises ValidationError with a sentence for staff."""
    account = razorpay_account()
    if not razorpay_ready(account):
        raise ValidationError(
            "Razorpay payment links are not switched on for this clinic (Settings → Razorpay).", code="off"
        )
    assert account is not None
    with transaction.atomic():
        invoice = _lock(invoice)
        if invoice.patient.restricted_at is not None:  # an erasure the law does not allow yet: no new use
            raise ValidationError(
                "The patient's record is restricted (their erasure request): no payment link is made.",
                code="restricted",
            )
        if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.CANCELLED) or invoice.balance <= 0:
            raise ValidationError("Nothing is due on this invoice.", code="nothing_due")
        if invoice.balance < Decimal("1.00"):
            raise ValidationError("Razorpay takes payments of ₹1 or more.", code="too_small")
        # A link past its expiry (Razorpay's payment_link.expired may not be subscribed) is closed here.
        PaymentLink.objects.filter(
            invoice=invoice, status__in=PaymentLink.LIVE, expire_by__lt=timezone.now() - dt.timedelta(minutes=5)
        ).exclude(status=Status.CREATING).update(status=Status.EXPIRED, updated_at=timezone.now())
        if PaymentLink.objects.filter(invoice=invoice, status__in=PaymentLink.LIVE).exists():
            raise ValidationError("This invoice already has a payment link; cancel it first.", code="live_link")
        now = timezone.now()
        link = PaymentLink.objects.create(
            invoice=invoice,
            amount=invoice.balance,
            created_by=actor,
            created_at=now,
            expire_by=now + dt.timedelta(days=int(settings.RAZORPAY_LINK_EXPIRY_DAYS)),
        )
        audit_record(
            actor=actor, action="payment_link.create", obj=link, location_id=invoice.location_id, context=context,
            metadata={"invoice": str(invoice.pk)},
        )  # fmt: skip
    patient = invoice.patient
    assert link.expire_by is not None
    try:
        answer = razorpay.payment_link_create(
            credentials(account),
            amount=link.amount,
            description=f"Invoice {invoice.number}",
            reference_id=link.pk.hex,
            customer={"name": patient.full_name, "contact": patient.contact_number or "", "email": patient.email or ""},
            notes={"docos_link": str(link.pk), "docos_invoice": str(invoice.pk), "invoice_number": invoice.number},
            expire_by=int(link.expire_by.timestamp()),
        )
    except VendorError as exc:
        PaymentLink.objects.filter(pk=link.pk, status=Status.CREATING).update(
            status=Status.FAILED, error=vendor_sentence(exc)[:200], updated_at=timezone.now()
        )
        raise ValidationError(vendor_sentence(exc), code="razorpay") from exc
    with transaction.atomic():
        link = PaymentLink.objects.select_for_update().get(pk=link.pk)
        link.razorpay_id = str(answer.get("id") or "")[:40]
        link.short_url = str(answer.get("short_url") or "")[:200]
        if link.status == Status.CREATING:  # a webhook may have been quicker
            link.status = _known_status(answer.get("status")) or Status.CREATED
        link.save(update_fields=["razorpay_id", "short_url", "status", "updated_at"])
    return link


def _known_status(value: Any) -> str:
    return str(value) if value in Status.values else ""


def payment_link_cancel(*, actor: User | None, link: PaymentLink, context: AuditContext | None = None) -> PaymentLink:
    """Cancel a link not paid yet, at Razorpay first (a paid link cannot be cancelled: then its
    status is fetched instead)."""
    account = razorpay_account()
    if not link.is_live:
        raise ValidationError("This payment link is no longer open.", code="closed")
    answer: dict[str, Any] = {}
    if link.razorpay_id:
        if account is None:
            raise ValidationError("Razorpay is not connected for this clinic (Settings → Razorpay).", code="off")
        try:
            answer = razorpay.payment_link_cancel(credentials(account), link.razorpay_id)
        except VendorError as exc:
            if not exc.permanent:
                raise ValidationError(vendor_sentence(exc), code="razorpay") from exc
            try:  # e.g. paid meanwhile: show what Razorpay knows
                answer = razorpay.payment_link_fetch(credentials(account), link.razorpay_id)
            except VendorError:
                raise ValidationError(vendor_sentence(exc), code="razorpay") from exc
    with transaction.atomic():
        link = PaymentLink.objects.select_for_update().get(pk=link.pk)
        status = _known_status(answer.get("status")) or Status.CANCELLED
        if status == Status.CANCELLED and link.is_live:
            link.status, link.cancelled_at = Status.CANCELLED, timezone.now()
            link.save(update_fields=["status", "cancelled_at", "updated_at"])
            audit_record(
                actor=actor, action="payment_link.cancel", obj=link, location_id=link.invoice.location_id,
                context=context, metadata={"invoice": str(link.invoice_id)},
            )  # fmt: skip
        elif status != Status.CANCELLED:
            _advance(link, status, answer)
    if status != Status.CANCELLED:  # what Razorpay said is recorded (committed above), then told
        raise ValidationError(f"Razorpay says this link is {link.get_status_display().lower()}; it was not cancelled.")
    return link


def payment_links_close_for_invoice(*, invoice_id: str) -> int:
    """Cancel the invoice's open links once nothing is due (after a credit note). Safe to run twice;
    a transient Razorpay failure is raised as VendorError so the task retries."""
    closed = 0
    for link in PaymentLink.objects.filter(invoice_id=invoice_id, status__in=PaymentLink.LIVE):
        try:
            payment_link_cancel(actor=None, link=link)
        except ValidationError as exc:
            if isinstance(exc.__cause__, VendorError) and not exc.__cause__.permanent:
                raise exc.__cause__ from exc
            continue  # paid or closed meanwhile: recorded as Razorpay said
        closed += 1
    return closed


def _advance(link: PaymentLink, status: str, entity: dict[str, Any]) -> None:
    """Move the (locked) link forward only: a late `created` never undoes `paid`; a payment beats a
    cancellation that crossed it (Razorpay took the money, so the link is paid)."""
    fields = ["updated_at"]
    if entity.get("order_id") and not link.order_id:
        link.order_id = str(entity["order_id"])[:40]
        fields.append("order_id")
    paid = razorpay.rupees(entity.get("amount_paid") or 0)
    if paid > link.amount_paid:
        link.amount_paid = paid
        fields.append("amount_paid")
    if status == Status.PAID and link.status != Status.PAID:
        link.status, link.paid_at = Status.PAID, link.paid_at or timezone.now()
        fields += ["status", "paid_at"]
    elif link.is_live and (
        status in (Status.CANCELLED, Status.EXPIRED) or (status in _RANK and _RANK[status] > _RANK[link.status])
    ):
        link.status = status
        fields.append("status")
    link.save(update_fields=fields)


@transaction.atomic
def payment_link_send(
    *, actor: User, link: PaymentLink, seen_sent_count: int | None = None, context: AuditContext | None = None
) -> Any:
    """Send the link to the patient over WhatsApp (the `payment_link` template).

    `seen_sent_count` is how many sends the sender's page showed: a second press of the same page
    (a double click, a resubmitted form) finds the count moved on and returns the message already
    queued instead of sending the patient the link twice."""
    from messaging.models import OutboundMessage
    from messaging.services import message_send_template

    link = PaymentLink.objects.select_for_update().select_related("invoice__patient").get(pk=link.pk)
    if link.status not in (Status.CREATED, Status.PARTIALLY_PAID) or not link.short_url:
        raise ValidationError("Only an open payment link can be sent.", code="closed")
    # The invoice may have moved on since the link was made (a credit note, cash at the desk):
    # never ask the patient for money the invoice no longer owes.
    invoice = _lock(link.invoice)
    if invoice.status == Invoice.Status.CANCELLED or invoice.balance <= 0:
        raise ValidationError("Nothing is due on this invoice any more; cancel this payment link.", code="nothing_due")
    if link.amount - link.amount_paid > invoice.balance:
        raise ValidationError(
            f"This link asks for more than the ₹{gst.indian_grouping(invoice.balance)} now due; "
            "cancel it and make a new link.",
            code="balance_changed",
        )
    if seen_sent_count is not None and seen_sent_count < link.sent_count:
        already = OutboundMessage.objects.filter(idempotency_key=f"payment_link:{link.pk}:{link.sent_count}").first()
        if already is not None:
            return already
    patient = link.invoice.patient
    link.sent_count += 1
    link.save(update_fields=["sent_count", "updated_at"])
    clinic = connection.tenant  # type: ignore[attr-defined]
    message = message_send_template(
        patient=patient,
        template_name="payment_link",
        language="en",
        parameters=[
            (patient.given_name or "").split(" ")[0],
            f"₹{gst.indian_grouping(link.amount - link.amount_paid)}",
            str(getattr(clinic, "name", "")),
            link.short_url,
        ],
        idempotency_key=f"payment_link:{link.pk}:{link.sent_count}",
        related=link,
    )
    audit_record(
        actor=actor, action="payment_link.send", obj=link, location_id=link.invoice.location_id, context=context,
        metadata={"message": str(message.pk), "status": message.status},
    )  # fmt: skip
    return message


# --- webhook handlers (each in the clinic's schema and a transaction; idempotent) -------------------


def _link_for(
    *, link_entity: dict[str, Any] | None = None, payment: dict[str, Any] | None = None
) -> PaymentLink | None:
    """Our link named by the event (locked): by Razorpay's link id, our note, or the link's order."""
    query = Q(pk__in=[])
    for entity in (link_entity, payment):
        if not entity:
            continue
        notes = entity.get("notes") if isinstance(entity.get("notes"), dict) else {}
        ours = str((notes or {}).get("docos_link") or "")
        if len(ours) == 36:
            query |= Q(pk=ours)
    if link_entity and link_entity.get("id"):
        query |= Q(razorpay_id=str(link_entity["id"]))
    if payment and payment.get("order_id"):
        query |= Q(order_id=str(payment["order_id"]))
    try:
        link = PaymentLink.objects.select_for_update().select_related("invoice").filter(query).first()
    except ValidationError:  # a note that is not a UUID
        return None
    if link is None and payment and not link_entity and str(payment.get("id") or "").startswith("pay_"):
        link = _link_asked_of_razorpay(str(payment["id"]))
    return link


def _asked_of_razorpay(call: Callable[[razorpay.Credentials, str], T], key: str) -> T | None:
    """Razorpay's answer through the clinic's account: None when Razorpay is not connected or refuses
    for good (unknown id); a transient failure raises, and the webhook task retries the event."""
    account = razorpay_account()
    if account is None or not account.key_id or not account.key_secret:
        return None
    try:
        return call(credentials(account), key)
    except VendorError as exc:
        if exc.permanent:
            return None
        raise


def _link_asked_of_razorpay(payment_id: str) -> PaymentLink | None:
    """A payment event that arrived before any event of its link: ask Razorpay which link it was
    made on (a transient failure raises, and the webhook task retries the event)."""
    found = _asked_of_razorpay(razorpay.payment_links_for_payment, payment_id) or []
    ids = [str(item.get("id") or "") for item in found if item.get("id")]
    return PaymentLink.objects.select_for_update().select_related("invoice").filter(razorpay_id__in=ids).first()


def _old_secret_still_verifies() -> bool:
    """A replaced webhook secret still verifies events (24 hours after the change, for Razorpay's
    retries); the clinic may have replaced it because it leaked."""
    account = razorpay_account()
    changed = account.webhook_secret_changed_at if account is not None else None
    return bool(account and account.previous_webhook_secret and changed and timezone.now() - changed < RETRY_WINDOW)


def _confirmed_by_razorpay(payment_id: str, payment: dict[str, Any]) -> bool:
    """Razorpay has this payment, captured, for the amount the event says (so an event forged with a
    leaked secret records nothing). A transient failure raises: the webhook task retries the event."""
    found = _asked_of_razorpay(razorpay.payment_fetch, payment_id)
    return (
        found is not None
        and found.get("status") in ("captured", "refunded")
        and found.get("amount") == payment.get("amount")
        and found.get("currency", "INR") == "INR"
    )


def _refund_confirmed_by_razorpay(refund_id: str, payment_id: str, refund: dict[str, Any]) -> bool:
    """Razorpay has this refund of this payment, processed, for the amount the event says (so a
    refund forged with a leaked secret records nothing). A transient failure raises: the task retries."""
    if not payment_id.startswith("pay_"):
        return False
    found = _asked_of_razorpay(razorpay.refunds_of_payment, payment_id) or []
    return any(
        item.get("id") == refund_id and item.get("status") == "processed" and item.get("amount") == refund.get("amount")
        for item in found
    )


def _record_payment(link: PaymentLink, payment: dict[str, Any]) -> Payment | None:
    """Record Razorpay's captured payment once (link locked by the caller)."""
    payment_id = str(payment.get("id") or "")[:40]
    if not payment_id or payment.get("status") != "captured" or payment.get("currency", "INR") != "INR":
        return None
    if Payment.objects.filter(razorpay_payment_id=payment_id).exclude(kind=Payment.Kind.REFUND).exists():
        return None  # a replay, or the other event of the pair came first
    if _old_secret_still_verifies() and not _confirmed_by_razorpay(payment_id, payment):
        return None
    invoice = _lock(link.invoice)
    amount = razorpay.rupees(payment.get("amount") or 0)
    if amount <= 0:
        return None
    due = invoice.balance if invoice.status not in (Invoice.Status.DRAFT, Invoice.Status.CANCELLED) else Decimal("0")
    to_invoice = min(amount, due)
    paid_at = dt.datetime.fromtimestamp(int(payment.get("created_at") or timezone.now().timestamp()), tz=dt.UTC)
    first: Payment | None = None
    for kind, part in ((Payment.Kind.PAYMENT, to_invoice), (Payment.Kind.DEPOSIT, amount - to_invoice)):
        if part <= 0:
            continue
        fy, serial, number = _receipt(invoice.location, paid_at)
        row = Payment.objects.create(
            patient=invoice.patient,
            location=invoice.location,
            invoice=invoice if kind == Payment.Kind.PAYMENT else None,
            kind=kind,
            mode=Payment.Mode.RAZORPAY_LINK,
            amount=part,
            reference=(link.razorpay_id or payment_id)[:64],
            razorpay_payment_id=payment_id,
            receipt_number=number,
            financial_year=fy,
            serial=serial,
            received_at=paid_at,
            received_by=link.created_by,
        )
        audit_record(
            actor=None, action="payment.record" if kind == Payment.Kind.PAYMENT else "payment.deposit", obj=row,
            location_id=invoice.location_id,
            metadata={"invoice": str(invoice.pk), "mode": row.mode, "source": "razorpay"},
        )  # fmt: skip
        first = first or row
    _settle(invoice)
    return first


def _link_as_razorpay_has_it(link: PaymentLink, link_entity: dict[str, Any]) -> dict[str, Any] | None:
    """The link entity to believe: the event's, or while a replaced (maybe leaked) webhook secret
    still verifies, the link fetched from Razorpay (None if Razorpay does not have it; a transient
    failure raises and the webhook task retries)."""
    if not _old_secret_still_verifies():
        return link_entity
    if not link.razorpay_id:
        return None
    return _asked_of_razorpay(razorpay.payment_link_fetch, link.razorpay_id)


def on_payment_link_paid(payload: dict[str, Any]) -> None:
    razorpay.require(payload, "payment_link.id", "payment.id", "payment.amount", "payment.status")
    link_entity = payload.get("payment_link") or {}
    payment = payload.get("payment") or {}
    link = _link_for(link_entity=link_entity, payment=payment)
    if link is None:
        logger.info("razorpay payment link not ours")
        return
    believed = _link_as_razorpay_has_it(link, link_entity)
    if believed is not None and (believed is link_entity or believed.get("status") == Status.PAID):
        _advance(link, Status.PAID, {**believed, "order_id": believed.get("order_id") or payment.get("order_id")})
    _record_payment(link, payment)  # checks the payment with Razorpay itself while the old secret verifies


def on_payment_link_closed(payload: dict[str, Any]) -> None:
    """payment_link.cancelled / payment_link.expired (cancelled at the dashboard, or past expire_by)."""
    razorpay.require(payload, "payment_link.id", "payment_link.status")
    link_entity = payload.get("payment_link") or {}
    link = _link_for(link_entity=link_entity)
    if link is None:
        return
    believed = _link_as_razorpay_has_it(link, link_entity) or {}
    status = _known_status(believed.get("status"))
    if status not in (Status.CANCELLED, Status.EXPIRED):
        return
    _advance(link, status, believed)


def on_payment_captured(payload: dict[str, Any]) -> None:
    razorpay.require(payload, "payment.id", "payment.amount", "payment.status")
    payment = payload.get("payment") or {}
    link = _link_for(payment=payment)
    if link is None:
        logger.info("razorpay payment not for a payment link of ours")
        return
    if payment.get("status") != "captured":
        return
    _record_payment(link, payment)
    payment_id = str(payment.get("id") or "")[:40]
    if not payment_id or not Payment.objects.filter(razorpay_payment_id=payment_id).exists():
        return  # not recorded (not confirmed by Razorpay while a replaced secret verifies): the link stays
    amount = payment.get("amount") or 0
    status = Status.PAID if razorpay.rupees(amount) >= link.amount else Status.PARTIALLY_PAID
    _advance(link, status, {"order_id": payment.get("order_id"), "amount_paid": amount})


def on_payment_failed(payload: dict[str, Any]) -> None:
    razorpay.require(payload, "payment.id")
    payment = payload.get("payment") or {}
    link = _link_for(payment=payment)
    payment_id = str(payment.get("id") or "")[:40]
    if link is None or not payment_id or link.last_failed_payment_id == payment_id:
        return
    if Payment.objects.filter(razorpay_payment_id=payment_id).exists():
        return  # a late failure of a payment that was captured after all
    reason = " ".join(str(payment.get(k) or "") for k in ("error_code", "error_description")).strip()
    link.failed_attempts += 1
    link.last_failed_payment_id, link.last_failure = payment_id, reason[:200]
    if payment.get("order_id") and not link.order_id:
        link.order_id = str(payment["order_id"])[:40]
    link.save(update_fields=["failed_attempts", "last_failed_payment_id", "last_failure", "order_id", "updated_at"])
    audit_record(
        actor=None, action="payment_link.payment_failed", obj=link, location_id=link.invoice.location_id,
        metadata={"code": str(payment.get("error_code") or "")[:40]},
    )  # fmt: skip


def _recorded(payment_id: str) -> Payment | None:
    """The row a Razorpay payment was recorded as (locked): on the invoice, else as a deposit."""
    rows = Payment.objects.select_for_update().filter(razorpay_payment_id=payment_id)
    return rows.filter(kind=Payment.Kind.PAYMENT).first() or rows.exclude(kind=Payment.Kind.REFUND).first()


def _record_refunded_payment(payment_id: str) -> Payment | None:
    """A refund event that came before its payment's events (Razorpay retries each for a day, in
    no order): the payment is fetched from Razorpay and, if made on one of our links, recorded now,
    so the refund has its payment (the payment's own events then find it recorded). A transient
    failure raises, and the webhook task retries the event."""
    payment = _asked_of_razorpay(razorpay.payment_fetch, payment_id) if payment_id.startswith("pay_") else None
    # "refunded": captured, then all given back
    if payment is None or payment.get("status") not in ("captured", "refunded"):
        return None
    link = _link_for(payment=payment)
    if link is None or _record_payment(link, {**payment, "status": "captured"}) is None:
        return None
    amount = payment.get("amount") or 0
    status = Status.PAID if razorpay.rupees(amount) >= link.amount else Status.PARTIALLY_PAID
    _advance(link, status, {"order_id": payment.get("order_id"), "amount_paid": amount})
    return _recorded(payment_id)


def on_refund_processed(payload: dict[str, Any]) -> None:
    razorpay.require(payload, "refund.id", "refund.payment_id", "refund.amount")
    refund = payload.get("refund") or {}
    refund_id = str(refund.get("id") or "")[:40]
    payment_id = str(refund.get("payment_id") or "")[:40]
    if not refund_id or not payment_id:
        return
    if _old_secret_still_verifies() and not _refund_confirmed_by_razorpay(refund_id, payment_id, refund):
        return  # possibly forged with the replaced secret: Razorpay has no such processed refund
    original = _recorded(payment_id) or _record_refunded_payment(payment_id)
    if original is None:
        return
    notes = refund.get("notes") if isinstance(refund.get("notes"), dict) else {}
    ours = parse_uuid(str((notes or {}).get("docos_refund") or ""))
    row = Payment.objects.select_for_update().filter(kind=Payment.Kind.REFUND, razorpay_refund_id=refund_id).first()
    if row is None and ours is not None:
        # Our refund row names this Razorpay payment whichever of its rows it refunds (the invoice's
        # part, or the advance kept from money beyond the balance): `original` is only the first.
        row = (
            Payment.objects.select_for_update()
            .filter(kind=Payment.Kind.REFUND, pk=ours, razorpay_payment_id=payment_id)
            .first()
        )
    if row is not None:
        if row.vendor_status != VendorStatus.PROCESSED or row.razorpay_refund_id != refund_id:
            row.vendor_status, row.razorpay_refund_id = VendorStatus.PROCESSED, refund_id
            row.save(update_fields=["vendor_status", "razorpay_refund_id"])
            if row.invoice_id is not None:
                _settle(_lock(row.invoice))  # type: ignore[arg-type]
            audit_record(actor=None, action="payment.refund_processed", obj=row, location_id=row.location_id)
        return
    # A refund made in Razorpay's dashboard: recorded here so the books agree, against the payment's
    # rows in turn (the invoice's part, then the advance kept from money beyond the balance). The
    # first row made carries Razorpay's refund id (unique), which finds it again on a replay.
    from billing.services import refundable

    left = razorpay.rupees(refund.get("amount") or 0)
    rows = Payment.objects.select_for_update().filter(razorpay_payment_id=payment_id).exclude(kind=Payment.Kind.REFUND)
    now = timezone.now()
    first = True
    for paid_row in sorted(rows, key=lambda r: r.kind != Payment.Kind.PAYMENT):
        amount = min(left, refundable(paid_row))
        if amount <= 0:
            continue
        invoice = _lock(paid_row.invoice) if paid_row.invoice_id is not None else None  # type: ignore[arg-type]
        fy, serial, number = _receipt(paid_row.location, now)
        row = Payment.objects.create(
            patient=paid_row.patient, location=paid_row.location, invoice=paid_row.invoice, refund_of=paid_row,
            kind=Payment.Kind.REFUND, mode=Payment.Mode.RAZORPAY_LINK, amount=amount,
            reason="Refunded from the Razorpay dashboard", razorpay_payment_id=payment_id,
            razorpay_refund_id=refund_id if first else "", vendor_status=VendorStatus.PROCESSED,
            receipt_number=number, financial_year=fy, serial=serial, received_at=now,
            received_by=paid_row.received_by,
        )  # fmt: skip
        first, left = False, left - amount
        if invoice is not None:
            _settle(invoice)
        audit_record(
            actor=None, action="payment.refund", obj=row, location_id=row.location_id,
            metadata={"payment": str(paid_row.pk), "source": "razorpay"},
        )  # fmt: skip


def razorpay_refund_submit(*, refund_id: str) -> str:
    """Ask Razorpay to refund a refund recorded at the desk (a task, after commit). Safe to run
    again: a refund already created (found by our note among the payment's refunds) is not made twice."""
    row = Payment.objects.select_related("refund_of").filter(pk=refund_id, kind=Payment.Kind.REFUND).first()
    if row is None or row.vendor_status != VendorStatus.PENDING or row.razorpay_refund_id or row.refund_of is None:
        return "nothing_to_do"
    account = razorpay_account()
    if account is None:
        return _refund_failed(row, "Razorpay is not connected for this clinic.")
    payment_id = row.refund_of.razorpay_payment_id
    creds = credentials(account)
    try:
        existing = next(
            (
                r
                for r in razorpay.refunds_of_payment(creds, payment_id)
                if (r.get("notes") or {}).get("docos_refund") == str(row.pk)
            ),
            None,
        )
        answer = existing or razorpay.refund_create(
            creds,
            payment_id=payment_id,
            amount=row.amount,
            receipt=row.receipt_number,
            notes={"docos_refund": str(row.pk)},
        )
    except VendorError as exc:
        if exc.permanent:
            return _refund_failed(row, vendor_sentence(exc))
        raise
    with transaction.atomic():
        row = Payment.objects.select_for_update().get(pk=row.pk)
        if not row.razorpay_refund_id:
            row.razorpay_refund_id = str(answer.get("id") or "")[:40]
            if answer.get("status") == "processed":
                row.vendor_status = VendorStatus.PROCESSED
            row.save(update_fields=["razorpay_refund_id", "vendor_status"])
    return row.vendor_status


@transaction.atomic
def _refund_failed(row: Payment, sentence: str) -> str:
    row = Payment.objects.select_for_update().get(pk=row.pk)
    row.vendor_status = VendorStatus.FAILED
    row.reason = f"{row.reason} — not refunded: {sentence}"[:200]
    row.save(update_fields=["vendor_status", "reason"])
    if row.invoice_id is not None:
        _settle(_lock(row.invoice))  # type: ignore[arg-type]
    audit_record(actor=None, action="payment.refund_failed", obj=row, location_id=row.location_id)
    return VendorStatus.FAILED
