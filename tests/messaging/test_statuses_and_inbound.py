"""Status webhooks (out of order, deduped, pricing) and inbound messages (contacts, buttons, STOP/START)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import services
from messaging.models import Contact, InboundMessage, OutboundMessage, StatusReceipt
from patients.models import Patient
from tests.appointments.helpers import make_patient
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload, status_payload


def _sent_message(seeded, graph):
    patient = make_patient(seeded)
    with tenant_context(seeded.clinic):
        message = services.message_send_template(
            patient=patient, template_name="appointment_reminder", language="en", parameters=["Asha"],
            idempotency_key="s1", related=("tests.thing", "1"),
        )  # fmt: skip
        services.message_dispatch(message_id=str(message.pk))
        message.refresh_from_db()
    return message


def test_statuses_move_forward_only_whatever_order_they_arrive_in(wa_a, graph, monkeypatch):
    seen: list[str] = []
    monkeypatch.setitem(services._LISTENERS, "tests.thing", [lambda m: seen.append(m.status)])
    message = _sent_message(wa_a, graph)
    wamid = message.vendor_message_id
    deliver(status_payload(PHONE_ID_A, wamid, "read"))
    deliver(status_payload(PHONE_ID_A, wamid, "delivered", category="utility"))  # late
    deliver(status_payload(PHONE_ID_A, wamid, "sent"))  # later still
    deliver(status_payload(PHONE_ID_A, wamid, "read"))  # a replay with another timestamp
    deliver(status_payload(PHONE_ID_A, wamid, "failed", errors=[{"code": 131026, "title": "Message undeliverable"}]))
    with tenant_context(wa_a.clinic):
        message.refresh_from_db()
        assert StatusReceipt.objects.filter(vendor_message_id=wamid).count() == 4
    assert (message.status, message.error) == ("read", "")
    assert message.delivered_at is not None and message.read_at is not None
    assert message.pricing_category == "utility"
    assert seen == ["sent", "read", "read"]  # dispatch, the read receipt, the pricing from "delivered"


def test_a_failed_status_shows_metas_code_and_title(wa_a, graph):
    message = _sent_message(wa_a, graph)
    deliver(
        status_payload(
            PHONE_ID_A,
            message.vendor_message_id,
            "failed",
            errors=[{"code": 131050, "title": "User stopped marketing"}],
        )
    )
    deliver(status_payload(PHONE_ID_A, message.vendor_message_id, "delivered"))  # after failed: ignored
    with tenant_context(wa_a.clinic):
        message.refresh_from_db()
    assert (message.status, message.error, message.error_title) == ("failed", "131050", "User stopped marketing")


def test_an_inbound_text_creates_a_contact_linked_to_the_patient_with_an_encrypted_body(wa_a, graph):
    patient = make_patient(wa_a)
    payload = inbound_payload(PHONE_ID_A, "wamid.IN1", text="Is the clinic open on Sunday?")
    deliver(payload)
    deliver(payload)  # redelivered
    with tenant_context(wa_a.clinic):
        contact = Contact.objects.get()
        (message,) = InboundMessage.objects.all()
        assert (contact.user_id, contact.wa_id, contact.patient_id) == (
            "IN.1502576394655843",
            "919812345678",
            patient.pk,
        )
        assert contact.profile == {"name": "Asha Verma"} and contact.last_inbound_at is not None
        assert (message.kind, message.body, message.contact_id) == ("text", "Is the clinic open on Sunday?", contact.pk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT body FROM messaging_inboundmessage")
            assert b"Sunday" not in bytes(cursor.fetchone()[0])
        event = AuditEvent.objects.get(action="message.receive")
        assert event.metadata == {"kind": "text"}


def test_a_user_without_a_phone_number_is_kept_by_business_scoped_id(wa_a, graph):
    deliver(inbound_payload(PHONE_ID_A, "wamid.U1", wa_id=None, user_id="IN.777"))
    deliver(inbound_payload(PHONE_ID_A, "wamid.U2", wa_id=None, user_id="IN.777"))
    with tenant_context(wa_a.clinic):
        contact = Contact.objects.get()
        assert (contact.user_id, contact.wa_id, contact.patient_id) == ("IN.777", None, None)
        assert contact.inbound_messages.count() == 2


def test_a_button_reply_is_stored_with_its_payload(wa_a, graph):
    deliver(inbound_payload(PHONE_ID_A, "wamid.B1", button=("Confirm", "appointment:confirm:42")))
    with tenant_context(wa_a.clinic):
        message = InboundMessage.objects.get()
    assert (message.kind, message.body, message.context_message_id) == ("button", "Confirm", "wamid.ORIGINAL")
    assert message.payload == {"reply_id": "appointment:confirm:42"}


@pytest.mark.parametrize("word", ["STOP", "stop.", "Unsubscribe", "बंद करें", "रोकें"])
def test_stop_opts_the_patient_out_and_confirms_once(wa_a, graph, word):
    patient = make_patient(wa_a)
    deliver(inbound_payload(PHONE_ID_A, "wamid.S1", text=word))
    deliver(inbound_payload(PHONE_ID_A, "wamid.S2", text=word))  # again: no second confirmation
    with tenant_context(wa_a.clinic):
        patient.refresh_from_db()
        assert patient.whatsapp_opted_out_at is not None
        assert Contact.objects.get().opted_out_at is not None
        (reply,) = OutboundMessage.objects.filter(kind="text")
        assert reply.purpose == "reply" and "no longer receive" in reply.body
        assert AuditEvent.objects.filter(action="patient.whatsapp_opt_out").count() == 1
        # The confirmation goes out although the patient just opted out; notifications do not.
        assert services.message_dispatch(message_id=str(reply.pk)) == "sent"
        refused = services.message_send_template(
            patient=patient, template_name="appointment_reminder", language="en", parameters=[], idempotency_key="n1"
        )
        # A STOP is a withdrawal in the consent log (patients.consents), named as such.
        assert (refused.status, refused.error) == ("failed", "consent_withdrawn")
    assert graph.sent()[0].body["text"]["body"].startswith("You will no longer receive")


def test_start_opts_back_in(wa_a, graph):
    patient = make_patient(wa_a, whatsapp_opted_out_at=timezone.now())
    deliver(inbound_payload(PHONE_ID_A, "wamid.S1", text="START"))
    with tenant_context(wa_a.clinic):
        patient.refresh_from_db()
        assert patient.whatsapp_opted_out_at is None and patient.whatsapp_consent_source == "whatsapp"
        assert OutboundMessage.objects.filter(kind="text", purpose="reply").count() == 1
        message = services.message_send_template(
            patient=patient, template_name="appointment_reminder", language="en", parameters=[], idempotency_key="n1"
        )
        assert message.status == "queued"


def test_stop_reaches_every_patient_messaged_on_that_number(wa_a, graph):
    import datetime as dt

    adult = make_patient(wa_a, phone="+919812345678")
    child = make_patient(
        wa_a, phone="", guardian_phone="+919812345678", date_of_birth=dt.date.today() - dt.timedelta(days=365 * 6)
    )
    deliver(inbound_payload(PHONE_ID_A, "wamid.S1", text="STOP"))
    with tenant_context(wa_a.clinic):
        assert Patient.objects.filter(pk__in=[adult.pk, child.pk], whatsapp_opted_out_at__isnull=False).count() == 2
        assert Contact.objects.get().patient_id is None  # two patients on one number: staff choose
