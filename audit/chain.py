"""Verifying and trimming the audit hash chain (see audit.services for how rows are written).

What verification detects, per schema, walking the rows in `seq` order:
- a changed column of any row (its recomputed hash differs from `row_hash`): "content_changed";
- a deleted row in the middle or at the start (the next row's `prev_hash` names a row that is not
  there): "row_missing"; a row replaced by one with a recomputed hash: "link_broken";
- deleted newest rows: the chain's last row must be the one `AuditChainHead` names; the head is
  written in the same transaction as every event and the writer links new events to the head, not
  to the newest row it finds, so the gap stays visible after later writes: "row_missing";
- a missing head row ("head_missing"), rows the writer did not write ("head_mismatch"), and a trim
  checkpoint without the `audit.trim` event that every real trim writes ("checkpoint_invalid").

Limits (stated in `audit_verify --help` too): the hash is plain SHA-256, so someone who can write
to the database can rebuild the whole chain, head and checkpoints included, and go unnoticed. The
head hash the command prints is what to record outside the database (ticket, WORM bucket) to
catch that. Gaps in `seq` alone are not errors: a rolled-back transaction consumes a seq too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import (
    GENESIS_HASH,
    HASHED_FIELDS,
    HEAD_RESTORED_ACTION,
    audit_record,
    chain_lock,
    hash_values,
)
from docos.tenancy import current_schema

TRIM_ACTION = "audit.trim"
VERIFY_BATCH_SIZE = 2000
TRIM_BATCH_SIZE = 5000


@dataclass(frozen=True)
class ChainProblem:
    kind: str  # content_changed | row_missing | link_broken | head_missing | head_mismatch | checkpoint_invalid
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"#{self.seq}" if self.seq is not None else "chain end"
        return f"{where}: {self.kind.replace('_', ' ')}: {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    schema: str
    rows_checked: int
    head_seq: int | None  # the last verified row (or the checkpoint when no rows remain)
    head_hash: str
    checkpoint_seq: int | None
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class AuditChainBroken(Exception):
    def __init__(self, problem: ChainProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _Walker:
    """Checks rows fed in ascending `seq` order; remembers the first problem."""

    def __init__(self, checkpoint: AuditCheckpoint | None) -> None:
        self.checkpoint = checkpoint
        self.expected_prev = checkpoint.trimmed_through_hash if checkpoint else GENESIS_HASH
        self.prev_seq = checkpoint.trimmed_through_seq if checkpoint else 0
        self.rows = 0
        self.trim_event_seen = checkpoint is None

    def feed(self, row: Mapping[str, Any]) -> ChainProblem | None:
        seq: int = row["seq"]
        checkpoint = self.checkpoint
        if checkpoint is not None and seq <= checkpoint.trimmed_through_seq:
            return ChainProblem(
                "checkpoint_invalid",
                seq,
                f"this row is not newer than the trim checkpoint through #{checkpoint.trimmed_through_seq}; "
                "a real trim deletes every row up to its checkpoint, so the checkpoint was not written by a trim",
            )
        if hash_values(row) != row["row_hash"]:
            return ChainProblem(
                "content_changed", seq, "the row's columns no longer match its hash (a column was edited)"
            )
        if row["prev_hash"] != self.expected_prev:
            before = f"#{self.prev_seq}" if self.prev_seq else "the start of the chain"
            if seq > self.prev_seq + 1:
                return ChainProblem(
                    "row_missing",
                    seq,
                    f"row(s) between {before} and #{seq} were deleted: #{seq} is linked to a row that is not there",
                )
            return ChainProblem(
                "link_broken",
                seq,
                f"#{seq} is linked to a different row than {before} "
                "(that row was replaced, or writers forked the chain)",
            )
        if row["action"] == HEAD_RESTORED_ACTION:
            return ChainProblem(
                "head_missing",
                seq,
                "the chain head record had been deleted before this row was written; "
                "the newest rows before it may have been deleted with it",
            )
        if not self.trim_event_seen and row["action"] == TRIM_ACTION and checkpoint is not None:
            metadata = row["metadata"] or {}
            self.trim_event_seen = (
                metadata.get("through_seq") == checkpoint.trimmed_through_seq
                and metadata.get("through_hash") == checkpoint.trimmed_through_hash
            )
        self.expected_prev = row["row_hash"]
        self.prev_seq = seq
        self.rows += 1
        return None

    def finish(self, head: AuditChainHead | None) -> ChainProblem | None:
        if head is None:
            if self.rows or self.checkpoint is not None:
                return ChainProblem(
                    "head_missing", None, "the chain head record is missing; the newest rows may have been deleted"
                )
            return None
        if head.last_seq > self.prev_seq:
            return ChainProblem(
                "row_missing",
                head.last_seq,
                f"the newest row(s) after #{self.prev_seq} were deleted: the chain head names #{head.last_seq}",
            )
        if head.last_seq < self.prev_seq:
            return ChainProblem(
                "head_mismatch",
                self.prev_seq,
                f"this row is newer than the chain head (#{head.last_seq}), so it was not written by the audit writer",
            )
        if head.last_hash != self.expected_prev:
            return ChainProblem(
                "head_mismatch", self.prev_seq, "the newest row is not the one the chain head names (it was replaced)"
            )
        if not self.trim_event_seen and self.checkpoint is not None:
            return ChainProblem(
                "checkpoint_invalid",
                self.checkpoint.trimmed_through_seq,
                f"no {TRIM_ACTION} event records the checkpoint through #{self.checkpoint.trimmed_through_seq}, "
                "so it was not written by a trim",
            )
        return None


def _newest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-trimmed_through_seq", "-pk").first()


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent view of rows, head and checkpoint while the walk runs (writers carry on)."""
    if connection.in_atomic_block:  # the caller's transaction decides (tests run inside one)
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def audit_chain_verify(*, batch_size: int = VERIFY_BATCH_SIZE) -> ChainReport:
    """Walk the current schema's chain from its newest checkpoint (or genesis) to its head.

    Rows stream through a server-side cursor `batch_size` at a time, so memory stays bounded
    however long the chain is. Stops at the first problem.
    """
    with _snapshot():
        checkpoint = _newest_checkpoint()
        head = AuditChainHead.objects.filter(key=1).first()
        walker = _Walker(checkpoint)
        rows = AuditEvent.objects.order_by("seq").values(*HASHED_FIELDS, "row_hash").iterator(chunk_size=batch_size)
        problem = None
        for row in rows:
            problem = walker.feed(row)
            if problem is not None:
                break
        else:
            problem = walker.finish(head)
    return ChainReport(
        schema=current_schema(),
        rows_checked=walker.rows,
        head_seq=walker.prev_seq or None,
        head_hash=walker.expected_prev,
        checkpoint_seq=checkpoint.trimmed_through_seq if checkpoint else None,
        problem=problem,
    )


@dataclass(frozen=True)
class TrimResult:
    schema: str
    rows_trimmed: int
    checkpoints: int
    through_seq: int | None


def audit_trim(
    *, before: dt.datetime, batch_size: int = TRIM_BATCH_SIZE, actor: Any | None = None, reason: str = ""
) -> TrimResult:
    """Delete the current schema's audit rows older than `before`, oldest first.

    Only the prefix of the chain that is entirely older than `before` goes (a row stamped later
    but with a lower seq, e.g. after clock skew, stops the trim), so the rest still starts where
    a checkpoint says. Each batch is its own transaction under the chain lock: it verifies the
    rows it is about to delete (a trim never destroys evidence of tampering; it raises
    AuditChainBroken instead), deletes them, writes an AuditCheckpoint with the last deleted row's
    seq and hash, and records an `audit.trim` event naming that checkpoint. Writers wait only for
    one batch at a time. Safe to re-run: a later run starts from the newest checkpoint.
    """
    if timezone.is_naive(before):
        raise ValidationError({"before": "Give an aware date-time (with a time zone)."})
    if before > timezone.now():
        raise ValidationError({"before": "The cut-off cannot be in the future."})
    if batch_size < 1:
        raise ValidationError({"batch_size": "The batch size must be at least 1."})
    stop_seq = AuditEvent.objects.filter(occurred_at__gte=before).aggregate(first=Min("seq"))["first"]
    if stop_seq is None:  # every row is older; rows added while we trim are newer than `before`
        stop_seq = (AuditEvent.objects.aggregate(last=Max("seq"))["last"] or 0) + 1
    rows = checkpoints = 0
    through: int | None = None
    while True:
        trimmed = _trim_batch(before=before, stop_seq=stop_seq, batch_size=batch_size, actor=actor, reason=reason)
        if trimmed is None:
            break
        through, count = trimmed
        rows += count
        checkpoints += 1
    return TrimResult(schema=current_schema(), rows_trimmed=rows, checkpoints=checkpoints, through_seq=through)


@transaction.atomic
def _trim_batch(
    *, before: dt.datetime, stop_seq: int, batch_size: int, actor: Any | None, reason: str
) -> tuple[int, int] | None:
    chain_lock()
    batch = list(
        AuditEvent.objects.filter(seq__lt=stop_seq).order_by("seq").values(*HASHED_FIELDS, "row_hash")[:batch_size]
    )
    if not batch:
        return None
    last = batch[-1]
    walker = _Walker(_newest_checkpoint())
    for row in batch:
        problem = walker.feed(row)
        if problem is not None:
            raise AuditChainBroken(problem)
    deleted, _ = AuditEvent.objects.filter(seq__lte=last["seq"]).delete()
    checkpoint = AuditCheckpoint.objects.create(
        trimmed_through_seq=last["seq"], trimmed_through_hash=last["row_hash"], rows_trimmed=deleted
    )
    metadata: dict[str, Any] = {
        "through_seq": last["seq"],
        "through_hash": last["row_hash"],
        "rows": deleted,
        "before": before.isoformat(),
    }
    if reason:
        metadata["reason"] = reason
    audit_record(actor=actor, action=TRIM_ACTION, obj=checkpoint, metadata=metadata)
    return last["seq"], deleted


def audit_schemas(clinic_slug: str | None = None) -> list[tuple[str, str]]:
    """(label, schema) pairs whose chains the commands walk: public and every clinic, or one of them.

    `clinic_slug="public"` names the public schema (the slug is reserved, so no clinic has it).
    """
    Clinic = get_tenant_model()  # the kernel-side audit app names no domain app
    public = get_public_schema_name()
    with schema_context(public):
        if clinic_slug == "public":
            return [("public", public)]
        if clinic_slug:
            clinic = Clinic.objects.filter(slug=clinic_slug).exclude(schema_name=public).first()
            if clinic is None:
                raise ValidationError({"clinic": f"No clinic has the address {clinic_slug!r}."})
            return [(clinic.slug, clinic.schema_name)]
        clinics = Clinic.objects.exclude(schema_name=public).order_by("slug").values_list("slug", "schema_name")
        return [("public", public), *clinics]
