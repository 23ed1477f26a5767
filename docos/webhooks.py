"""Vendor webhook intake and typed vendor errors: the kernel side of every integration.

Intake (`webhook_receive`, called by a vendor's public view):

1. read the raw body; check the vendor's HMAC-SHA256 signature in constant time -> 403;
2. store the raw event (encrypted: it carries PHI) under the vendor's event id, unique per vendor:
   `INSERT ... ON CONFLICT DO NOTHING`, so a replay (vendors deliver at least once) changes nothing;
3. answer 200 at once (also for events nobody handles, so the vendor stops retrying) and enqueue
   `docos.webhook_process` after commit.

Processing (`webhook_process`, a Celery task in the public schema): the vendor's parser turns the
body into typed `Delivery` items, each naming the vendor's account (e.g. a WhatsApp
phone_number_id) and a kind. The clinic comes from the public routing table through the resolver
`clinics` registers (`register_tenant_resolver`), and the handler from the dispatch table apps fill
in `AppConfig.ready` (`register_handler(vendor, kind, handler)`). Each handler runs inside its
clinic's schema and its own transaction, and must be idempotent (a replayed or re-run event calls
it again). Unknown accounts and kinds are logged (without PHI) and acknowledged.

Vendors that sign with a secret per merchant account (Razorpay) are routed by the URL path instead
of the payload: the view passes the path's account id, the vendor's `account_secret` gives that
account's secret(s) before anything is parsed, and every delivery of the event goes to that account.

If the enqueue is lost (Redis down), `webhook_sweep` (beat) re-enqueues events still `received`.
Handled events are deleted after WEBHOOK_EVENT_RETENTION_DAYS (`webhook_purge`, beat): their raw
bodies carry PHI, and they are kept only to refuse the vendors' replays.

The kernel imports no app: vendors, handlers and the tenant resolver are registered from above.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tenants.utils import tenant_context

logger = logging.getLogger(__name__)


class VendorError(Exception):
    """A vendor call failed. `permanent` says whether trying again could help (a rate limit or a 5xx
    is worth a retry; an invalid recipient is not). `code` is the vendor's code as text (e.g. Meta's
    "131026"), `message` a short description without PHI; `retry_after` seconds when the vendor said."""

    def __init__(self, *, permanent: bool, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.permanent = permanent
        self.code = str(code)
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"VendorError(permanent={self.permanent}, code={self.code!r}, message={self.message!r})"


class PayloadError(ValueError):
    """A signed event lacks a field its handler needs. Permanent: the vendor's retries carry the same
    body, so the event is marked failed once (its note names the field's path), never retried."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the event has no {path}")
        self.path = path


def require_fields(payload: Any, *fields: str, path_format: str = "{entity}.{field}") -> None:
    """Check that each "entity.field" of `fields` is in the delivery's payload (a dict of entities),
    not None and not empty; else raise PayloadError with the field's path in the vendor's body,
    written by `path_format` (Razorpay: "payload.{entity}.entity.{field}")."""
    for item in fields:
        entity, _, field = item.partition(".")
        container = payload.get(entity) if isinstance(payload, dict) else None
        value = container.get(field) if isinstance(container, dict) else None
        if value is None or value == "":
            raise PayloadError(path_format.format(entity=entity, field=field))


@dataclass(frozen=True)
class Delivery:
    """One typed item of a webhook event, for one vendor account (e.g. one inbound message)."""

    account_id: str
    kind: str
    payload: Any


@dataclass(frozen=True)
class WebhookVendor:
    name: str
    enabled: Callable[[], bool]
    secret: Callable[[], str]  # the HMAC-SHA256 key (e.g. the Meta app secret)
    signature_header: str  # a META key, e.g. "HTTP_X_HUB_SIGNATURE_256"
    signature_prefix: str  # e.g. "sha256=" ("" when the header is the bare hex digest)
    event_id: Callable[[HttpRequest, bytes], str]
    parse: Callable[[bytes], list[Delivery]]  # raises ValueError on a body it cannot read
    # Vendors whose webhooks each clinic signs with its own secret (Razorpay: one webhook secret per
    # merchant account) are routed by the URL path instead: the view passes the path's account id
    # to `webhook_receive`, `account_secret(account_id)` gives that account's secrets (the current one,
    # and a replaced one while the vendor may still retry events signed with it; none when the
    # account is unknown: refused like a bad signature), the event is stored under
    # "<account id>:<vendor event id>" (dedupe per account) and every delivery of it goes to that account.
    account_secret: Callable[[str], tuple[str, ...]] | None = None


Handler = Callable[[Any], object]
TenantResolver = Callable[[str, str], Any]  # (vendor, account id) -> tenant or None

ROUTE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # a path-routed account id (an opaque token)
UNIQUE_VIOLATION = "23505"  # PostgreSQL SQLSTATE
MAX_ATTEMPTS = 10  # processing runs of one event (task retries and sweeps) before it is marked failed

_VENDORS: dict[str, WebhookVendor] = {}
_HANDLERS: dict[tuple[str, str], Handler] = {}
_resolver: TenantResolver | None = None


def register_vendor(vendor: WebhookVendor) -> None:
    _VENDORS[vendor.name] = vendor


def register_handler(vendor: str, kind: str, handler: Handler) -> None:
    """`handler(payload)` runs in the clinic's schema, in a transaction, for every delivery of that kind."""
    _HANDLERS[(vendor, kind)] = handler


def register_tenant_resolver(resolver: TenantResolver) -> None:
    global _resolver
    _resolver = resolver


def vendor(name: str) -> WebhookVendor | None:
    return _VENDORS.get(name)


def signature_valid(*, secret: str, body: bytes, given: str, prefix: str = "sha256=") -> bool:
    """HMAC-SHA256 of the raw body, compared in constant time. An empty secret never matches."""
    if not secret or not given or not given.startswith(prefix):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given[len(prefix) :].strip().lower().encode())


def body_digest(request: HttpRequest, body: bytes) -> str:
    """An event id for vendors without one: the SHA-256 of the raw body (retries resend the same bytes)."""
    return hashlib.sha256(body).hexdigest()


def webhook_receive(request: HttpRequest, vendor_name: str, account_id: str = "") -> HttpResponse:
    """The POST side of a vendor's webhook view (the view is public and CSRF-exempt). `account_id`:
    the account named by the URL path, for vendors that sign per account (`account_secret`)."""
    from docos.models import WebhookEvent

    spec = _VENDORS.get(vendor_name)
    if spec is None or not spec.enabled():
        return HttpResponse(status=404)
    routed = spec.account_secret is not None
    if routed and not ROUTE_RE.match(account_id):
        return HttpResponse(status=404)
    body = request.body
    given = str(request.META.get(spec.signature_header, ""))
    secrets = spec.account_secret(account_id) if spec.account_secret is not None else (spec.secret(),)
    if not any(signature_valid(secret=s, body=body, given=given, prefix=spec.signature_prefix) for s in secrets):
        logger.warning("webhook signature refused", extra={"vendor": vendor_name, "signed": bool(given)})
        return HttpResponse(status=403)
    event_id = spec.event_id(request, body)[:160]
    if not event_id:
        return HttpResponse(status=400)  # the vendor always sends one: a post without it is not theirs
    event = WebhookEvent(
        vendor=vendor_name,
        event_id=f"{account_id}:{event_id}" if routed else event_id,
        body=body.decode("utf-8", "replace"),
    )
    if _store_once(event):
        transaction.on_commit(lambda: _enqueue(str(event.pk)))  # at once in autocommit (production)
    else:
        logger.info("webhook replay ignored", extra={"vendor": vendor_name})
    return HttpResponse(status=200)


def _store_once(event: Any) -> bool:
    """Insert the event; False when (vendor, event id) is already stored (a replay).

    In autocommit (a request in production) the INSERT is one statement and its own transaction: one
    round trip, the cheapest way to be durable before answering 200. Inside a caller's transaction
    (tests) a savepoint keeps a replay's unique violation from breaking it."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                event.save(force_insert=True)
        else:
            event.save(force_insert=True)
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", "") != UNIQUE_VIOLATION:
            raise
        return False
    return True


def _enqueue(event_pk: str) -> None:
    from docos.tasks import webhook_process_task

    try:
        webhook_process_task.apply_async(args=[event_pk])
    except Exception:  # the broker is down: the event is stored, the sweeper will enqueue it
        logger.warning("webhook enqueue failed; the sweeper will retry", exc_info=True)


def webhook_process(event_pk: str) -> str:
    """Parse a stored event and call its handlers. Returns the event's final status."""
    from docos.models import WebhookEvent

    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None or event.status != WebhookEvent.Status.RECEIVED:
        return "gone" if event is None else event.status
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    if event.attempts + 1 > MAX_ATTEMPTS:
        logger.error("webhook event failed too often", extra={"vendor": event.vendor})
        return _finish(event, WebhookEvent.Status.FAILED, "too_many_attempts")
    spec = _VENDORS.get(event.vendor)
    if spec is None:
        return _finish(event, WebhookEvent.Status.IGNORED, "unknown_vendor")
    try:
        deliveries = spec.parse(str(event.body).encode("utf-8"))
    except ValueError:
        logger.warning("webhook body unreadable", extra={"vendor": event.vendor})
        return _finish(event, WebhookEvent.Status.IGNORED, "unparseable")
    path_account = event.event_id.split(":", 1)[0] if spec.account_secret is not None else ""
    for delivery in deliveries:
        handler = _HANDLERS.get((event.vendor, delivery.kind))
        if handler is None:
            logger.info("webhook kind not handled", extra={"vendor": event.vendor, "kind": delivery.kind})
            continue
        account = path_account or delivery.account_id  # a path-routed event belongs to the signing account
        tenant = _resolver(event.vendor, account) if _resolver is not None else None
        if tenant is None:
            logger.warning("webhook for an unknown account", extra={"vendor": event.vendor, "kind": delivery.kind})
            continue
        try:
            with tenant_context(tenant), transaction.atomic():
                handler(delivery.payload)
        except PayloadError as exc:
            # The field's path only (no values: they may be personal data).
            logger.error(
                "webhook event lacks a field its handler needs",
                extra={"vendor": event.vendor, "kind": delivery.kind, "field": exc.path},
            )
            return _finish(event, WebhookEvent.Status.FAILED, f"missing:{exc.path}"[:64])
    return _finish(event, WebhookEvent.Status.PROCESSED, "")


def _finish(event: Any, status: str, note: str) -> str:
    type(event).objects.filter(pk=event.pk).update(status=status, note=note, processed_at=timezone.now())
    return status


def webhook_sweep(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Re-enqueue events stored but not processed (their enqueue was lost). Returns how many."""
    from docos.models import WebhookEvent

    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    pks = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        _enqueue(str(pk))
    return len(pks)


def webhook_purge(*, older_than_days: int | None = None, batch: int = 5000) -> int:
    """Delete handled events (processed, ignored or failed) received more than `older_than_days`
    (default WEBHOOK_EVENT_RETENTION_DAYS) ago, `batch` rows per statement. An event still waiting
    to be processed is kept. Returns how many were deleted."""
    from django.conf import settings

    from docos.models import WebhookEvent

    days = int(settings.WEBHOOK_EVENT_RETENTION_DAYS if older_than_days is None else older_than_days)
    cutoff = timezone.now() - dt.timedelta(days=days)
    handled = WebhookEvent.objects.exclude(status=WebhookEvent.Status.RECEIVED).filter(received_at__lt=cutoff)
    deleted = 0
    while True:
        pks = list(handled.values_list("pk", flat=True)[:batch])
        if not pks:
            return deleted
        deleted += WebhookEvent.objects.filter(pk__in=pks).delete()[0]
