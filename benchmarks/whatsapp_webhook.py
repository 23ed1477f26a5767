"""WhatsApp webhook acknowledgement latency under gunicorn, at a fixed rate of signed posts.

    python -m benchmarks.whatsapp_webhook [RATE] [SECONDS]     (default 500 events/s for 10 s)

In its own database (docos_bench_<pid>, created and dropped; benchmarks._support): one clinic with
its WhatsApp number connected (so the routing table knows the phone number id). Then gunicorn
serves DocOS on loopback (`docos.wsgi`, sync workers, one per CPU plus one, DEBUG off) and the
benchmark posts RATE realistic signed status webhooks a second (each a different message, as Meta
sends them: `X-Hub-Signature-256` over the raw body with the app secret) from a pool of client
threads on an open-loop schedule: event i is due at start + i/RATE, and its latency is measured
from that moment, so a slow server cannot hide its queueing (no coordinated omission).

The server does what it does in production for each post: signature check, store the raw event
once, answer 200, enqueue the processing task. The tasks go to Redis BENCH_REDIS_URL (default
redis://127.0.0.1:6379/15, emptied at the end); nothing consumes them during the run.

Reported: p50 / p99 / max acknowledgement latency, achieved rate, non-200 answers, events stored.
Target: p99 < 25 ms at 500 events/s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._support import bench_database, latency_percentiles, open_loop_posts, positive_int, say

TARGET_P99_MS = 25.0
SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
WARM_UP_RATE, WARM_UP_SECONDS = 100, 2
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _payload(n: int) -> bytes:
    status = {
        "id": f"wamid.HBgMOTE5ODEyMzQ1Njc4FQIAERgSQkVOQ0gt{n:012d}",
        "status": ("sent", "delivered", "read")[n % 3],
        "timestamp": str(int(time.time())),
        "recipient_id": "919812345678",
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"},
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "918041234567", "phone_number_id": PHONE_NUMBER_ID},
                            "statuses": [status],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return json.dumps(body).encode()


def _server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    workers = (os.cpu_count() or 1) + 1
    command = [
        sys.executable, "-m", "gunicorn", "docos.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "sync", "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _wait_up(port: int, host: str) -> None:
    import urllib3

    http = urllib3.PoolManager(retries=False)
    for _ in range(300):
        try:
            if http.request("GET", f"http://127.0.0.1:{port}/healthz", headers={"Host": host}).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not come up")


def _run(port: int, host: str, rate: int, seconds: int, first: int = 0) -> tuple[list[float], dict[int, int], float]:
    bodies = [_payload(first + n) for n in range(rate * seconds)]
    posts = [
        (
            body,
            {
                "Host": host,
                "Content-Type": "application/json",
                "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            },
        )
        for body in bodies
    ]
    return open_loop_posts(f"http://127.0.0.1:{port}/webhooks/whatsapp/", posts, rate)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    rate = positive_int(argv, 0, 500)
    seconds = positive_int(argv, 1, 10)
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    with bench_database("whatsapp_webhook") as name:
        from django.conf import settings
        from django_tenants.utils import tenant_context

        from clinics.services import clinic_create
        from docos.models import WebhookEvent
        from messaging import services

        clinic = clinic_create(
            slug="hooks", name="Webhook Clinic", owner_email="owner@hooks.example.in", owner_password=None
        ).clinic
        with tenant_context(clinic):
            services.whatsapp_settings_update(
                actor=None, waba_id="102290129340398", phone_number_id=PHONE_NUMBER_ID,
                display_number="+91 80 4123 4567", access_token="bench-token", is_enabled=True,
            )  # fmt: skip
        port = _free_port()
        host = settings.DOCOS_BASE_DOMAIN
        env = {
            **os.environ,
            "DATABASE_URL": os.environ["DATABASE_URL"],  # the benchmark's database (bench_database set it)
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "docos.settings.dev",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "WHATSAPP_ENABLED": "true",
            "WHATSAPP_APP_SECRET": SECRET,
            "WHATSAPP_VERIFY_TOKEN": "bench-verify",
        }
        server = _server(env, port)
        try:
            _wait_up(port, host)
            say(f"[whatsapp_webhook] gunicorn up on 127.0.0.1:{port}; {rate} events/s for {seconds} s")
            # Warm-up, not measured: each worker's first requests load what Django loads lazily (URL
            # resolver, routing, the Celery producer), which a server that has been up a while has done.
            _run(port, host, WARM_UP_RATE, WARM_UP_SECONDS, first=10**9)
            latencies, statuses, elapsed = _run(port, host, rate, seconds)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            import redis

            redis.Redis.from_url(redis_url).flushdb()
        stored = WebhookEvent.objects.count()
        p50, p99, worst = latency_percentiles(latencies)
        count = len(latencies)
        say(
            f"[whatsapp_webhook] {count:,} events in {elapsed:.1f} s ({count / elapsed:.0f}/s): "
            f"ack p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms; answers {dict(sorted(statuses.items()))}; "
            f"events stored {stored:,} (database {name})"
        )
        stored -= WARM_UP_RATE * WARM_UP_SECONDS
        ok = p99 < TARGET_P99_MS and statuses.get(200, 0) == count and stored == count
        say(f"[whatsapp_webhook] target p99 < {TARGET_P99_MS:.0f} ms at {rate}/s: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
