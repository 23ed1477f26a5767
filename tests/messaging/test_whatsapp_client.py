"""messaging.whatsapp against the fake Graph API over real HTTP: request shapes and error mapping."""

from __future__ import annotations

import socket

import pytest

from messaging import whatsapp
from messaging.whatsapp import Credentials, VendorError

CREDS = Credentials(phone_number_id="106540352242922", access_token="token-a")


def _template(**overrides):
    kwargs = {"to": "+919812345678", "user_id": "", "name": "appointment_reminder", "language": "en"}
    kwargs.update(overrides)
    return whatsapp.template_payload(body_parameters=["Asha", "Dr. Rao"], callback_data="cb-1", **kwargs)


def test_a_template_is_posted_to_the_versioned_messages_endpoint(graph):
    result = whatsapp.send(CREDS, _template())
    assert result.message_id.startswith("wamid.") and result.wa_id == "919812345678"
    (request,) = graph.requests
    assert request.path == "/v27.0/106540352242922/messages"
    assert request.authorization == "Bearer token-a"
    assert request.body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "+919812345678", "type": "template",
        "template": {
            "name": "appointment_reminder", "language": {"code": "en"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Asha"}, {"type": "text", "text": "Dr. Rao"}]}],
        },
        "biz_opaque_callback_data": "cb-1",
    }  # fmt: skip


def test_the_graph_version_is_a_setting(graph, settings):
    settings.WHATSAPP_GRAPH_VERSION = "v28.0"
    whatsapp.send(CREDS, whatsapp.text_payload(to="+919812345678", user_id="", body="Hi"))
    assert graph.requests[0].path == "/v28.0/106540352242922/messages"


def test_a_user_without_a_phone_number_is_addressed_by_business_scoped_id(graph):
    result = whatsapp.send(CREDS, whatsapp.text_payload(to="", user_id="IN.1502576394655843", body="Hi"))
    assert graph.requests[0].body["recipient"] == "IN.1502576394655843" and "to" not in graph.requests[0].body
    assert result.user_id == "IN.1502576394655843"


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (429, None, False),
        (500, None, False),
        (503, None, False),
        (400, 130429, False),
        (400, 131056, False),
        (400, 131047, True),
        (400, 131026, True),
        (400, 131050, True),
        (400, 132000, True),
        (400, 132001, True),
        (400, 132018, True),
        (401, 190, True),
    ],
)
def test_meta_errors_map_to_retryable_or_permanent(graph, status, code, permanent):
    graph.script(status=status, code=code, retry_after=7 if status == 429 else None)
    with pytest.raises(VendorError) as failed:
        whatsapp.send(CREDS, _template())
    assert failed.value.permanent is permanent
    if code is not None:
        assert (failed.value.code == str(code) and f"#{code}" in failed.value.message) or code == 190
    if status == 429:
        assert failed.value.retry_after == 7


def test_the_fake_validates_requests_as_meta_does(graph):
    bad = _template()
    del bad["messaging_product"]
    with pytest.raises(VendorError) as failed:
        whatsapp.send(CREDS, bad)
    assert (failed.value.code, failed.value.permanent) == ("100", True)
    with pytest.raises(VendorError) as failed:
        whatsapp.send(CREDS, whatsapp.text_payload(to="+919812345678", user_id="", body="x" * 4097))
    assert failed.value.code == "100"


def test_network_errors_are_retryable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.WHATSAPP_GRAPH_BASE_URL = f"http://127.0.0.1:{port}"  # nothing listens
    with pytest.raises(VendorError) as failed:
        whatsapp.send(CREDS, _template())
    assert (failed.value.code, failed.value.permanent) == ("network", False)


def test_webhook_payloads_parse_into_typed_items():
    import json

    from tests.messaging.conftest import inbound_payload, status_payload

    (status,) = whatsapp.parse_webhook(
        json.dumps(
            status_payload("1", "wamid.S", "failed", errors=[{"code": 131026, "title": "Message undeliverable"}])
        ).encode()
    )
    assert (status.account_id, status.kind) == ("1", "status")
    assert (status.payload.status, status.payload.error_code, status.payload.error_title) == (
        "failed", "131026", "Message undeliverable",
    )  # fmt: skip
    (message,) = whatsapp.parse_webhook(json.dumps(inbound_payload("1", "wamid.M", button=("Confirm", "c:1"))).encode())
    update = message.payload
    assert (update.kind, update.text, update.reply_id, update.from_user_id) == (
        "button",
        "Confirm",
        "c:1",
        "IN.1502576394655843",
    )
    with pytest.raises(ValueError):
        whatsapp.parse_webhook(b"[]")
