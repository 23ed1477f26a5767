"""The inbox API: conversations, their messages both ways, replies and templates, mark read."""

from __future__ import annotations

import time
import uuid

from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import services
from messaging.models import Contact, OutboundMessage
from tests.accounts.api_helpers import make_token
from tests.appointments.helpers import make_patient
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload


def _api(client_for, seeded, role="front_desk"):
    token = make_token(seeded, seeded.users[role])
    return client_for(seeded, HTTP_AUTHORIZATION=f"Bearer {token}")


def _write(seeded, wamid, *, text="Hello", wa_id="919812345678", name="Asha Verma", ago=0):
    deliver(inbound_payload(PHONE_ID_A, wamid, text=text, wa_id=wa_id, name=name, ts=int(time.time()) - ago))
    with tenant_context(seeded.clinic):
        return Contact.objects.get(wa_id=wa_id)


def test_conversations_are_listed_with_unread_counts_and_the_window(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", text="Namaste")
    _write(wa_a, "wamid.A2", text="Report?")
    body = _api(client_for, wa_a).get("/api/v1/conversations").json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["id"] == str(contact.pk) and row["patient"]["id"] == str(patient.pk)
    assert (row["unread_count"], row["opted_out"], row["phone"]) == (2, False, "+919812345678")
    assert row["window_closes_at"] is not None and row["location"]["name"] == "East branch"
    assert _api(client_for, wa_a).get(f"/api/v1/conversations?patient={patient.pk}").json()["count"] == 1
    assert _api(client_for, wa_a).get("/api/v1/conversations?opted_out=true").json()["count"] == 0
    assert _api(client_for, wa_a).get(f"/api/v1/conversations?patient={uuid.uuid4()}").status_code == 404


def test_messages_come_newest_first_with_status_and_failure(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", text="Mujhe report chahiye", ago=60)
    with tenant_context(wa_a.clinic):
        failed = services.message_send_template(
            patient=patient, template_name="payment_link", language="en", parameters=["Asha"], idempotency_key="k"
        )
        OutboundMessage.objects.filter(pk=failed.pk).update(status="failed", error="131047", error_title="")
    body = _api(client_for, wa_a).get(f"/api/v1/conversations/{contact.pk}/messages").json()
    out, inbound = body["results"]
    assert (inbound["direction"], inbound["text"], inbound["status"]) == ("in", "Mujhe report chahiye", "")
    assert (out["direction"], out["status"], out["template_name"]) == ("out", "failed", "payment_link")
    assert out["failure"] == "WhatsApp did not deliver it: Re-engagement message (error 131047)."


def test_a_reply_is_queued_once_per_idempotency_key_and_audited(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1")
    api = _api(client_for, wa_a)
    url = f"/api/v1/conversations/{contact.pk}/messages"
    payload = {"body": "Aap 5 baje aa jaiye.", "idempotency_key": "reply-1"}
    first = api.post(url, payload, content_type="application/json")
    second = api.post(url, payload, content_type="application/json")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and first.json()["status"] == "queued"
    with tenant_context(wa_a.clinic):
        assert OutboundMessage.objects.filter(contact=contact).count() == 1
        assert AuditEvent.objects.get(action="message.send_text").actor_id == wa_a.users["front_desk"].pk


def test_outside_the_window_a_reply_is_a_400_and_a_template_goes(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", ago=2 * 86400)
    api = _api(client_for, wa_a)
    url = f"/api/v1/conversations/{contact.pk}/messages"
    refused = api.post(url, {"body": "Hello"}, content_type="application/json")
    assert refused.status_code == 400
    assert "24 hours" in refused.json()["error"]["fields"]["body"][0]
    sent = api.post(url, {"template": "conversation_reopen:en"}, content_type="application/json")
    assert sent.status_code == 201 and sent.json()["template_name"] == "conversation_reopen"
    both = api.post(url, {"template": "conversation_reopen:en", "body": "x"}, content_type="application/json")
    assert both.status_code == 400


def test_an_opted_out_person_gets_nothing(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", text="STOP")
    refused = _api(client_for, wa_a).post(
        f"/api/v1/conversations/{contact.pk}/messages", {"body": "Hi"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "opted out" in refused.json()["error"]["fields"]["body"][0]


def test_mark_read_and_capabilities(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1")
    read = _api(client_for, wa_a).post(f"/api/v1/conversations/{contact.pk}/read")
    assert read.status_code == 200 and read.json()["unread_count"] == 0
    nurse = _api(client_for, wa_a, "nurse")
    assert nurse.get("/api/v1/conversations").status_code == 403
    assert nurse.get(f"/api/v1/conversations/{contact.pk}/messages").status_code == 403
    assert _api(client_for, wa_a, "front_desk").get(f"/api/v1/conversations/{uuid.uuid4()}").status_code == 404
