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

If the enqueue is lost (Redis down), `webhook_sweep` (beat) re-enqueues events still `received`.

The kernel imports no app: vendors, handlers and the tenant resolver are registered from above.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
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


Handler = Callable[[Any], object]
TenantResolver = Callable[[str, str], Any]  # (vendor, account id) -> tenant or None

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


def webhook_receive(request: HttpRequest, vendor_name: str) -> HttpResponse:
    """The POST side of a vendor's webhook view (the view is public and CSRF-exempt)."""
    from docos.models import WebhookEvent

    spec = _VENDORS.get(vendor_name)
    if spec is None or not spec.enabled():
        return HttpResponse(status=404)
    body = request.body
    given = str(request.META.get(spec.signature_header, ""))
    if not signature_valid(secret=spec.secret(), body=body, given=given, prefix=spec.signature_prefix):
        logger.warning("webhook signature refused", extra={"vendor": vendor_name, "signed": bool(given)})
        return HttpResponse(status=403)
    event = WebhookEvent(
        vendor=vendor_name, event_id=spec.event_id(request, body)[:200], body=body.decode("utf-8", "replace")
    )
    with transaction.atomic():
        WebhookEvent.objects.bulk_create([event], ignore_conflicts=True)  # ON CONFLICT DO NOTHING
        stored = WebhookEvent.objects.filter(vendor=vendor_name, event_id=event.event_id).values_list("pk", flat=True)
        is_new = next(iter(stored), None) == event.pk
        if is_new:
            transaction.on_commit(lambda: _enqueue(str(event.pk)))
    if not is_new:
        logger.info("webhook replay ignored", extra={"vendor": vendor_name})
    return HttpResponse(status=200)


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
    for delivery in deliveries:
        handler = _HANDLERS.get((event.vendor, delivery.kind))
        if handler is None:
            logger.info("webhook kind not handled", extra={"vendor": event.vendor, "kind": delivery.kind})
            continue
        tenant = _resolver(event.vendor, delivery.account_id) if _resolver is not None else None
        if tenant is None:
            logger.warning("webhook for an unknown account", extra={"vendor": event.vendor, "kind": delivery.kind})
            continue
        with tenant_context(tenant), transaction.atomic():
            handler(delivery.payload)
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
