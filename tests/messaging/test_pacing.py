"""Outbound pacing: a Redis token bucket per business phone number, shared by every worker."""

from __future__ import annotations

import threading
import time
import uuid

from django_tenants.utils import tenant_context

from messaging import pacing, services
from messaging.models import OutboundMessage
from tests.appointments.helpers import make_patient


def _number() -> str:
    return str(uuid.uuid4().int % 10**15)


def test_a_token_is_taken_then_the_next_waits_one_interval(db):
    number = _number()
    assert pacing.acquire(number, per_second=10) == 0.0
    wait = pacing.acquire(number, per_second=10)
    assert 0.09 < wait <= 0.1 / pacing.HEADROOM


def test_numbers_have_their_own_buckets(db):
    assert pacing.acquire(_number(), per_second=1) == 0.0
    assert pacing.acquire(_number(), per_second=1) == 0.0


def test_concurrent_senders_together_never_exceed_the_rate(db):
    number, rate, taken = _number(), 40.0, []
    lock = threading.Lock()
    stop = time.monotonic() + 1.5

    def sender() -> None:
        # Each grant is timed by the slot the limiter handed out (the moment of asking plus the wait it
        # gave), not by when a thread woke up after sleeping: on a loaded machine oversleeping threads
        # bunch up and a window would count a scheduler's jitter, not the limiter's.
        while time.monotonic() < stop:
            asked = time.monotonic()
            reserved, wait = pacing.reserve(number, per_second=rate, patience=0.5)
            if reserved:
                with lock:
                    taken.append(asked + wait)
                time.sleep(wait)

    threads = [threading.Thread(target=sender) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken.sort()
    # In every one-second window at most `rate` sends (plus the one slot that may start it).
    for i, start in enumerate(taken):
        in_window = sum(1 for t in taken[i:] if t < start + 1.0)
        assert in_window <= rate + 1, f"{in_window} sends within one second at {rate}/s"
    assert len(taken) >= rate * 1.2  # and the rate is used, not starved


def test_the_rate_is_a_setting(settings):
    settings.WHATSAPP_MESSAGES_PER_SECOND = 5
    assert pacing.rate() == 5.0


def test_dispatch_waits_for_a_token_and_leaves_the_message_queued_when_none_comes(wa_a, graph, monkeypatch):
    patient = make_patient(wa_a)
    enqueued: list[str] = []
    monkeypatch.setattr(pacing, "wait_for_token", lambda number, **kw: False)
    monkeypatch.setattr(services, "outbox_enqueue", lambda pk, countdown=None: enqueued.append(pk))
    with tenant_context(wa_a.clinic):
        message = services.message_send_template(
            patient=patient, template_name="appointment_reminder", language="en", parameters=[], idempotency_key="p1"
        )
        assert services.message_dispatch(message_id=str(message.pk)) == "paced"
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboundMessage.Status.QUEUED, 0)
    assert enqueued == [str(message.pk)] and graph.sent() == []
    monkeypatch.setattr(pacing, "wait_for_token", lambda number, **kw: True)
    with tenant_context(wa_a.clinic):
        assert services.message_dispatch(message_id=str(message.pk)) == "sent"


# --- Meta's pair rate: one message every ~6 s from a number to the same user ---------------------------


def test_a_pair_waits_its_interval_and_other_pairs_do_not(db, settings):
    settings.WHATSAPP_PAIR_INTERVAL_SECONDS = 6.0
    number = _number()
    assert pacing.pair_wait(number, "+919876543210") == 0.0
    wait = pacing.pair_wait(number, "+919876543210")
    assert 5.5 < wait <= 6.0
    assert pacing.pair_wait(number, "+919812345678") == 0.0  # another patient
    assert pacing.pair_wait(_number(), "+919876543210") == 0.0  # the same patient from another clinic's number


def test_the_pair_key_holds_no_phone_number(db, settings):
    from django_redis import get_redis_connection

    settings.WHATSAPP_PAIR_INTERVAL_SECONDS = 6.0
    number = _number()
    pacing.pair_wait(number, "+919876543210")
    keys = [key.decode() for key in get_redis_connection("default").keys(f"docos:whatsapp:pair:{number}:*")]
    assert len(keys) == 1 and "9876543210" not in keys[0]


def test_pair_spacing_off_when_the_interval_is_zero(db, settings):
    settings.WHATSAPP_PAIR_INTERVAL_SECONDS = 0
    number = _number()
    assert pacing.pair_wait(number, "+919876543210") == 0.0
    assert pacing.pair_wait(number, "+919876543210") == 0.0


def test_a_second_message_to_the_same_patient_within_6_s_goes_back_to_the_queue(wa_a, graph, monkeypatch, settings):
    settings.WHATSAPP_PAIR_INTERVAL_SECONDS = 6.0
    patient = make_patient(wa_a)
    other = make_patient(wa_a, phone="+919812300077")
    enqueued: list[tuple[str, float | None]] = []
    monkeypatch.setattr(services, "outbox_enqueue", lambda pk, countdown=None: enqueued.append((pk, countdown)))
    with tenant_context(wa_a.clinic):
        first, second, third = (
            services.message_send_template(
                patient=who, template_name="appointment_reminder", language="en", parameters=[], idempotency_key=key
            )
            for who, key in ((patient, "pair-1"), (patient, "pair-2"), (other, "pair-3"))
        )
        enqueued.clear()
        assert services.message_dispatch(message_id=str(first.pk)) == "sent"
        assert services.message_dispatch(message_id=str(second.pk)) == "paced"
        assert services.message_dispatch(message_id=str(third.pk)) == "sent"
        second.refresh_from_db()
        assert (second.status, second.attempts) == (OutboundMessage.Status.QUEUED, 0)
    assert [pk for pk, _ in enqueued] == [str(second.pk)]
    assert 5.0 < (enqueued[0][1] or 0) <= 6.0
    assert len(graph.sent()) == 2
