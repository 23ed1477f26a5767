"""The outbox: queued in the caller's transaction, dispatched over real HTTP to the fake Graph API,
retried with backoff, failed at once on permanent errors, never resent after a crash mid-send."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import services
from messaging.models import OutboundMessage
from tests.appointments.helpers import make_patient
from tests.messaging.conftest import PHONE_ID_A, connect, deliver, status_payload


def _send(patient, key="k1", **overrides):
    kwargs = {
        "patient": patient, "template_name": "appointment_reminder", "language": "en",
        "parameters": ["Asha", "Dr. Rao"], "idempotency_key": key, "related": ("tests.thing", "42"),
    }  # fmt: skip
    kwargs.update(overrides)
    return services.message_send_template(**kwargs)


def _dispatch(message, *, later: float = 0):
    now = timezone.now() + dt.timedelta(seconds=later)
    return services.message_dispatch(message_id=str(message.pk), now=now)


def test_a_configured_clinic_queues_then_sends_the_template(wa_a, graph):
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        assert (message.status, message.error) == ("queued", "")
        assert graph.requests == []  # nothing leaves inside the caller's transaction
        assert _dispatch(message) == "sent"
        message.refresh_from_db()
    assert message.status == "sent" and message.vendor_message_id == graph.sent()[0].message_id
    assert message.attempts == 1 and message.sent_at is not None
    body = graph.sent()[0].body
    assert body["to"] == "+919812345678" and body["template"]["name"] == "appointment_reminder"
    assert body["biz_opaque_callback_data"] == str(message.pk)


def test_dispatching_twice_sends_once(wa_a, graph):
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        assert [_dispatch(message), _dispatch(message)] == ["sent", "skipped"]
    assert len(graph.requests) == 1


def test_a_clinic_that_switched_whatsapp_off_keeps_a_clear_failure_reason(clinic_a, graph):
    connect(clinic_a, PHONE_ID_A, enabled=False)
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        message = _send(patient)
    assert (message.status, message.error) == ("failed", "whatsapp_not_configured")
    assert graph.requests == []


def test_a_minor_is_messaged_through_the_guardian(wa_a, graph):
    patient = make_patient(
        wa_a, date_of_birth=dt.date.today() - dt.timedelta(days=365 * 9), guardian_phone="+919900112233"
    )
    with tenant_context(wa_a.clinic):
        _dispatch(_send(patient))
    assert graph.sent()[0].body["to"] == "+919900112233"


def test_retryable_errors_back_off_and_then_send(wa_a, graph):
    patient = make_patient(wa_a)
    graph.script(status=429, retry_after=1)
    graph.script(status=400, code=131056)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        assert _dispatch(message) == "retry"
        message.refresh_from_db()
        assert (message.status, message.error, message.attempts) == ("queued", "2", 1)  # Meta: temporary
        assert message.next_attempt_at > timezone.now()
        assert _dispatch(message) == "skipped"  # not due yet
        assert _dispatch(message, later=5) == "retry"
        assert _dispatch(message, later=10) == "sent"
        message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("sent", "", 3)
    assert len(graph.requests) == 3 and len(graph.sent()) == 1


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after(settings):
    settings.WHATSAPP_RETRY_BASE_SECONDS, settings.WHATSAPP_RETRY_MAX_SECONDS = 2.0, 60.0
    delays = [services._backoff(attempt, None) for attempt in (1, 4) for _ in range(200)]
    assert all(0 <= d <= 2 for d in delays[:200]) and all(0 <= d <= 16 for d in delays[200:])
    assert max(delays[200:]) > 2  # grows
    assert len(set(delays)) > 100  # jitter
    assert services._backoff(1, 30) == 30


def test_retries_stop_after_the_configured_attempts(wa_a, graph, settings):
    settings.WHATSAPP_MAX_ATTEMPTS = 2
    graph.script(status=500, times=5)
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        assert [_dispatch(message), _dispatch(message, later=60)] == ["retry", "failed"]
        message.refresh_from_db()
    assert (message.status, message.error) == ("failed", "too_many_attempts")


@pytest.mark.parametrize(("code", "title"), [(131026, "Message undeliverable"), (131047, "Re-engagement message")])
def test_permanent_errors_fail_at_once_with_the_reason(wa_a, graph, code, title):
    graph.fail_recipient("+919812345678", code)
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        assert _dispatch(message) == "failed"
        message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("failed", str(code), 1)
    assert f"#{code}" in message.error_title and message.failed_at is not None


def test_consent_withdrawn_while_queued_stops_the_send(wa_a, graph):
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        patient.__class__.objects.filter(pk=patient.pk).update(whatsapp_opted_out_at=timezone.now())
        assert _dispatch(message) == "skipped"
        message.refresh_from_db()
    assert (message.status, message.error) == ("failed", "opted_out") and graph.requests == []


def test_the_sweeper_requeues_lost_enqueues_and_never_resends_a_crashed_send(wa_a, graph, settings):
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        waiting = _send(patient, key="waiting")
        crashed = _send(patient, key="crashed")
        # A worker took `crashed`, posted it, and was killed before its commit:
        OutboundMessage.objects.filter(pk=crashed.pk).update(
            status="sending", claimed_at=timezone.now() - dt.timedelta(hours=1), attempts=1
        )
        later = timezone.now() + dt.timedelta(seconds=settings.WHATSAPP_QUEUED_STALE_SECONDS + 1)
        assert services.outbox_sweep(now=later) == {"requeued": 1, "gave_up": 1}
        crashed.refresh_from_db()
        assert (crashed.status, crashed.error) == ("failed", "outcome_unknown")
        assert _dispatch(crashed) == "skipped"  # never sent again
        assert _dispatch(waiting) == "sent"
    assert len(graph.requests) == 1


def test_a_late_receipt_corrects_a_send_the_sweeper_gave_up_on(wa_a, graph):
    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        message = _send(patient)
        OutboundMessage.objects.filter(pk=message.pk).update(
            status="failed", error="outcome_unknown", failed_at=timezone.now()
        )
    # WhatsApp did send it: its receipt carries our id in biz_opaque_callback_data.
    deliver(status_payload(PHONE_ID_A, "wamid.LATE", "delivered", callback=str(message.pk)))
    with tenant_context(wa_a.clinic):
        message.refresh_from_db()
    assert (message.status, message.vendor_message_id, message.error) == ("delivered", "wamid.LATE", "")
    assert message.sent_at is not None and message.delivered_at is not None and message.failed_at is None


def test_a_message_is_rolled_back_with_the_callers_transaction(wa_a, graph):
    from django.db import transaction

    patient = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        with pytest.raises(RuntimeError), transaction.atomic():
            _send(patient)
            raise RuntimeError("the business change failed")
        assert not OutboundMessage.objects.exists()


def test_text_messages_need_the_24_hour_window(wa_a, graph):
    from django.core.exceptions import ValidationError

    from messaging.models import Contact

    with tenant_context(wa_a.clinic):
        contact = Contact.objects.create(wa_id="919812345678", last_inbound_at=timezone.now() - dt.timedelta(hours=25))
        with pytest.raises(ValidationError) as refused:
            services.message_send_text(contact=contact, body="Hello", idempotency_key="t1")
        assert "template" in str(refused.value)
        contact.last_inbound_at = timezone.now()
        message = services.message_send_text(contact=contact, body="Hello", idempotency_key="t1")
        assert _dispatch(message) == "sent"
    assert graph.sent()[0].body["text"]["body"] == "Hello"


def test_the_console_test_message_shows_the_real_result(wa_a, graph):
    with tenant_context(wa_a.clinic):
        sent = services.whatsapp_send_test(actor=None, to_number="98450 12345")
        graph.fail_recipient("+919845012346", 131026)
        failed = services.whatsapp_send_test(actor=None, to_number="98450 12346")
    assert sent.status == "sent" and sent.vendor_message_id.startswith("wamid.")
    assert graph.sent()[0].body["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    assert (failed.status, failed.error) == ("failed", "131026")
