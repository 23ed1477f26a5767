"""Retention: what each app keeps about patients, and for how long, enforced by a nightly run.

Every app registers its rules here (`register_rule`, from its AppConfig.ready), so a new app joins
by registering, not by editing this module. A rule answers two questions about the current clinic
schema at a moment `now`: how many rows are due (`count_due`: the dry run), and "purge up to
`limit` of them" (`purge_batch`: one transaction, returns how many it handled; 0 means done).
A rule that walks an index oldest first keeps its place in the run's `Cursor`, so each batch
starts where the last one stopped instead of stepping again over the index entries of rows it has
just purged (dead until VACUUM): without it a run slows down as it goes, quadratically.

A run (`retention_run`) loops each rule's batches until it has nothing left, each batch its own
short transaction, so locks are held for one batch only; batches shrink when one takes longer than
RETENTION_BATCH_TARGET_MS and grow back to RETENTION_BATCH_SIZE when fast (`next_batch_size`). A
crash loses at most the batch in flight: the state lives in the rows themselves (a blanked body is
no longer due), so the next run resumes where this one stopped. Each run writes a `PurgeRun` with
counts per rule, never PHI, shown in the console; a failed rule is logged (and reaches Sentry
through the logger) and the run goes on with the other rules.

Periods are the legal minimums (settings `RETENTION_*`); see the README's retention table.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import PurgeRun, RecordAccess

logger = logging.getLogger(__name__)


@dataclass
class Cursor:
    """Where a rule's last batch of this run stopped (e.g. the newest time it purged)."""

    after: Any = None


@dataclass(frozen=True)
class RetentionRule:
    key: str  # e.g. "messaging.bodies"; the purge log's column
    label: str  # what goes, for the console: "WhatsApp message texts and media older than 90 days"
    count_due: Callable[[dt.datetime], int]
    purge_batch: Callable[[dt.datetime, int, Cursor], int]  # (now, limit, cursor) -> rows handled in one transaction
    # The rule runs its own batch transactions (the audit trim does, under its chain lock).
    own_transactions: bool = False


_rules: dict[str, RetentionRule] = {}


def register_rule(rule: RetentionRule) -> None:
    _rules[rule.key] = rule


def retention_rules() -> list[RetentionRule]:
    return list(_rules.values())


def retention_run(*, now: dt.datetime | None = None, dry_run: bool = False, batch_size: int | None = None) -> PurgeRun:
    """One retention run of the current clinic schema: every registered rule, batch by batch."""
    now = now or timezone.now()
    batch_size = batch_size or int(settings.RETENTION_BATCH_SIZE)
    run = PurgeRun.objects.create(started_at=timezone.now(), dry_run=dry_run, status=PurgeRun.Status.RUNNING)
    counts: dict[str, int] = {}
    failed: list[str] = []
    longest = 0.0
    for rule in retention_rules():
        try:
            if dry_run:
                counts[rule.key] = rule.count_due(now)
                continue
            total = 0
            cursor = Cursor()
            size = max(min(BATCH_FLOOR, batch_size), batch_size // 4)  # grows to batch_size when fast
            while True:
                began = time.monotonic()
                if rule.own_transactions:
                    handled = rule.purge_batch(now, size, cursor)
                else:
                    with transaction.atomic():
                        handled = rule.purge_batch(now, size, cursor)
                elapsed = time.monotonic() - began
                longest = max(longest, elapsed)
                total += handled
                PurgeRun.objects.filter(pk=run.pk).update(counts={**counts, rule.key: total})  # progress
                if handled < size:
                    break
                size = next_batch_size(size, elapsed, ceiling=batch_size)
            counts[rule.key] = total
        except Exception:
            # The rule's own rows are safe (the batch rolled back); the others still run.
            logger.exception("retention rule failed", extra={"rule": rule.key})
            failed.append(rule.key)
    run.counts = counts
    run.failed_rules = failed
    run.longest_batch_ms = int(longest * 1000)
    run.finished_at = timezone.now()
    run.status = PurgeRun.Status.FAILED if failed else PurgeRun.Status.DONE
    run.save()
    return run


def next_batch_size(size: int, elapsed: float, *, ceiling: int) -> int:
    """The next batch's size: halved when a batch held its locks longer than
    RETENTION_BATCH_TARGET_MS (a busy or slow database), doubled back up to `ceiling` when it took
    under half of that. So a batch stays near the target however loaded the server is, and no
    batch holds its row locks for long."""
    target = int(settings.RETENTION_BATCH_TARGET_MS) / 1000
    if elapsed > target:
        return max(min(BATCH_FLOOR, ceiling), size // 2)
    if elapsed < target / 2:
        return min(ceiling, size * 2)
    return size


BATCH_FLOOR = 100


# Periods in years for record categories ("clinical", "billing"): the legal minimums in settings,
# lengthened (never shortened) by the clinic's own setting, which a higher app provides.
RetentionSetting = Callable[[str], "int | None"]
_retention_setting: list[RetentionSetting] = []


def register_retention_setting(provider: RetentionSetting) -> None:
    """The clinic's own period for a category ("clinical", "billing"), in years, or None."""
    _retention_setting[:] = [provider]


def retention_years(category: str) -> int:
    """The clinic's retention period for `category`: its own setting, never below the legal minimum."""
    minimum = int(settings.RETENTION_CLINICAL_YEARS if category == "clinical" else settings.RETENTION_BILLING_YEARS)
    configured = _retention_setting[0](category) if _retention_setting else None
    return max(minimum, configured or 0)


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


# --- the audit app's own rules ------------------------------------------------------------------------


def _access_due(now: dt.datetime) -> int:
    return RecordAccess.objects.filter(first_at__lt=cutoff(now, settings.RETENTION_AUDIT_DAYS)).count()


def _access_purge(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    ids = list(
        RecordAccess.objects.filter(first_at__lt=cutoff(now, settings.RETENTION_AUDIT_DAYS))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    RecordAccess.objects.filter(pk__in=ids).delete()
    return len(ids)


def _events_due(now: dt.datetime) -> int:
    from audit.models import AuditEvent

    return AuditEvent.objects.filter(occurred_at__lt=cutoff(now, settings.RETENTION_AUDIT_DAYS)).count()


def _events_purge(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    """Audit events go behind a checkpoint (audit.chain.audit_trim, which verifies each batch before
    it deletes it and runs its own batch transactions), so `audit_verify` still passes."""
    from audit.chain import audit_trim

    before = cutoff(now, settings.RETENTION_AUDIT_DAYS)
    return audit_trim(before=min(before, timezone.now()), batch_size=limit, reason="retention").rows_trimmed


def register_audit_rules() -> None:
    register_rule(
        RetentionRule(
            key="audit.record_access",
            label="Record-access log entries older than the audit period",
            count_due=_access_due,
            purge_batch=_access_purge,
        )
    )
    register_rule(
        RetentionRule(
            key="audit.events",
            label="Audit log events older than the audit period (trimmed behind a checkpoint)",
            count_due=_events_due,
            purge_batch=_events_purge,
            own_transactions=True,
        )
    )
