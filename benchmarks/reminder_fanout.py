"""Reminder fan-out: how long the every-minute beat takes to claim and enqueue every due reminder.

    python -m benchmarks.reminder_fanout [CLINICS] [APPOINTMENTS_PER_CLINIC] [--inline]
    (defaults 100 x 1000)

In its own database (docos_bench_<pid>, created and dropped; benchmarks._support): CLINICS clinics
cloned from the template, each with 20 doctors, 100 patients (WhatsApp consent), the demo's two
appointment rules (24 h and 2 h before) and APPOINTMENTS_PER_CLINIC appointments bulk-loaded over
the next day (2 h 10 min to ~23 h ahead, booked two days ago), so exactly one reminder per
appointment (the 24-hour one) is due now: CLINICS x APPOINTMENTS reminders. Quiet hours are
switched off in these clinics so the count does not depend on the time of day the benchmark runs.

Timed: the beat task (appointments.reminders_beat) is sent to Redis; real Celery workers
(consuming the `default` queue, prefork, one process per CPU) run one scan per clinic, which
plans and claims the due reminders and enqueues `appointments.reminders_send` tasks on the
`messaging` queue. Nothing consumes `messaging`, so the benchmark can read every enqueued message
back from Redis: the clock stops when all scans are done, and the ids in the messages must be
exactly the due reminders, each once. Then a second beat runs (through the workers again) and
must enqueue nothing. `--inline` runs the scans in this process instead of workers.

Redis: BENCH_REDIS_URL (default: REDIS_URL). Its `default` and `messaging` queues must be empty at
the start; the messages the benchmark enqueued are removed at the end.
Target: < 30 s for 100,000 reminders, 0 duplicates.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._support import bench_database, make_existing_clinics, positive_int, say

TARGET_SECONDS = 30.0
DOCTORS = 20
PATIENTS = 100
QUEUES = ("default", "messaging")
ROOT = Path(__file__).resolve().parent.parent


def _redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _load_clinic(clinic: Any, appointments: int, now: dt.datetime) -> None:
    """Doctors, patients, rules and `appointments` appointments in the clinic's schema (bulk)."""
    from django_tenants.utils import tenant_context

    from accounts.models import Location, User
    from appointments.models import Appointment, AppointmentSettings, AppointmentType, ReminderRule
    from patients.models import Patient

    with tenant_context(clinic):
        location = Location.objects.create(name="Main branch")
        AppointmentSettings.objects.create(pk=1, quiet_hours_start=dt.time(0), quiet_hours_end=dt.time(0))
        doctors = User.objects.bulk_create(
            [
                User(email=f"doctor{i}@{clinic.slug}.example.in", full_name=f"Dr. Bench {i}", password="!")
                for i in range(DOCTORS)
            ]
        )
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    mrn=f"B-{i:05d}", given_name=f"Patient{i}", phone=f"+9198{i:08d}", registered_location=location,
                    whatsapp_consent_at=now, whatsapp_consent_source="registration",
                )
                for i in range(PATIENTS)
            ]
        )  # fmt: skip
        kind = AppointmentType.objects.create(name="Consultation", duration_minutes=15)
        ReminderRule.objects.bulk_create(
            [
                ReminderRule(name="24 hours before", kind="appointment", offset_minutes=1440, template_name="r24"),
                ReminderRule(name="2 hours before", kind="appointment", offset_minutes=120, template_name="r2"),
            ]
        )
        start = now + dt.timedelta(hours=2, minutes=10)
        per_doctor = -(-appointments // DOCTORS)
        step = dt.timedelta(minutes=max(15, int((21 * 60) / per_doctor)))  # fits in ~21 h, no overlaps
        Appointment.objects.bulk_create(
            [
                Appointment(
                    patient=patients[i % PATIENTS], clinician=doctors[i % DOCTORS], location=location,
                    appointment_type=kind, starts_at=start + (i // DOCTORS) * step,
                    ends_at=start + (i // DOCTORS) * step + dt.timedelta(minutes=15),
                    scheduled_at=now - dt.timedelta(days=2),
                )
                for i in range(appointments)
            ],
            batch_size=2000,
        )  # fmt: skip


def _count_claimed(schemas: list[str]) -> int:
    from django.db import connection

    total = 0
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), 200):
            part = schemas[start : start + 200]
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT count(*) FROM {qn(s)}.appointments_reminder WHERE status = 'sending'" for s in part
                )
            )
            total += sum(row[0] for row in cursor.fetchall())
    return total


def _queued_ids(client: Any) -> tuple[list[str], int, dict[str, int]]:
    """Reminder ids in the `messaging` queue's send tasks, the number of messages, and per-schema counts."""
    ids: list[str] = []
    per_schema: dict[str, int] = {}
    raw = client.lrange("messaging", 0, -1)
    for item in raw:
        message = json.loads(item)
        headers = message.get("headers") or {}
        if headers.get("task") != "appointments.reminders_send":
            continue
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.extend(args[0])
        schema = str(headers.get("_schema_name"))
        per_schema[schema] = per_schema.get(schema, 0) + len(args[0])
    return ids, len(raw), per_schema


def _expected_ids(schemas: list[str]) -> dict[str, set[str]]:
    from django.db import connection

    qn = connection.ops.quote_name
    out: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f"SELECT id::text FROM {qn(schema)}.appointments_reminder WHERE status = 'sending'")
            out[schema] = {row[0] for row in cursor.fetchall()}
    return out


WORKER_LOG = Path(os.environ.get("TMPDIR", "/tmp")) / f"reminder_fanout_worker_{os.getpid()}.log"


def _start_workers() -> tuple[subprocess.Popen[bytes], str]:
    from docos.celery import app

    node = f"bench-{uuid.uuid4().hex[:6]}@%h"
    env = {
        **os.environ,  # DATABASE_URL points at the benchmark's database (bench_database set it)
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "docos.settings.dev"),
        "REDIS_URL": _redis_url(),
        "CELERY_BROKER_URL": _redis_url(),
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    concurrency = str(os.cpu_count() or 2)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "docos", "worker", "--queues", "default", "--concurrency",
         concurrency, "--hostname", node, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, start_new_session=True, stdout=WORKER_LOG.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    hostname = node.replace("%h", os.uname().nodename)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Celery worker exited with {process.returncode}")
        try:
            if app.control.ping(destination=[hostname], timeout=0.5):
                return process, hostname
        except Exception:  # the broker may not be ready yet
            pass
        time.sleep(0.5)
    raise SystemExit("the Celery worker did not answer within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_idle(client: Any, timeout: float = 600) -> None:
    """Until the `default` queue is empty and no delivered task is unacknowledged (tasks ack late,
    so a task leaves kombu's `unacked` hash only when it has finished)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if client.llen("default") == 0 and client.hlen("unacked") == 0 else 0
        if quiet >= 2:
            return
        time.sleep(0.05)
    raise SystemExit("the workers did not finish in time")


def run(clinics: int, appointments: int, *, inline: bool) -> bool:
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from appointments import reminders
    from appointments.tasks import reminders_beat_task
    from clinics.models import Clinic
    from docos.celery import app

    os.environ["REDIS_URL"] = _redis_url()
    app.conf.broker_url = _redis_url()
    import redis

    client = redis.Redis.from_url(_redis_url())
    busy = {q: client.llen(q) for q in QUEUES if client.llen(q)}
    if busy:
        raise SystemExit(f"Redis queues are not empty ({busy}) at {_redis_url()}; set BENCH_REDIS_URL to a free db")
    started = time.perf_counter()
    make_existing_clinics(clinics, prefix="fan", report_every=max(clinics // 4, 1))
    say(f"[reminder_fanout] {clinics} clinics cloned in {time.perf_counter() - started:.1f} s")
    now = timezone.now()
    rows = list(Clinic.objects.exclude(schema_name="public").order_by("slug"))
    schemas = [c.schema_name for c in rows]
    started = time.perf_counter()
    for clinic in rows:
        _load_clinic(clinic, appointments, now)
    connection.set_schema_to_public()
    expected = clinics * appointments
    say(
        f"[reminder_fanout] {expected:,} appointments bulk-loaded in {time.perf_counter() - started:.1f} s "
        f"({DOCTORS} doctors, {PATIENTS} patients per clinic)"
    )

    worker = None
    try:
        if not inline:
            worker = _start_workers()[0]
            say(f"[reminder_fanout] Celery worker up ({os.cpu_count()} processes on the default queue)")
        started = time.perf_counter()
        if inline:
            reminders_beat_task()  # sends the scans to Redis; run them here instead of in workers
            for clinic in rows:
                with tenant_context(clinic):
                    reminders.reminders_scan()
            connection.set_schema_to_public()
            client.delete("default")
        else:
            reminders_beat_task.apply_async()
            _wait_idle(client)
        elapsed = time.perf_counter() - started
        claimed = _count_claimed(schemas)
        ids, messages, per_schema = _queued_ids(client)
        duplicates = len(ids) - len(set(ids))
        truth = _expected_ids(schemas)
        wrong_schema = sum(1 for s in schemas if per_schema.get(s, 0) != len(truth[s]))
        exact = set(ids) == set().union(*truth.values())
        say(
            f"[reminder_fanout] first beat: {claimed:,} reminders claimed and {len(ids):,} enqueued in "
            f"{messages:,} send tasks in {elapsed:.1f} s ({len(ids) / elapsed:,.0f}/s); duplicates {duplicates}, "
            f"ids match the claimed rows: {exact}, clinics with a wrong count or schema header: {wrong_schema}"
        )

        started = time.perf_counter()
        if inline:
            again = 0
            for clinic in rows:
                with tenant_context(clinic):
                    again += len(reminders.reminders_scan().claimed)
            connection.set_schema_to_public()
        else:
            reminders_beat_task.apply_async()
            _wait_idle(client)
            again = len(_queued_ids(client)[0]) - len(ids)
        second = time.perf_counter() - started
        say(f"[reminder_fanout] second beat right after: {again} enqueued ({second:.1f} s)")
    finally:
        if worker is not None:
            _stop(worker)
            log = WORKER_LOG.read_text(errors="replace") if WORKER_LOG.exists() else ""
            if "Traceback" in log or "ERROR" in log:
                say(f"[reminder_fanout] worker log (tail):\n{log[-3000:]}")
            WORKER_LOG.unlink(missing_ok=True)
        client.delete(*QUEUES)
    ok = claimed == expected and len(ids) == expected and duplicates == 0 and exact and again == 0
    ok = ok and wrong_schema == 0
    verdict = "PASS" if ok and elapsed < TARGET_SECONDS else "FAIL"
    say(
        f"[reminder_fanout] {verdict}: {expected:,} reminders in {elapsed:.1f} s (target < {TARGET_SECONDS:.0f} s), "
        f"0 duplicates required ({duplicates} found), second scan 0 required ({again} found)"
    )
    return verdict == "PASS"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    inline = "--inline" in args
    numbers = [a for a in args if not a.startswith("--")]
    clinics = positive_int(numbers, 0, 100) or 100
    appointments = positive_int(numbers, 1, 1000) or 1000
    with bench_database("reminder_fanout"):
        ok = run(clinics, appointments, inline=inline)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
