"""Outbound WhatsApp pacing: sent messages per second against the fake Graph API, with the cap on.

    python -m benchmarks.whatsapp_pacing [MESSAGES] [--rate 80] [--workers 8] [--outbox N]
    (defaults 1600 messages, 80/s: a 20-second run; then 800 through the whole outbox)

Two runs against an in-process fake Graph API (messaging.fake_graph, real HTTP on loopback):

1. pacing + client: WORKERS threads each take a token from the Redis bucket of the number
   (messaging.pacing.wait_for_token) and POST the message (messaging.whatsapp.send), MESSAGES in
   all. This is the pacing figure: how close to the cap the senders get, and never above it.
2. the outbox, end to end (--outbox N messages): in its own database (docos_bench_<pid>;
benchmarks._support) one clinic made by clinic_create, its WhatsApp number connected to the fake,
one patient with consent, and N template messages recorded `queued` in the outbox. WORKERS
threads then drain the outbox exactly as the Celery workers do, each calling
`messaging.services.message_dispatch` (claim, take a token from the Redis bucket of the number,
POST to the Graph API, record), so the figure includes the database and HTTP work of a real send.
Threads of one Python process share one core (the GIL): this figure is bounded by the machine,
and production runs several worker processes to reach the cap.

Printed for each: the achieved rate over the run as a fraction of the cap (target >= 0.95, never above),
the most sends the fake server received in any one-second window (must be <= the cap + 1), and
duplicates (requests for the same message id; target 0).

Redis: REDIS_URL (the bucket key is per phone number id and expires by itself).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter

from benchmarks._support import bench_database, say

TARGET_FRACTION = 0.95
PHONE_NUMBER_ID = "106540352242922"


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whatsapp_pacing")
    parser.add_argument("messages", nargs="?", type=int, default=1600)
    parser.add_argument("--rate", type=float, default=80.0, help="WHATSAPP_MESSAGES_PER_SECOND")
    parser.add_argument("--workers", type=int, default=8, help="threads sending")
    parser.add_argument("--outbox", type=int, default=800, help="messages for the end-to-end outbox run (0: skip)")
    args, _ignored = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    messages, rate, workers = max(1, args.messages), args.rate, max(1, args.workers)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")
    os.environ["WHATSAPP_ENABLED"] = "true"
    os.environ.setdefault("WHATSAPP_APP_SECRET", "bench-secret")
    os.environ.setdefault("WHATSAPP_VERIFY_TOKEN", "bench-verify")
    os.environ["WHATSAPP_MESSAGES_PER_SECOND"] = str(rate)
    with bench_database("whatsapp_pacing"):
        figures = _client_run(messages, rate, workers)
        if args.outbox:
            figures.update({f"outbox_{k}": v for k, v in _run(args.outbox, rate, workers).items()})
        return figures


def _report(server: object, expected: int, rate: float, elapsed: float, callback_key: str) -> dict[str, float]:
    sent = server.sent()  # type: ignore[attr-defined]
    stamps = sorted(r.at for r in sent)
    peak = 0
    j = 0
    for i, start in enumerate(stamps):
        while j < len(stamps) and stamps[j] < start + 1.0:
            j += 1
        peak = max(peak, j - i)
    callbacks = Counter(str((r.body or {}).get(callback_key, "")) for r in sent)
    duplicates = sum(n - 1 for n in callbacks.values() if n > 1)
    span = (stamps[-1] - stamps[0]) if len(stamps) > 1 else elapsed
    achieved = (len(stamps) - 1) / span if span > 0 and len(stamps) > 1 else float(len(stamps))
    fraction = achieved / rate
    say(f"  sent {len(sent)} of {expected} in {elapsed:.1f} s")
    say(
        f"  achieved {achieved:.1f} sent/s = {fraction:.3f} of the {rate:g}/s cap "
        f"(target >= {TARGET_FRACTION}, never above); busiest second {peak} sends; duplicates {duplicates}"
    )
    verdict = "OK" if fraction >= TARGET_FRACTION and peak <= rate + 1 and duplicates == 0 else "MISSED"
    say(f"  {verdict}")
    return {"achieved": achieved, "fraction": fraction, "peak": float(peak), "duplicates": float(duplicates)}


def _client_run(messages: int, rate: float, workers: int) -> dict[str, float]:
    import uuid

    from django.conf import settings

    from messaging import pacing, whatsapp
    from messaging.fake_graph import FakeGraphServer

    server = FakeGraphServer().start()
    settings.WHATSAPP_GRAPH_BASE_URL = server.base_url
    number = str(uuid.uuid4().int % 10**15)  # a fresh bucket
    credentials = whatsapp.Credentials(phone_number_id=number, access_token="bench-token")
    pending = list(range(messages))
    lock = threading.Lock()
    say(f"[whatsapp_pacing] pacing + client: {messages} sends, {workers} threads, cap {rate:g}/s")

    def sender() -> None:
        while True:
            with lock:
                if not pending:
                    return
                index = pending.pop()
            while not pacing.wait_for_token(number, per_second=rate):
                pass
            payload = whatsapp.template_payload(
                to="+919812345678",
                user_id="",
                name="appointment_reminder",
                language="en",
                body_parameters=["Asha", "10:30"],
                callback_data=f"bench-{index}",
            )
            whatsapp.send(credentials, payload)

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=sender) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return _report(server, messages, rate, time.perf_counter() - started, "biz_opaque_callback_data")
    finally:
        server.stop()


def _run(messages: int, rate: float, workers: int) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection, connections
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import Location
    from clinics.services import clinic_create
    from messaging import services
    from messaging.fake_graph import FakeGraphServer
    from messaging.models import OutboundMessage
    from patients.models import Patient

    server = FakeGraphServer().start()
    settings.WHATSAPP_GRAPH_BASE_URL = server.base_url
    settings.WHATSAPP_ENABLED = True
    settings.WHATSAPP_MESSAGES_PER_SECOND = rate
    try:
        clinic = clinic_create(
            slug="pacing", name="Pacing Clinic", owner_email="owner@pacing.example.in", owner_password="x" * 16
        ).clinic
        with tenant_context(clinic):
            services.whatsapp_settings_update(
                actor=None,
                waba_id="102290129340398",
                phone_number_id=PHONE_NUMBER_ID,
                display_number="+91 80 4123 4567",
                access_token="bench-token",
                is_enabled=True,
            )
            patient = Patient.objects.create(
                mrn="BENCH-1",
                given_name="Asha",
                family_name="Verma",
                phone="+919812345678",
                whatsapp_consent_at=timezone.now(),
                whatsapp_consent_source="registration",
                registered_location=Location.objects.first(),
            )
            rows = [
                OutboundMessage(
                    patient=patient,
                    to_number="+919812345678",
                    template_name="appointment_reminder",
                    language="en",
                    parameters=["Asha", "10:30"],
                    idempotency_key=f"bench:{i}",
                )
                for i in range(messages)
            ]
            for row in rows:  # encrypted parameters are bound to their row: saved one by one
                row.save()
            ids = [str(row.pk) for row in rows]
        connection.set_schema_to_public()
        say(f"[whatsapp_pacing] outbox end to end: {messages} messages queued, {workers} threads, cap {rate:g}/s")

        pending = list(reversed(ids))
        lock = threading.Lock()
        outcomes: Counter[str] = Counter()

        def worker() -> None:
            try:
                with tenant_context(clinic):
                    while True:
                        with lock:
                            if not pending:
                                return
                            message_id = pending.pop()
                        outcome = services.message_dispatch(message_id=message_id)
                        if outcome == "paced":  # no token within the wait: take it again
                            with lock:
                                pending.append(message_id)
                        with lock:
                            outcomes[outcome] += 1
            finally:
                connections.close_all()

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        say(f"  outcomes {dict(outcomes)}")
        return _report(server, messages, rate, elapsed, "biz_opaque_callback_data")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
