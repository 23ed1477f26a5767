"""Outbound WhatsApp through the real outbox and real Celery worker processes, with the cap on.

    python -m benchmarks.whatsapp_dispatch [MESSAGES] [--rate 80] [--workers 4] [--patients N]
    (defaults: 10,000 messages at 80/s, about two minutes of sending)

In its own database (docos_bench_<pid>; benchmarks._support): one clinic made by clinic_create, its
WhatsApp number connected to a fake Graph API (messaging.fake_graph, real HTTP on loopback, in
this process), N patients with WhatsApp consent (enough that Meta's pair limit of one message per
6 s to the same person never binds), and MESSAGES template messages recorded `queued` in the
outbox. Then WORKERS `celery -A docos worker --pool solo -Q messaging` processes start against
that database and the Redis of REDIS_URL (broker and the pacing bucket), and every message is
handed to them as production does (`messaging.services.outbox_enqueue`: one
`messaging.outbox_dispatch` task each). The workers claim, take a send slot from the shared Redis
token bucket of the number (WHATSAPP_MESSAGES_PER_SECOND = --rate), POST to the fake and record.

Printed: the achieved rate between the first and the last send the fake received, as a fraction
of the cap (target >= 0.95, never above), the busiest one-second window (<= the cap), the
duplicates the fake saw (the same message sent twice, by its biz_opaque_callback_data; target 0),
and how many rows ended `sent` in the database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from benchmarks._support import bench_database, say

TARGET_FRACTION = 0.95
PHONE_NUMBER_ID = "106540352242923"
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whatsapp_dispatch")
    parser.add_argument("messages", nargs="?", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=80.0, help="the cap, WHATSAPP_MESSAGES_PER_SECOND")
    parser.add_argument("--workers", type=int, default=4, help="Celery worker processes (pool solo)")
    parser.add_argument("--patients", type=int, default=0, help="recipients (default: enough for the pair limit)")
    args, _ignored = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    messages, rate, workers = max(1, args.messages), args.rate, max(1, args.workers)
    patients = args.patients or max(100, int(rate * 6 * 2))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")
    os.environ["WHATSAPP_ENABLED"] = "true"
    os.environ.setdefault("WHATSAPP_APP_SECRET", "bench-secret")
    os.environ.setdefault("WHATSAPP_VERIFY_TOKEN", "bench-verify")
    os.environ["WHATSAPP_MESSAGES_PER_SECOND"] = str(rate)
    with bench_database("whatsapp_dispatch"):
        return _run(messages, rate, workers, patients)


def _start_workers(count: int, env: dict[str, str]) -> list[tuple[subprocess.Popen[bytes], str, Path]]:
    started = []
    for n in range(count):
        name = f"bench{n}-{uuid.uuid4().hex[:6]}@{os.uname().nodename}"
        log = tempfile.NamedTemporaryFile(prefix="whatsapp-dispatch-", suffix=".log", delete=False)
        command = [sys.executable, "-m", "celery", "-A", "docos", "worker", "--pool", "solo", "--queues", "messaging"]
        command += ["--hostname", name, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, name, Path(log.name)))
    return started


def _wait_for(app: object, workers: list[tuple[subprocess.Popen[bytes], str, Path]]) -> None:
    names = {name for _, name, _ in workers}
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            replies = app.control.ping(destination=list(names), timeout=1.0)  # type: ignore[attr-defined]
        except Exception:
            replies = []
        answered = {name for reply in replies or [] for name in reply}
        if names <= answered:
            return
        for process, name, log in workers:
            if process.poll() is not None:
                raise SystemExit(f"worker {name} exited:\n{log.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"workers did not answer within {START_TIMEOUT:.0f} s: {sorted(names - answered)}")
        time.sleep(0.5)


def _stop(workers: list[tuple[subprocess.Popen[bytes], str, Path]]) -> None:
    for process, _, _ in workers:
        if process.poll() is None:
            process.terminate()
    for process, _, log in workers:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.unlink(missing_ok=True)


def _run(messages: int, rate: float, workers: int, patient_count: int) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import Location
    from clinics.services import clinic_create
    from docos.celery import app
    from messaging import services
    from messaging.fake_graph import FakeGraphServer
    from messaging.models import OutboundMessage
    from patients.models import Patient

    server = FakeGraphServer().start()
    settings.WHATSAPP_GRAPH_BASE_URL = server.base_url
    pool: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        clinic = clinic_create(
            slug="dispatch", name="Dispatch Clinic", owner_email="owner@dispatch.example.in", owner_password="x" * 16
        ).clinic
        started = time.perf_counter()
        with tenant_context(clinic):
            services.whatsapp_settings_update(
                actor=None,
                waba_id="102290129340398",
                phone_number_id=PHONE_NUMBER_ID,
                display_number="+91 80 4123 4567",
                access_token="bench-token",
                is_enabled=True,
            )
            location = Location.objects.first()
            people = []
            for i in range(patient_count):  # encrypted fields are bound to their row: saved one by one
                patient = Patient(
                    mrn=f"D-{i:05d}",
                    given_name=["Asha", "Ravi", "Meena", "Arjun", "Fatima", "Suresh"][i % 6],
                    family_name=["Verma", "Iyer", "Khan", "Reddy", "Das", "Patil"][i % 6],
                    phone=f"+9198{i:08d}",
                    whatsapp_consent_at=timezone.now(),
                    whatsapp_consent_source="registration",
                    registered_location=location,
                )
                patient.save()
                people.append(patient)
            ids = []
            for i in range(messages):
                patient = people[i % len(people)]
                row = OutboundMessage(
                    patient=patient,
                    to_number=patient.phone,
                    template_name="appointment_reminder",
                    language="en",
                    parameters=[patient.given_name, "10:30"],
                    idempotency_key=f"dispatch:{i}",
                )
                row.save()
                ids.append(str(row.pk))
        connection.set_schema_to_public()
        say(
            f"[whatsapp_dispatch] {messages} messages queued to {patient_count} patients "
            f"in {time.perf_counter() - started:.1f} s"
        )
        env = {
            **os.environ,
            "WHATSAPP_GRAPH_BASE_URL": server.base_url,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
        app.control.purge()  # tasks of earlier runs in this broker
        pool = _start_workers(workers, env)
        _wait_for(app, pool)
        say(f"[whatsapp_dispatch] {workers} Celery worker processes ready; cap {rate:g}/s; enqueueing")
        started = time.perf_counter()
        with tenant_context(clinic):
            for pk in ids:
                services.outbox_enqueue(pk)
        connection.set_schema_to_public()
        deadline = time.monotonic() + messages / rate * 3 + 120
        while len(server.sent()) < messages and time.monotonic() < deadline:
            for process, name, log in pool:
                if process.poll() is not None:
                    raise SystemExit(f"worker {name} exited:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(1.0)
        time.sleep(2.0)  # answers being recorded
        elapsed = time.perf_counter() - started
        with tenant_context(clinic):
            statuses = Counter(OutboundMessage.objects.values_list("status", flat=True))
        connection.set_schema_to_public()
        return _report(server, messages, rate, elapsed, dict(statuses))
    finally:
        _stop(pool)
        server.stop()


def _report(server: object, expected: int, rate: float, elapsed: float, statuses: dict[str, int]) -> dict[str, float]:
    sent = server.sent()  # type: ignore[attr-defined]
    stamps = sorted(r.at for r in sent)
    peak = 0
    j = 0
    for i, start in enumerate(stamps):
        while j < len(stamps) and stamps[j] < start + 1.0:
            j += 1
        peak = max(peak, j - i)
    callbacks = Counter(str((r.body or {}).get("biz_opaque_callback_data", "")) for r in sent)
    duplicates = sum(n - 1 for n in callbacks.values() if n > 1)
    span = (stamps[-1] - stamps[0]) if len(stamps) > 1 else elapsed
    achieved = (len(stamps) - 1) / span if span > 0 and len(stamps) > 1 else float(len(stamps))
    fraction = achieved / rate
    say(f"  the fake Graph API received {len(sent)} sends of {expected} ({len(callbacks)} distinct) in {elapsed:.1f} s")
    say(f"  database: {statuses}")
    say(
        f"  achieved {achieved:.1f} sent/s = {fraction:.3f} of the {rate:g}/s cap "
        f"(target >= {TARGET_FRACTION}, never above); busiest second {peak} sends; duplicates {duplicates}"
    )
    ok = fraction >= TARGET_FRACTION and peak <= rate + 1 and duplicates == 0 and len(callbacks) == expected
    say(f"  {'OK' if ok else 'MISSED'}")
    return {
        "achieved": achieved,
        "fraction": fraction,
        "peak": float(peak),
        "duplicates": float(duplicates),
        "sent": float(len(callbacks)),
    }


if __name__ == "__main__":
    main()
