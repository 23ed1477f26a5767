"""Razorpay payment-link webhooks to DocOS over real HTTP (gunicorn): replays and acknowledgement latency.

    python -m benchmarks.payment_webhook [--rates 25,50,75,100,150,200] [--seconds 10]

In its own database (docos_bench_<pid>, created and dropped; benchmarks._support): one clinic with its
Razorpay account connected (key, secret and webhook secret; the per-clinic route key in the public
routing table), an issued invoice (₹750) and a payment link for it, made through the real SDK at the
local fake Razorpay (billing.fake_razorpay, started here), which then "pays" the link and hands back
the events Razorpay sends (`payment.captured`, `payment_link.paid`). gunicorn serves DocOS on loopback
(`docos.wsgi`, sync workers, one per CPU plus one, DEBUG off); the benchmark posts those bodies to
`/webhooks/razorpay/<route key>/`, each signed as Razorpay signs (`X-Razorpay-Signature`: hex
HMAC-SHA256 of the raw body with the clinic's webhook secret) with an `X-Razorpay-Event-Id`.

1. Replays: 1,000 posts of `payment_link.paid` under ONE event id, then 1,000 more of which 500 carry
   that id again and 500 new ids (alternately `payment.captured` and `payment_link.paid`: Razorpay's
   retries and its second event for the same payment). Every post must be answered 200; the intake
   must store 1 + 500 events; processing every stored event (docos.webhooks.webhook_process, as the
   Celery task does) must record exactly ONE payment and leave the invoice paid.
2. Open-loop rates: for each rate, RATE posts a second for SECONDS (each a new event id, as retries
   and new events arrive), event i due at start + i/RATE and its latency measured from that moment
   (no coordinated omission). Reported: p50 / p99 / max acknowledgement latency per rate, and the
   highest rate with p99 < 50 ms. The tasks go to Redis BENCH_REDIS_URL (default
   redis://127.0.0.1:6379/15, emptied at the end); nothing consumes them during the run.

The machine's load average is printed before and after: the figures are only comparable on a quiet
machine.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from decimal import Decimal
from typing import Any

from benchmarks._support import bench_database, latency_percentiles, open_loop_posts, say
from benchmarks.whatsapp_webhook import _free_port, _server, _wait_up

TARGET_P99_MS = 50.0
DEFAULT_RATES = (25, 50, 75, 100, 150, 200)
DEFAULT_SECONDS = 10
REPLAYS = 1000
KEY_ID, KEY_SECRET, HOOK_SECRET = "rzp_test_BenchPayHooks1", "bench-key-secret", "bench-webhook-secret"
WARM_UP_RATE, WARM_UP_SECONDS = 50, 2


def _options(argv: list[str]) -> tuple[tuple[int, ...], int]:
    rates, seconds = DEFAULT_RATES, DEFAULT_SECONDS
    args = iter(argv)
    for arg in args:
        if arg.startswith("--rates"):
            value = arg.split("=", 1)[1] if "=" in arg else next(args, "")
            rates = tuple(int(r) for r in value.split(",") if r.strip())
        elif arg.startswith("--seconds"):
            seconds = int(arg.split("=", 1)[1] if "=" in arg else next(args, str(DEFAULT_SECONDS)))
        # other arguments (run_all passes its own, e.g. a clinic count) are not ours
    if not rates or min(rates) < 1 or seconds < 1:
        raise SystemExit("--rates takes positive integers (e.g. 25,50,100), --seconds a positive integer")
    return rates, seconds


def _signature(body: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def _post_all(
    port: int, host: str, path: str, posts: list[tuple[bytes, str]], rate: int | None
) -> tuple[list[float], dict[int, int], float]:
    """Post every (body, event id); open loop at `rate` a second, or back to back when None."""
    signatures = {body: _signature(body) for body in {body for body, _ in posts}}
    requests = [
        (
            body,
            {
                "Host": host,
                "Content-Type": "application/json",
                "X-Razorpay-Signature": signatures[body],
                "X-Razorpay-Event-Id": event_id,
            },
        )
        for body, event_id in posts
    ]
    return open_loop_posts(f"http://127.0.0.1:{port}{path}", requests, rate)


def _event_id() -> str:
    return "Bench" + uuid.uuid4().hex[:14]


def _seed(fake: Any) -> dict[str, Any]:
    """The clinic, its Razorpay account, an issued invoice and its link, paid at the fake."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from accounts.models import Location
    from billing import payment_links, services
    from clinics.services import clinic_create
    from patients.models import Patient

    created = clinic_create(
        slug="payhooks", name="Lakshmi Nursing Home", owner_email="owner@payhooks.example.in",
        owner_name="Dr. Lakshmi Narayanan", owner_password=None, locations=("Jayanagar",),
        gstin="29AAGCS1234K1Z7", billing_state="Karnataka",
        billing_address="12, 11th Main, Jayanagar 4th Block, Bengaluru 560011",
    )  # fmt: skip
    clinic, owner = created.clinic, created.owner
    with tenant_context(clinic):
        account = payment_links.razorpay_settings_update(
            actor=None, key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=HOOK_SECRET, is_enabled=True
        )
        location = Location.objects.get()
        consult = services.price_item_create(
            actor=owner, name="Consultation", kind="service", sac_hsn="999312", tax_class="health_exempt",
            default_price=Decimal("750"),
        )  # fmt: skip
        patient = Patient.objects.create(
            mrn="PAY-000001", given_name="Suresh", family_name="Hegde", sex="M", registered_location=location,
            phone="+919845098450",
        )  # fmt: skip
        invoice = services.invoice_create(actor=owner, patient=patient, location=location)
        services.invoice_add_line(actor=owner, invoice=invoice, item=consult)
        invoice = services.invoice_issue(actor=owner, invoice=invoice)
        link = payment_links.invoice_payment_link_create(actor=owner, invoice=invoice)
    connection.set_schema_to_public()
    captured, paid = fake.pay(link.razorpay_id)
    return {"clinic": clinic, "route": account.route_key, "invoice": invoice, "captured": captured, "paid": paid}


def _process_stored() -> int:
    from django.db import connection

    from docos import webhooks
    from docos.models import WebhookEvent

    connection.set_schema_to_public()
    pks = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
        .order_by("received_at")
        .values_list("pk", flat=True)
    )
    for pk in pks:
        webhooks.webhook_process(str(pk))
        connection.set_schema_to_public()
    return len(pks)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    rates, seconds = _options(argv)
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    load_before = os.getloadavg()
    with bench_database("payment_webhook") as name:
        from django.conf import settings
        from django.db import connection
        from django_tenants.utils import tenant_context

        from billing.fake_razorpay import FakeRazorpayServer
        from billing.models import Invoice, Payment
        from docos.models import WebhookEvent

        fake = FakeRazorpayServer().start()
        fake.add_account(KEY_ID, KEY_SECRET)
        settings.RAZORPAY_BASE_URL = fake.base_url  # this process: the link, and processing the events
        settings.RAZORPAY_ENABLED = True
        port = _free_port()
        host = settings.DOCOS_BASE_DOMAIN
        env = {
            **os.environ,
            "DATABASE_URL": os.environ["DATABASE_URL"],  # the benchmark's database (bench_database set it)
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "docos.settings.dev",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "RAZORPAY_ENABLED": "true",
            "RAZORPAY_BASE_URL": fake.base_url,
        }
        server = _server(env, port)
        try:
            seeded = _seed(fake)
            path = f"/webhooks/razorpay/{seeded['route']}/"
            bodies = {e["event"]: json.dumps(e).encode() for e in (seeded["captured"], seeded["paid"])}
            paid_body, captured_body = bodies["payment_link.paid"], bodies["payment.captured"]
            _wait_up(port, host)
            say(f"[payment_webhook] gunicorn up on 127.0.0.1:{port}; load average {load_before[0]:.2f} (1 min)")
            # Warm-up (not measured, its own link-less events are acknowledged and stored like any other).
            _post_all(
                port,
                host,
                path,
                [(paid_body, _event_id()) for _ in range(WARM_UP_RATE * WARM_UP_SECONDS)],
                WARM_UP_RATE,
            )
            warm = WebhookEvent.objects.count()

            # 1. replays
            same = _event_id()
            lat1, st1, el1 = _post_all(port, host, path, [(paid_body, same)] * REPLAYS, None)
            stored_same = WebhookEvent.objects.count() - warm
            mixed = [
                (paid_body, same) if n % 2 == 0 else ((captured_body if n % 4 == 1 else paid_body), _event_id())
                for n in range(REPLAYS)
            ]
            lat2, st2, el2 = _post_all(port, host, path, mixed, None)
            stored_mixed = WebhookEvent.objects.count() - warm
            processed = _process_stored()
            with tenant_context(seeded["clinic"]):
                payments = Payment.objects.filter(invoice=seeded["invoice"]).count()
                invoice = Invoice.objects.get(pk=seeded["invoice"].pk)
            connection.set_schema_to_public()
            p50a, p99a, _ = latency_percentiles(lat1)
            p50b, p99b, _ = latency_percentiles(lat2)
            say(
                f"[payment_webhook] replays: {REPLAYS:,} x one event id in {el1:.1f} s (ack p50 {p50a:.1f} ms, p99 "
                f"{p99a:.1f} ms; answers {dict(sorted(st1.items()))}) -> {stored_same} stored; then 500 same + 500 new "
                f"ids in {el2:.1f} s (p50 {p50b:.1f} ms, p99 {p99b:.1f} ms; answers {dict(sorted(st2.items()))}) -> "
                f"{stored_mixed} stored; {processed} processed -> {payments} payment(s), invoice {invoice.status}"
            )
            replay_ok = (
                st1.get(200, 0) == REPLAYS and st2.get(200, 0) == REPLAYS and stored_same == 1
                and stored_mixed == 1 + REPLAYS // 2 and payments == 1 and invoice.status == Invoice.Status.PAID
            )  # fmt: skip
            say(f"[payment_webhook] exactly one payment whatever the replays: {'met' if replay_ok else 'NOT met'}")

            # 2. open-loop rates
            best = 0
            for rate in rates:
                posts = [(paid_body if n % 2 else captured_body, _event_id()) for n in range(rate * seconds)]
                before = WebhookEvent.objects.count()
                latencies, statuses, elapsed = _post_all(port, host, path, posts, rate)
                stored = WebhookEvent.objects.count() - before
                p50, p99, worst = latency_percentiles(latencies)
                ok = p99 < TARGET_P99_MS and statuses.get(200, 0) == len(posts) and stored == len(posts)
                best = rate if ok and rate > best else best
                say(
                    f"[payment_webhook] {rate:>4}/s for {seconds} s: {len(posts) / elapsed:.0f}/s achieved, ack p50 "
                    f"{p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms; answers {dict(sorted(statuses.items()))}; "
                    f"stored {stored:,}; load {os.getloadavg()[0]:.2f}{'' if ok else '  (p99 target missed)'}"
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            fake.stop()
            import redis

            redis.Redis.from_url(redis_url).flushdb()
        load_after = os.getloadavg()
        say(
            f"[payment_webhook] highest rate with p99 < {TARGET_P99_MS:.0f} ms: "
            f"{f'{best}/s' if best else 'none of ' + ','.join(map(str, rates))}; load average before "
            f"{load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs (database {name})"
        )
        if not replay_ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
