"""The staff WhatsApp inbox: conversations, branch scoping, replies inside the 24-hour window,
templates outside it, opt-out, mark read, capabilities."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditEvent
from messaging import services
from messaging.models import Contact, OutboundMessage
from tests.appointments.helpers import make_patient
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload

PASSWORD = "correct-horse-battery-42"


def _write(seeded, wamid, *, text="Hello doctor", wa_id="919812345678", user_id=None, name="Asha Verma", ago=0):
    deliver(
        inbound_payload(
            PHONE_ID_A, wamid, text=text, wa_id=wa_id, user_id=user_id, name=name, ts=int(time.time()) - ago
        )
    )
    with tenant_context(seeded.clinic):
        return Contact.objects.get(wa_id=wa_id) if wa_id else Contact.objects.get(user_id=user_id)


def _restricted(seeded, role="front_desk", location_index=1):
    with tenant_context(seeded.clinic):
        user = User.objects.create_user(
            f"{uuid.uuid4().hex[:6]}@alpha.example.in",
            PASSWORD,
            full_name="One Branch",
            role=Role.objects.get(slug=role),
        )
        user.locations.set([seeded.locations[location_index]])
    return user


def test_the_inbox_lists_conversations_newest_first_with_unread_counts(wa_a, client_for, clock):
    make_patient(wa_a, given_name="Asha", phone="+919812345678")
    make_patient(wa_a, given_name="Ravi", family_name="Kumar", phone="+919876500001")
    _write(wa_a, "wamid.A1", text="Namaste, report ready?", ago=600)
    _write(wa_a, "wamid.A2", text="Kal aa sakti hoon?", ago=300)
    _write(wa_a, "wamid.R1", wa_id="919876500001", name="Ravi", ago=60)
    page = client_for(wa_a, "front_desk").get("/inbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Ravi Kumar") < html.index("Asha Verma")  # newest first
    assert "2 unread" in html and "1 unread" in html


def test_an_empty_inbox_says_what_will_appear_there(wa_a, client_for):
    html = client_for(wa_a, "front_desk").get("/inbox/").content.decode()
    assert "No WhatsApp conversations yet" in html


def test_a_one_branch_front_desk_sees_only_conversations_of_patients_they_may_open(wa_a, client_for, clock):
    make_patient(wa_a, given_name="Eastern", registered_location=wa_a.locations[0], phone="+919812345678")
    make_patient(wa_a, given_name="Mainly", registered_location=wa_a.locations[1], phone="+919876500002")
    east = _write(wa_a, "wamid.E1")
    main = _write(wa_a, "wamid.M1", wa_id="919876500002", name="Mainly")
    stranger = _write(wa_a, "wamid.S1", wa_id="919800000099", name="Unknown Person")
    desk = client_for(wa_a).login_as(_restricted(wa_a))
    html = desk.get("/inbox/").content.decode()
    assert "Mainly" in html and "Eastern" not in html and "Unknown Person" not in html
    assert desk.get(f"/inbox/{main.pk}/").status_code == 200
    assert desk.get(f"/inbox/{east.pk}/").status_code == 404
    assert desk.get(f"/inbox/{stranger.pk}/").status_code == 404  # no patient: no branch, whole-clinic staff only
    assert desk.get(f"/inbox/{uuid.uuid4()}/").status_code == 404
    assert desk.post(f"/inbox/{east.pk}/reply/", {"body": "x", "key": str(uuid.uuid4())}).status_code == 404
    owner = client_for(wa_a, "owner")
    assert "Unknown Person" in owner.get("/inbox/").content.decode()
    assert owner.get(f"/inbox/{stranger.pk}/").status_code == 200


def test_filters_by_branch_unread_and_opted_out(wa_a, client_for, clock):
    make_patient(wa_a, given_name="Eastern", registered_location=wa_a.locations[0], phone="+919812345678")
    make_patient(wa_a, given_name="Mainly", registered_location=wa_a.locations[1], phone="+919876500002")
    east = _write(wa_a, "wamid.E1")
    _write(wa_a, "wamid.M1", wa_id="919876500002", name="Mainly")
    _write(wa_a, "wamid.M2", wa_id="919876500002", text="STOP", name="Mainly")
    owner = client_for(wa_a, "owner")
    html = owner.get(f"/inbox/?location={wa_a.locations[0].pk}").content.decode()
    assert "Eastern" in html and "Mainly" not in html
    html = owner.get("/inbox/?show=opted_out").content.decode()
    assert "Mainly" in html and "Eastern" not in html and "Opted out" in html
    owner.post(f"/inbox/{east.pk}/read/")
    html = owner.get("/inbox/?show=unread").content.decode()
    assert "Mainly" in html and "Eastern" not in html
    html = owner.get("/inbox/?show=unread&location=" + str(wa_a.locations[0].pk)).content.decode()
    assert "No conversations match these filters." in html
    desk = client_for(wa_a).login_as(_restricted(wa_a))
    assert desk.get(f"/inbox/?location={wa_a.locations[0].pk}").status_code == 404  # not their branch


def test_the_conversation_shows_both_ways_with_delivery_status_and_the_failure_sentence(wa_a, client_for, graph, clock):
    patient = make_patient(wa_a, given_name="Asha", phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", text="Mera report kab milega?")
    with tenant_context(wa_a.clinic):
        delivered = services.message_send_template(
            patient=patient, template_name="prescription_ready", language="en", parameters=["Asha"],
            idempotency_key="t-ok",
        )  # fmt: skip
        services.message_dispatch(message_id=str(delivered.pk))
        delivered.refresh_from_db()
        services.message_status_update(delivered.vendor_message_id, "delivered")
        failed = services.message_send_template(
            patient=patient, template_name="payment_link", language="en", parameters=["Asha"], idempotency_key="t-bad"
        )
        OutboundMessage.objects.filter(pk=failed.pk).update(
            status="failed", error="131026", error_title="Message undeliverable"
        )
    html = client_for(wa_a, "front_desk").get(f"/inbox/{contact.pk}/").content.decode()
    assert "Mera report kab milega?" in html
    assert "prescription_ready" in html and "Delivered" in html
    assert "WhatsApp did not deliver it: Message undeliverable (error 131026)." in html
    assert f'href="/patients/{patient.pk}/"' in html


def test_a_reply_inside_the_window_is_queued_once_and_audited(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", text="Can I come at 5?")
    desk = client_for(wa_a, "front_desk")
    key = str(uuid.uuid4())
    for _ in range(2):  # a double submit
        response = desk.post(f"/inbox/{contact.pk}/reply/", {"body": "Haan, 5 baje aa jaiye.", "key": key})
        assert response.status_code == 302
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(contact=contact)
        assert (message.kind, message.body, message.status) == ("text", "Haan, 5 baje aa jaiye.", "queued")
        event = AuditEvent.objects.get(action="message.send_text")
        assert event.actor_id == wa_a.users["front_desk"].pk
        contact.refresh_from_db()
        assert contact.read_up_to is not None
    html = desk.get(f"/inbox/{contact.pk}/").content.decode()
    assert "Haan, 5 baje aa jaiye." in html and "Queued" in html


def test_after_24_hours_a_reply_is_refused_and_an_approved_template_is_offered(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", ago=25 * 3600)
    desk = client_for(wa_a, "front_desk")
    html = desk.get(f"/inbox/{contact.pk}/").content.decode()
    assert "More than 24 hours have passed" in html and "Send template" in html and "Send reply" not in html
    refused = desk.post(f"/inbox/{contact.pk}/reply/", {"body": "Hello", "key": str(uuid.uuid4())})
    assert refused.status_code == 400 and "only an approved" in refused.content.decode()
    sent = desk.post(f"/inbox/{contact.pk}/template/", {"template": "conversation_reopen:hi", "key": str(uuid.uuid4())})
    assert sent.status_code == 302
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(patient=patient)
        assert (message.template_name, message.language, message.status) == ("conversation_reopen", "hi", "queued")
        assert message.parameters == ["Asha", "Alpha Clinic"]
        assert AuditEvent.objects.filter(action="message.send_inbox_template").exists()


def test_nothing_can_be_sent_to_an_opted_out_patient(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1", text="STOP")
    desk = client_for(wa_a, "front_desk")
    html = desk.get(f"/inbox/{contact.pk}/").content.decode()
    assert "Opted out." in html and "Send reply" not in html
    refused = desk.post(f"/inbox/{contact.pk}/reply/", {"body": "Please confirm", "key": str(uuid.uuid4())})
    assert refused.status_code == 400 and "opted out of WhatsApp messages" in refused.content.decode()
    refused = desk.post(
        f"/inbox/{contact.pk}/template/", {"template": "conversation_reopen:en", "key": str(uuid.uuid4())}
    )
    assert refused.status_code == 400
    with tenant_context(wa_a.clinic):
        assert (
            not OutboundMessage.objects.filter(contact=contact, purpose="reply")
            .exclude(idempotency_key__startswith="keyword:")
            .exists()
        )
        assert OutboundMessage.objects.filter(purpose="notification").count() == 0


def test_mark_read_clears_the_unread_count_for_the_clinic(wa_a, client_for, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1")
    assert "1 unread" in client_for(wa_a, "doctor").get("/inbox/").content.decode()
    assert client_for(wa_a, "front_desk").post(f"/inbox/{contact.pk}/read/").status_code == 302
    assert "unread" not in client_for(wa_a, "doctor").get("/inbox/").content.decode().split("<tbody>")[1]
    with tenant_context(wa_a.clinic):
        assert AuditEvent.objects.filter(action="conversation.mark_read").count() == 1
    clock.shift(dt.timedelta(minutes=5))
    _write(wa_a, "wamid.A2", text="One more thing")
    assert "1 unread" in client_for(wa_a, "doctor").get("/inbox/").content.decode()


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "no_role"])
def test_staff_without_the_inbox_capability_are_refused(wa_a, client_for, role, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1")
    client = client_for(wa_a, role)
    assert client.get("/inbox/").status_code == 403
    assert client.get(f"/inbox/{contact.pk}/").status_code == 403
    assert client.post(f"/inbox/{contact.pk}/reply/", {"body": "x", "key": str(uuid.uuid4())}).status_code == 403


def test_the_window_closes_24_hours_after_the_last_message(wa_a, clock):
    make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.A1")
    from messaging.selectors import window_closes_at

    with tenant_context(wa_a.clinic):
        contact.refresh_from_db()
        assert window_closes_at(contact) == contact.last_inbound_at + dt.timedelta(hours=24)
        clock.shift(dt.timedelta(hours=24, seconds=1))
        assert window_closes_at(contact) is None
        assert timezone.now() > contact.last_inbound_at


def test_a_refused_reply_is_listed_in_the_error_summary_that_takes_focus(wa_a, client_for, clock):
    """The inbox forms report errors like every other form (docos error summary, links to the field)."""
    make_patient(wa_a, given_name="Asha", phone="+919812345678")
    contact = _write(wa_a, "wamid.ES1")
    desk = client_for(wa_a, "front_desk")
    response = desk.post(f"/inbox/{contact.pk}/reply/", {"body": "", "key": str(uuid.uuid4())})
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html and 'href="#id_body"' in html
