"""The Razorpay webhook on the public domain: /webhooks/razorpay/<route key>/.

Each clinic's Razorpay account signs its webhooks with its own secret, so the URL names the clinic
(an opaque route key from the public routing table, shown in Settings -> Razorpay). The kernel's
intake (docos.webhooks) checks X-Razorpay-Signature against that clinic's secret in constant time
before anything is parsed (403), stores the event once per x-razorpay-event-id, answers 200 and
leaves the rest to a task."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.razorpay import VENDOR
from clinics.gateway import PLATFORM_VENDOR
from docos.permissions import public
from docos.webhooks import webhook_receive


@public
@csrf_exempt  # Razorpay signs its posts (X-Razorpay-Signature); it cannot send a CSRF token
@require_POST
def razorpay_webhook(request: HttpRequest, route_key: str) -> HttpResponse:
    return webhook_receive(request, VENDOR, route_key)


@public
@csrf_exempt  # signed with the platform's webhook secret (X-Razorpay-Signature)
@require_POST
def razorpay_platform_webhook(request: HttpRequest) -> HttpResponse:
    """/webhooks/razorpay/platform/: the platform account's subscription events (clinics pay DocOS)."""
    return webhook_receive(request, PLATFORM_VENDOR)
