"""The WhatsApp webhook on the public domain: /webhooks/whatsapp/.

GET is Meta's verification handshake; POST goes through the kernel's intake (docos.webhooks:
signature before anything is parsed, the raw event stored once, 200 at once, processing in a task)."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from docos.permissions import public
from docos.webhooks import webhook_receive
from messaging.whatsapp import VENDOR

logger = logging.getLogger(__name__)


@public
@csrf_exempt  # Meta signs its posts (X-Hub-Signature-256); it cannot send a CSRF token
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    return webhook_receive(request, VENDOR)


def _handshake(request: HttpRequest) -> HttpResponse:
    expected = str(settings.WHATSAPP_VERIFY_TOKEN or "")
    given = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if (
        settings.WHATSAPP_ENABLED
        and expected
        and request.GET.get("hub.mode") == "subscribe"
        and hmac.compare_digest(given.encode(), expected.encode())
        and challenge
    ):
        return HttpResponse(challenge[:200], content_type="text/plain")
    logger.warning("whatsapp webhook handshake refused")
    return HttpResponse(status=403)
