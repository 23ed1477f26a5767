"""Shared set-up for the DocOS subscription tests: the fake Razorpay with the platform's account,
a plan, signed delivery to /webhooks/razorpay/platform/ and processing of stored events."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from billing.fake_razorpay import FakeRazorpayServer, signed_headers
from clinics.models import Plan
from docos import webhooks
from docos.models import WebhookEvent

HOOK = "test-platform-webhook-secret"


@pytest.fixture
def platform(fake_razorpay: FakeRazorpayServer, settings: Any) -> FakeRazorpayServer:
    fake_razorpay.reset()
    fake_razorpay.add_account(settings.RAZORPAY_PLATFORM_KEY_ID, settings.RAZORPAY_PLATFORM_KEY_SECRET)
    settings.RAZORPAY_BASE_URL = fake_razorpay.base_url
    settings.RAZORPAY_PLATFORM_WEBHOOK_SECRET = HOOK
    return fake_razorpay


def make_plan(*, trial_days: int = 0, code: str = "clinic-monthly", basis: str = Plan.Basis.DOCTOR_SEAT) -> Plan:
    return Plan.objects.create(
        code=code, name="Clinic monthly", period=Plan.Period.MONTHLY, basis=basis,
        unit_price=Decimal("1499.00"), trial_days=trial_days,
    )  # fmt: skip


def deliver(
    payload: dict[str, Any] | bytes, *, secret: str = HOOK, event_id: str = "", signature: str | None = None
) -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = signed_headers(body, secret, event_id or None)
    meta = {"HTTP_X_RAZORPAY_EVENT_ID": headers["X-Razorpay-Event-Id"]}
    meta["HTTP_X_RAZORPAY_SIGNATURE"] = headers["X-Razorpay-Signature"] if signature is None else signature
    response = Client().post(
        "/webhooks/razorpay/platform/", data=body, content_type="application/json",
        HTTP_HOST=settings.DOCOS_BASE_DOMAIN, **meta,
    )  # fmt: skip
    connection.set_schema_to_public()
    return int(response.status_code)


def process_pending() -> list[str]:
    connection.set_schema_to_public()
    pks = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
        .order_by("received_at")
        .values_list("pk", flat=True)
    )
    results = [webhooks.webhook_process(str(pk)) for pk in pks]
    connection.set_schema_to_public()
    return results


def deliver_all(events: list[dict[str, Any]], *, secret: str = HOOK) -> None:
    for item in events:
        assert deliver(item, secret=secret) == 200
    process_pending()
