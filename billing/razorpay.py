"""Razorpay: the only module that talks to Razorpay (payment links, payments, refunds) and reads its
webhooks. It uses the official SDK (`razorpay` >= 2.0.1) with the clinic's own key id and secret;
only the base URL differs between production (https://api.razorpay.com), the demo and tests (the
local fake, `billing.fake_razorpay`): `RAZORPAY_BASE_URL`.

Failures become the kernel's typed `VendorError`:
- Razorpay's error body `{"error": {"code", "description", "field", ...}}` with a 4xx: permanent
  (`BAD_REQUEST_ERROR`: a field Razorpay refused, e.g. an amount below ₹1; 401: wrong key id or secret),
  except 429 (rate limit): worth a retry;
- 5xx (`SERVER_ERROR`, `GATEWAY_ERROR`), timeouts and connection failures: worth a retry.
The description Razorpay gives is short and carries no PHI (it names fields, not values).

Amounts: Razorpay counts paise (integers); DocOS counts rupees (Decimal with two places).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import razorpay
import requests
from django.conf import settings
from razorpay.errors import BadRequestError, GatewayError, ServerError

from docos.webhooks import Delivery, VendorError, require_fields

logger = logging.getLogger(__name__)

VENDOR = "razorpay"
# The webhook events DocOS handles (the account's webhook in Razorpay's dashboard subscribes to these).
EVENTS = (
    "payment_link.paid",
    "payment_link.cancelled",
    "payment_link.expired",
    "payment.captured",
    "payment.failed",
    "refund.processed",
)
# The platform account's webhook (/webhooks/razorpay/platform/), for DocOS subscriptions.
PLATFORM_EVENTS = (
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
    "payment.failed",
    "invoice.paid",
)
CONNECTION = "connection_error"
TIMEOUT = "timeout"
UNREADABLE = "unreadable_answer"


@dataclass(frozen=True)
class Credentials:
    key_id: str
    key_secret: str


def paise(rupees: Decimal) -> int:
    return int((rupees * 100).to_integral_value())


def rupees(amount_paise: Any) -> Decimal:
    return (Decimal(int(amount_paise)) / 100).quantize(Decimal("0.01"))


class _Session(requests.Session):
    """The SDK sets no timeout and keeps no status code: this session adds both."""

    last_status: int | None = None

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", float(settings.RAZORPAY_TIMEOUT_SECONDS))
        response = super().request(method, url, *args, **kwargs)
        self.last_status = response.status_code
        return response


def _client(credentials: Credentials) -> tuple[razorpay.Client, _Session]:
    session = _Session()
    client = razorpay.Client(
        session=session,
        auth=(credentials.key_id, credentials.key_secret),
        base_url=str(settings.RAZORPAY_BASE_URL).rstrip("/"),
    )
    client.set_app_details({"title": "DocOS", "version": "1"})
    return client, session


def _call(credentials: Credentials, operation: str, fn: Any, *args: Any) -> dict[str, Any]:
    if not credentials.key_id or not credentials.key_secret:
        raise VendorError(permanent=True, code="not_configured", message="Razorpay key id and secret are not set.")
    client, session = _client(credentials)
    try:
        answer = fn(client)(*args)
    except (BadRequestError, GatewayError, ServerError) as exc:
        status = session.last_status or 0
        message = (str(exc) or type(exc).__name__)[:200]
        if status == 401:
            raise VendorError(permanent=True, code="authentication", message=message) from exc
        if status == 429:
            raise VendorError(permanent=False, code="rate_limited", message=message) from exc
        if isinstance(exc, BadRequestError) and 400 <= status < 500:
            raise VendorError(permanent=True, code="BAD_REQUEST_ERROR", message=message) from exc
        code = "GATEWAY_ERROR" if isinstance(exc, GatewayError) else "SERVER_ERROR"
        raise VendorError(
            permanent=400 <= status < 500 and status not in (408, 409), code=code, message=message
        ) from exc
    except requests.Timeout as exc:
        raise VendorError(permanent=False, code=TIMEOUT, message=f"Razorpay did not answer ({operation}).") from exc
    except requests.ConnectionError as exc:
        raise VendorError(
            permanent=False, code=CONNECTION, message=f"Razorpay could not be reached ({operation})."
        ) from exc
    except (requests.RequestException, ValueError) as exc:  # a body that is not JSON (a proxy's error page)
        status = session.last_status or 0
        raise VendorError(
            permanent=False, code=UNREADABLE, message=f"Razorpay's answer could not be read (HTTP {status})."
        ) from exc
    if not isinstance(answer, dict):
        raise VendorError(permanent=False, code=UNREADABLE, message="Razorpay's answer could not be read.")
    return answer


# --- Payment Links API --------------------------------------------------------------------------


def payment_link_create(
    credentials: Credentials,
    *,
    amount: Decimal,
    description: str,
    reference_id: str,
    customer: dict[str, str],
    notes: dict[str, str],
    expire_by: int,
) -> dict[str, Any]:
    """POST /v1/payment_links: a standard link for `amount` rupees. Razorpay's notifications stay
    off (`notify`: the clinic sends the link over WhatsApp itself); `reference_id` is unique per
    account, so a retried create cannot make a second link."""
    data = {
        "amount": paise(amount),
        "currency": "INR",
        "accept_partial": False,
        "description": description[:2048],
        "reference_id": reference_id[:40],
        "customer": {k: v for k, v in customer.items() if v},
        "notify": {"sms": False, "email": False},
        "reminder_enable": False,
        "notes": notes,
        "expire_by": expire_by,
    }
    return _call(credentials, "payment link create", lambda c: c.payment_link.create, data)


def payment_link_fetch(credentials: Credentials, link_id: str) -> dict[str, Any]:
    return _call(credentials, "payment link fetch", lambda c: c.payment_link.fetch, link_id)


def payment_link_cancel(credentials: Credentials, link_id: str) -> dict[str, Any]:
    """POST /v1/payment_links/{id}/cancel: only a link not paid yet can be cancelled."""
    return _call(credentials, "payment link cancel", lambda c: c.payment_link.cancel, link_id)


def payment_links_for_payment(credentials: Credentials, payment_id: str) -> list[dict[str, Any]]:
    """GET /v1/payment_links?payment_id=...: the link a payment was made on (a payment entity does
    not name its link; its order is the link's, known here only once a link event arrived)."""
    answer = _call(credentials, "payment link search", lambda c: c.payment_link.all, {"payment_id": payment_id})
    return [item for item in answer.get("payment_links") or [] if isinstance(item, dict)]


def payment_fetch(credentials: Credentials, payment_id: str) -> dict[str, Any]:
    return _call(credentials, "payment fetch", lambda c: c.payment.fetch, payment_id)


def refund_create(
    credentials: Credentials, *, payment_id: str, amount: Decimal, receipt: str, notes: dict[str, str]
) -> dict[str, Any]:
    """POST /v1/payments/{id}/refund (normal speed)."""
    data = {"amount": paise(amount), "speed": "normal", "receipt": receipt[:40], "notes": notes}
    return _call(credentials, "refund create", lambda c: c.payment.refund, payment_id, data)


def refunds_of_payment(credentials: Credentials, payment_id: str) -> list[dict[str, Any]]:
    """GET /v1/payments/{id}/refunds (to find a refund created before a crash)."""
    answer = _call(credentials, "refund list", lambda c: c.payment.fetch_multiple_refund, payment_id, {"count": 100})
    return [item for item in answer.get("items") or [] if isinstance(item, dict)]


# --- DocOS subscriptions: the platform's own account (clinics.gateway) -----------------------------


def platform_credentials() -> Credentials:
    """The platform's Razorpay key (RAZORPAY_PLATFORM_KEY_ID/_SECRET): clinics pay DocOS through it."""
    return Credentials(str(settings.RAZORPAY_PLATFORM_KEY_ID), str(settings.RAZORPAY_PLATFORM_KEY_SECRET))


class PlatformSubscriptions:
    """`clinics.gateway.SubscriptionGateway` over Razorpay's Plans, Customers and Subscriptions APIs
    with the platform's key; registered by `BillingConfig.ready`."""

    def plan_create(self, *, name: str, period: str, amount: Decimal, notes: dict[str, str]) -> dict[str, Any]:
        """POST /v1/plans: `period` monthly or yearly, interval 1, the item's amount in paise per seat."""
        data = {
            "period": period,
            "interval": 1,
            "item": {"name": name[:100], "amount": paise(amount), "currency": "INR", "description": name[:100]},
            "notes": notes,
        }
        return _call(platform_credentials(), "plan create", lambda c: c.plan.create, data)

    def customer_create(self, *, name: str, email: str, gstin: str, notes: dict[str, str]) -> dict[str, Any]:
        """POST /v1/customers with fail_existing "0": a clinic that is already a customer (same email)
        gets its existing customer back instead of an error, so a retried subscribe is safe."""
        data: dict[str, Any] = {"name": name[:50], "email": email, "fail_existing": "0", "notes": notes}
        if gstin:
            data["gstin"] = gstin
        return _call(platform_credentials(), "customer create", lambda c: c.customer.create, data)

    def subscription_create(
        self,
        *,
        plan_id: str,
        customer_id: str,
        quantity: int,
        total_count: int,
        start_at: int | None,
        notes: dict[str, str],
    ) -> dict[str, Any]:
        """POST /v1/subscriptions: the answer's `short_url` is Razorpay's hosted checkout (cards and
        UPI Autopay). `start_at` in the future is the trial: the mandate is authenticated now and the
        first charge made then."""
        data: dict[str, Any] = {
            "plan_id": plan_id,
            "customer_id": customer_id,
            "quantity": quantity,
            "total_count": total_count,
            "customer_notify": 1,
            "notes": notes,
        }
        if start_at:
            data["start_at"] = start_at
        return _call(platform_credentials(), "subscription create", lambda c: c.subscription.create, data)

    def subscription_fetch(self, subscription_id: str) -> dict[str, Any]:
        return _call(platform_credentials(), "subscription fetch", lambda c: c.subscription.fetch, subscription_id)

    def subscription_cancel(self, subscription_id: str, *, at_cycle_end: bool) -> dict[str, Any]:
        """POST /v1/subscriptions/{id}/cancel {"cancel_at_cycle_end": 0|1}."""
        data = {"cancel_at_cycle_end": 1 if at_cycle_end else 0}
        return _call(
            platform_credentials(), "subscription cancel", lambda c: c.subscription.cancel, subscription_id, data
        )

    def subscription_update_quantity(self, subscription_id: str, *, quantity: int) -> dict[str, Any]:
        """PATCH /v1/subscriptions/{id} {"quantity", "schedule_change_at": "now"}: Razorpay prorates
        the change at once (an addon charge or a credit on the next invoice)."""
        data = {"quantity": quantity, "schedule_change_at": "now"}
        return _call(
            platform_credentials(), "subscription update", lambda c: c.subscription.edit, subscription_id, data
        )


def parse_platform_webhook(body: bytes) -> list[Delivery]:
    """A platform-account event: the delivery's account is the Razorpay subscription it is about
    (the subscription entity, else the invoice's `subscription_id`), else the payment's customer, so
    the routing table (one row per clinic subscription and customer) finds the clinic."""
    deliveries = parse_webhook(body)
    routed = []
    for delivery in deliveries:
        payload = delivery.payload
        subscription = payload.get("subscription") or {}
        invoice = payload.get("invoice") or {}
        payment = payload.get("payment") or {}
        account = str(
            subscription.get("id") or invoice.get("subscription_id") or payment.get("customer_id")
            or invoice.get("customer_id") or ""
        )  # fmt: skip
        routed.append(Delivery(account_id=account, kind=delivery.kind, payload=payload))
    return routed


# --- webhooks -------------------------------------------------------------------------------------


def webhook_event_id(request: Any, body: bytes) -> str:
    """Razorpay names each event in the `x-razorpay-event-id` header (the same on every retry)."""
    return str(request.META.get("HTTP_X_RAZORPAY_EVENT_ID", "")).strip()


EVENT_PATH = "payload.{entity}.entity.{field}"  # where an entity's field sits in Razorpay's event body


def require(payload: dict[str, Any], *fields: str) -> None:
    """A handler's required "entity.field"s: PayloadError naming e.g. `payload.payment.entity.id`."""
    require_fields(payload, *fields, path_format=EVENT_PATH)


def parse_webhook(body: bytes) -> list[Delivery]:
    """Razorpay's event envelope `{"entity": "event", "account_id", "event", "contains", "payload":
    {<entity name>: {"entity": {...}}}, "created_at"}` -> one delivery of kind `event`, carrying the
    payload's entities. The account is the webhook path's (see docos.webhooks), so `account_id` is
    left empty here."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(data, dict) or data.get("entity") != "event" or not isinstance(data.get("payload"), dict):
        raise ValueError("not a Razorpay event")
    kind = str(data.get("event") or "")
    entities: dict[str, dict[str, Any]] = {}
    for name, wrapper in data["payload"].items():
        if isinstance(wrapper, dict) and isinstance(wrapper.get("entity"), dict):
            entities[str(name)] = wrapper["entity"]
    return [
        Delivery(account_id="", kind=kind, payload={"event": kind, "created_at": data.get("created_at"), **entities})
    ]
