"""The vendor seam: /webhooks/whatsapp/ handshake, signatures, replay, routing to the right clinic."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from clinics.models import VendorRoute
from clinics.services import vendor_routes_set
from docos.models import WebhookEvent
from messaging.checks import check_whatsapp_credentials
from messaging.models import InboundMessage
from tests.messaging.conftest import (
    PHONE_ID_A,
    PHONE_ID_B,
    WABA_ID,
    connect,
    envelope,
    inbound_payload,
    post_webhook,
    process_pending,
    sign,
)


def _handshake(**params):
    return Client().get("/webhooks/whatsapp/", params, HTTP_HOST=settings.DOCOS_BASE_DOMAIN)


def test_handshake_echoes_the_challenge_for_the_right_verify_token(db):
    response = _handshake(
        **{"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200 and response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_is_refused_otherwise(db, params):
    assert _handshake(**params).status_code == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", sign(b"other body")])
def test_a_missing_or_bad_signature_is_refused_and_nothing_is_stored(db, signature):
    response = post_webhook(inbound_payload(PHONE_ID_A, "wamid.X"), signature=signature)
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_a_signature_with_another_secret_is_refused(db):
    body = json.dumps(inbound_payload(PHONE_ID_A, "wamid.X")).encode()
    assert post_webhook(body, signature=sign(body, "another-app-secret")).status_code == 403


def test_a_signed_event_is_stored_once_encrypted_and_a_replay_changes_nothing(db):
    payload = inbound_payload(PHONE_ID_A, "wamid.R1", text="My sugar reading is 180")
    assert post_webhook(payload).status_code == 200
    assert post_webhook(payload).status_code == 200  # Meta retries: same bytes
    event = WebhookEvent.objects.get()
    assert (event.vendor, event.status) == ("whatsapp", "received")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM docos_webhookevent")
        raw = bytes(cursor.fetchone()[0])
    assert b"sugar" not in raw and b"919812345678" not in raw
    assert "sugar" in event.body


def test_the_webhook_is_off_when_whatsapp_is_switched_off(db, settings):
    settings.WHATSAPP_ENABLED = False
    assert post_webhook(inbound_payload(PHONE_ID_A, "wamid.X")).status_code == 404


def test_unknown_phone_number_ids_and_fields_are_acknowledged_and_skipped(clinic_a, graph):
    connect(clinic_a, PHONE_ID_A)
    assert post_webhook(inbound_payload("999999999999999", "wamid.U1")).status_code == 200
    assert (
        post_webhook(envelope(PHONE_ID_A, {"event": "APPROVED"}, field="message_template_status_update")).status_code
        == 200
    )
    assert post_webhook(b'{"object": "page", "entry": []}').status_code == 200
    assert post_webhook(b"not json at all").status_code == 200
    assert sorted(process_pending()) == ["ignored", "ignored", "processed", "processed"]
    with tenant_context(clinic_a.clinic):
        assert InboundMessage.objects.count() == 0


def test_events_reach_only_the_clinic_that_connected_the_number(clinic_a, clinic_b, graph):
    connect(clinic_a, PHONE_ID_A)
    connect(clinic_b, PHONE_ID_B, token="token-b")
    post_webhook(inbound_payload(PHONE_ID_B, "wamid.B1", text="for beta"))
    post_webhook(inbound_payload(PHONE_ID_A, "wamid.A1", text="for alpha"))
    process_pending()
    with tenant_context(clinic_a.clinic):
        assert [m.body for m in InboundMessage.objects.all()] == ["for alpha"]
    with tenant_context(clinic_b.clinic):
        assert [m.body for m in InboundMessage.objects.all()] == ["for beta"]


def test_the_routing_table_follows_the_clinic_setting(clinic_a, clinic_b, graph):
    connect(clinic_a, PHONE_ID_A)
    assert sorted(VendorRoute.objects.values_list("account_id", "clinic_id")) == [
        (PHONE_ID_A, clinic_a.clinic.pk),
        (f"waba:{WABA_ID}", clinic_a.clinic.pk),  # template status webhooks name the business account
    ]
    connect(clinic_a, PHONE_ID_B)  # the clinic moved to another number
    assert sorted(VendorRoute.objects.values_list("account_id", flat=True)) == [PHONE_ID_B, f"waba:{WABA_ID}"]
    with pytest.raises(ValidationError):
        connect(clinic_b, PHONE_ID_B, token="token-b")  # taken by alpha
    with pytest.raises(ValidationError):
        vendor_routes_set(vendor="whatsapp", clinic=clinic_b.clinic, account_ids=[PHONE_ID_B])


def test_switching_whatsapp_on_without_credentials_is_reported_at_start_up(settings):
    settings.WHATSAPP_ENABLED = True
    settings.WHATSAPP_APP_SECRET = ""
    errors = check_whatsapp_credentials()
    assert [e.id for e in errors] == ["messaging.E001"] and "WHATSAPP_APP_SECRET" in errors[0].msg
    settings.WHATSAPP_ENABLED = False
    assert check_whatsapp_credentials() == []
