"""Retention purge at clinic scale: N expired WhatsApp messages (with bodies) in one clinic.

    python -m benchmarks.retention_purge [N] [BATCH] [LAYOUT]
        (N messages, default 1,000,000; BATCH default 5,000; LAYOUT "arrival" (default) or "shuffled")

In its own database (docos_bench_<pid>, created and dropped; benchmarks._support): one clinic (clinic_create,
with its data key), one contact, and N inbound messages sent 100-200 days ago, written with one
INSERT ... SELECT over generate_series (bodies are 96 random-looking bytes, the size of a short
encrypted text; the purge never decrypts, it sets the column to NULL), then ANALYZE. A further 1%
are young (30 days) and must survive.

LAYOUT is how the rows lie in the table. "arrival": in the order they were sent, as webhooks insert
them (a clinic's table looks like this). "shuffled": each run of 100 consecutive rows spans all 100
days, so a batch taken oldest first touches a different page for nearly every row: the worst case,
kept to show what the row order costs.

Timed: `audit.retention.retention_run()` in the clinic schema, exactly as the nightly task runs
it: batch after batch of BATCH rows, each its own transaction. Reported: wall time, rows per
second, the longest single batch transaction (the run records it), and a check that every expired
row was purged and no young one was.

Target: < 60 s for 1,000,000 rows; no batch holds its locks longer than 1 s.
"""

from __future__ import annotations

import sys
import time

from benchmarks._support import bench_database, positive_int, say

TARGET_SECONDS = 60.0
TARGET_BATCH_MS = 1000


def _load(n: int, young: int, layout: str) -> None:
    from django.db import connection

    from messaging.models import Contact

    contact = Contact.objects.create(wa_id="919812300000")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # "arrival": oldest first (i = 1 was sent 200 days ago); "shuffled": i modulo 100 days.
        old_days = "100 + (i %% 100)" if layout == "shuffled" else f"200 - 100.0 * i / {n}"
        for count, days, label in ((n, old_days, "old"), (young, "30", "young")):
            cursor.execute(
                f"""
                INSERT INTO messaging_inboundmessage (
                    id, contact_id, vendor_message_id, kind, body, context_message_id, media_id, media_status,
                    media_content_type, media_storage_name, media_sha256, media_error, sent_at, received_at
                )
                SELECT gen_random_uuid(), %s, 'wamid.bench.' || %s || '.' || i, 'text',
                       decode(repeat(md5(i::text), 3), 'hex'), '', '', '', '', '', '', '',
                       now() - ({days}) * interval '1 day', now() - ({days}) * interval '1 day'
                FROM generate_series(1, %s) AS i
                """,
                [contact.pk, label, count],
            )
        cursor.execute("ANALYZE messaging_inboundmessage")
    say(f"[retention_purge] {n:,} expired + {young:,} young messages written in {time.perf_counter() - started:.1f} s")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    n = positive_int(argv, 0, 1_000_000)
    batch = positive_int(argv, 1, 5_000)
    layout = argv[2] if len(argv) > 2 else "arrival"
    if layout not in ("arrival", "shuffled"):
        raise SystemExit(f"LAYOUT is 'arrival' or 'shuffled', not {layout!r}")
    young = max(1, n // 100)
    with bench_database("retention_purge"):
        from django.conf import settings
        from django_tenants.utils import tenant_context

        from audit.retention import retention_run
        from clinics.services import clinic_create
        from messaging.models import InboundMessage

        clinic = clinic_create(
            slug="purge", name="Purge Clinic", owner_email="owner@purge.example.in", owner_password=None
        ).clinic
        with tenant_context(clinic):
            _load(n, young, layout)
            started = time.perf_counter()
            run = retention_run(batch_size=batch)
            elapsed = time.perf_counter() - started
            purged = InboundMessage.objects.filter(purged_at__isnull=False).count()
            survivors = InboundMessage.objects.filter(purged_at__isnull=True, body__isnull=False).count()
        say(
            f"[retention_purge] {n:,} expired messages purged in {elapsed:.1f} s ({n / elapsed:,.0f} rows/s), "
            f"batches of {batch:,}, {layout} layout; longest batch transaction {run.longest_batch_ms} ms; "
            f"run status {run.status}, counts {run.counts}"
        )
        say(f"[retention_purge] purged {purged:,} (expected {n:,}); young kept {survivors:,} (expected {young:,})")
        ok = (
            purged == n
            and survivors == young
            and elapsed < TARGET_SECONDS
            and run.longest_batch_ms < TARGET_BATCH_MS
            and run.status == "done"
        )
        say(
            f"[retention_purge] target < {TARGET_SECONDS:.0f} s and batches < {TARGET_BATCH_MS} ms: "
            f"{'met' if ok else 'NOT met'} (RETENTION_WHATSAPP_BODY_DAYS={settings.RETENTION_WHATSAPP_BODY_DAYS})"
        )


if __name__ == "__main__":
    main()
