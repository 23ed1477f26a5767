"""The outbox asks the consent log (patients.consents) when a message is queued and again when a
worker picks it up: reminders and notifications need `whatsapp_reminders`, a MARKETING template
needs `marketing`, a minor's need the guardian's consent; replies to a person who wrote in stay
allowed. A withdrawal fails the queued messages at once; STOP and START write log rows."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import services
from messaging.models import Contact, MessageTemplate, OutboundMessage
from patients import consents
from patients.models import PatientConsent
from tests.appointments.helpers import make_patient
from tests.clock import CLINIC_MORNING
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload


@pytest.fixture
def pinned():
    with time_machine.travel(CLINIC_MORNING, tick=True) as traveller:
        yield traveller


def _send(patient, key="k1", template="appointment_reminder"):
    return services.message_send_template(
        patient=patient, template_name=template, language="en", parameters=["Asha"], idempotency_key=key
    )


def _dispatch(message):
    return services.message_dispatch(message_id=str(message.pk), now=timezone.now())


def _granted(patient, purpose="whatsapp_reminders", **kwargs):
    return consents.consent_record(patient=patient, purpose=purpose, channel="in_person", actor=None, **kwargs)


def _marketing_template():
    MessageTemplate.objects.update_or_create(
        name="monsoon_checkup_offer",
        language="en",
        defaults={"category": MessageTemplate.Category.MARKETING, "body": "Hello {{1}}, a checkup offer."},
    )


def test_withdrawing_after_queueing_fails_the_message_at_once_and_nothing_is_sent(wa_a, graph, pinned):
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        _granted(patient)
        message = _send(patient)
        assert message.status == "queued"
        consents.consent_withdraw(patient=patient, purpose="whatsapp_reminders", channel="phone", actor=None)
        message.refresh_from_db()
        assert (message.status, message.error) == ("failed", "consent_withdrawn")
        assert _dispatch(message) == "skipped"
    assert graph.requests == []


def test_the_worker_checks_consent_again_at_pickup(wa_a, graph, pinned):
    """A withdrawal that reached the log without the listener (another process, a restore) still stops it."""
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        _granted(patient)
        message = _send(patient)
        PatientConsent.objects.create(
            patient=patient, purpose="whatsapp_reminders", action="withdrawn", channel="whatsapp",
            recorded_at=timezone.now() + dt.timedelta(seconds=1),
        )  # fmt: skip
        assert message.status == "queued"
        assert _dispatch(message) == "skipped"
        message.refresh_from_db()
        assert (message.status, message.error) == ("failed", "consent_withdrawn")
        assert "withdrew consent" in services.failure_sentence(message.error, message.error_title)
    assert graph.requests == []


def test_a_marketing_template_needs_marketing_consent(wa_a, graph, pinned):
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        _marketing_template()
        _granted(patient)  # reminders only
        refused = _send(patient, "m1", template="monsoon_checkup_offer")
        assert (refused.status, refused.error) == ("failed", "no_marketing_consent")
        assert _send(patient, "r1").status == "queued"  # a reminder still goes
        _granted(patient, "marketing")
        allowed = _send(patient, "m2", template="monsoon_checkup_offer")
        assert allowed.status == "queued"
        # Withdrawing marketing fails queued marketing messages only.
        consents.consent_withdraw(patient=patient, purpose="marketing", channel="phone", actor=None)
        allowed.refresh_from_db()
        assert (allowed.status, allowed.error) == ("failed", "consent_withdrawn")
        assert OutboundMessage.objects.get(idempotency_key="r1").status == "queued"
        assert services.FAILURE_SENTENCES["no_marketing_consent"].startswith("The patient has not agreed")


def test_marketing_consent_granted_after_queueing_is_checked_at_pickup(wa_a, graph, pinned):
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        _marketing_template()
        _granted(patient, "marketing")
        message = _send(patient, "m1", template="monsoon_checkup_offer")
        PatientConsent.objects.create(
            patient=patient, purpose="marketing", action="withdrawn", channel="web_form",
            recorded_at=timezone.now() + dt.timedelta(seconds=1),
        )  # fmt: skip
        assert _dispatch(message) == "skipped"
        message.refresh_from_db()
        assert message.error == "consent_withdrawn"
    assert graph.requests == []


def test_a_minors_reminders_need_the_guardians_recorded_consent(wa_a, graph, pinned):
    child = make_patient(
        wa_a, consent=False, given_name="Aarav", date_of_birth=dt.date(2016, 3, 14), phone="",
        guardian_name="Suresh Iyer", guardian_relation="Father", guardian_phone="+919812345678",
    )  # fmt: skip
    with tenant_context(wa_a.clinic):
        _granted(child)  # recorded as the child's own: not enough
        refused = _send(child, "c1")
        assert (refused.status, refused.error) == ("failed", "guardian_consent_needed")
        assert "guardian" in services.failure_sentence(refused.error)
        _granted(child, given_by="guardian")
        message = _send(child, "c2")
        assert (message.status, message.to_number) == ("queued", "+919812345678")
        assert _dispatch(message) == "sent"


def test_a_reply_to_someone_who_wrote_in_is_allowed_after_a_withdrawal(wa_a, graph, pinned):
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        _granted(patient)
        contact = Contact.objects.create(wa_id="919812345678", patient=patient, last_inbound_at=timezone.now())
        reply = services.message_send_text(
            contact=contact, body="Your report is ready at the desk.", idempotency_key="t1"
        )
        consents.consent_withdraw(patient=patient, purpose="whatsapp_reminders", channel="phone", actor=None)
        reply.refresh_from_db()
        assert reply.status == "queued"
        assert _dispatch(reply) == "sent"


@pytest.mark.parametrize(("stop", "start"), [("STOP", "START"), ("बंद करें", "शुरू करें")])
def test_stop_and_start_over_whatsapp_write_log_rows(wa_a, graph, stop, start):
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        _granted(patient)
        _granted(patient, "marketing")
        queued = _send(patient)
    deliver(inbound_payload(PHONE_ID_A, "wamid.S1", text=stop))
    with tenant_context(wa_a.clinic):
        rows = list(PatientConsent.objects.filter(patient=patient, channel="whatsapp"))
        assert sorted((r.purpose, r.action) for r in rows) == [
            ("marketing", "withdrawn"), ("whatsapp_reminders", "withdrawn"),
        ]  # fmt: skip
        queued.refresh_from_db()
        assert (queued.status, queued.error) == ("failed", "consent_withdrawn")
    deliver(inbound_payload(PHONE_ID_A, "wamid.S2", text=start))
    with tenant_context(wa_a.clinic):
        latest = consents.consent_latest(patient, "whatsapp_reminders")
        assert latest is not None and (latest.action, latest.channel) == ("granted", "whatsapp")
        assert consents.consent_allows(patient, "whatsapp_reminders") == (True, "")
        # START brings back messages, not marketing: that needs its own consent.
        assert consents.consent_allows(patient, "marketing") == (False, "consent_withdrawn")
        assert _send(patient, "k2").status == "queued"


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        ("consent_withdrawn", "The patient withdrew consent to these messages (consent log)."),
        ("guardian_consent_needed", "The patient is a minor: these messages need the guardian's recorded consent."),
        ("no_marketing_consent", "The patient has not agreed to marketing messages."),
    ],
)
def test_consent_refusals_read_as_sentences_where_reminder_statuses_are_shown(reason, sentence):
    from appointments.models import Reminder

    message = OutboundMessage(error=reason)
    assert services.failure_sentence(reason) == sentence
    assert Reminder(reason=reason, message=message).reason_text == sentence
