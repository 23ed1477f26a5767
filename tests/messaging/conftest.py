"""WhatsApp test helpers: the fake Graph API, connecting a clinic's number, signed webhook posts,
and payloads in the documented shapes of Meta's webhooks (messages and statuses)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from docos import webhooks
from docos.models import WebhookEvent
from messaging import services
from messaging.fake_graph import FakeGraphServer

PHONE_ID_A = "106540352242922"
PHONE_ID_B = "206540352242933"
WABA_ID = "102290129340398"
SECRET = "test-app-secret"
PATIENT_WA_ID = "919812345678"  # make_patient's phone, as WhatsApp writes it
PATIENT_USER_ID = "IN.1502576394655843"


@pytest.fixture
def graph(fake_graph: FakeGraphServer, settings: Any) -> Iterator[FakeGraphServer]:
    fake_graph.reset()
    settings.WHATSAPP_GRAPH_BASE_URL = fake_graph.base_url
    yield fake_graph
    fake_graph.reset()


def connect(seeded: Any, phone_number_id: str = PHONE_ID_A, *, token: str = "token-a", enabled: bool = True) -> Any:
    with tenant_context(seeded.clinic):
        account = services.whatsapp_settings_update(
            actor=None,
            waba_id=WABA_ID,
            phone_number_id=phone_number_id,
            display_number="+91 80 4123 4567",
            access_token=token,
            is_enabled=enabled,
        )
    connection.set_schema_to_public()
    return account


@pytest.fixture
def wa_a(clinic_a: Any, graph: FakeGraphServer) -> Any:
    connect(clinic_a, PHONE_ID_A)
    return clinic_a


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(
    payload: dict[str, Any] | bytes, *, signature: str | None = "auto", client: Client | None = None
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {}
    if signature == "auto":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    client = client or Client()
    return client.post(
        "/webhooks/whatsapp/",
        data=body,
        content_type="application/json",
        HTTP_HOST=settings.DOCOS_BASE_DOMAIN,
        **headers,
    )


def process_pending() -> list[str]:
    """What the worker would do: process every stored event not yet processed."""
    connection.set_schema_to_public()
    pks = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).values_list("pk", flat=True))
    return [webhooks.webhook_process(str(pk)) for pk in pks]


def deliver(payload: dict[str, Any]) -> None:
    response = post_webhook(payload)
    assert response.status_code == 200
    process_pending()


def envelope(phone_number_id: str, value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "918041234567", "phone_number_id": phone_number_id},
                            **value,
                        },
                        "field": field,
                    }
                ],
            }
        ],
    }


def status_payload(
    phone_number_id: str,
    wamid: str,
    status: str,
    *,
    ts: int | None = None,
    errors: list[dict[str, Any]] | None = None,
    category: str = "utility",
    callback: str = "",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(ts or int(time.time())),
        "recipient_id": PATIENT_WA_ID,
        "recipient_user_id": PATIENT_USER_ID,
    }
    if status in ("sent", "delivered"):
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}
    if errors:
        item["errors"] = errors
    if callback:
        item["biz_opaque_callback_data"] = callback
    return envelope(phone_number_id, {"statuses": [item]})


def inbound_payload(
    phone_number_id: str,
    wamid: str,
    *,
    text: str | None = "Hello",
    button: tuple[str, str] | None = None,
    wa_id: str | None = PATIENT_WA_ID,
    user_id: str | None = PATIENT_USER_ID,
    name: str = "Asha Verma",
    ts: int | None = None,
) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": name}}
    message: dict[str, Any] = {"id": wamid, "timestamp": str(ts or int(time.time()))}
    if wa_id:
        contact["wa_id"] = wa_id
        message["from"] = wa_id
    if user_id:
        contact["user_id"] = user_id
        message["from_user_id"] = user_id
    if button is not None:
        message.update(type="button", button={"text": button[0], "payload": button[1]})
        message["context"] = {"from": "918041234567", "id": "wamid.ORIGINAL"}
    else:
        message.update(type="text", text={"body": text})
    return envelope(phone_number_id, {"contacts": [contact], "messages": [message]})
