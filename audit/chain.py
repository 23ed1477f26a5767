"""Verifying, trimming and re-keying the audit chain (see audit.services for how rows are written).

What verification detects, per schema, walking the rows in `seq` order:
- a changed column of any row (its recomputed HMAC differs from `row_hash`), including a row whose
  `row_hash` was recomputed as plain SHA-256 or with any key but the audit key: "content_changed";
- a row without a key id (written before the chain was keyed, or its key id removed): "not_keyed";
- a row sealed with a key id that is no longer in DOCOS_ENCRYPTION_KEYS: "key_missing" (a
  configuration error, not evidence of tampering: put the key back, or re-key before dropping it);
- a deleted row in the middle or at the start (the next row's `prev_hash` names a row that is not
  there): "row_missing"; a row replaced by one with a recomputed MAC: "link_broken";
- deleted newest rows: the chain's last row must be the one `AuditChainHead` names; the head is
  written in the same transaction as every event and the writer links new events to the head, not
  to the newest row it finds, so the gap stays visible after later writes: "row_missing";
- a missing head row ("head_missing"), rows the writer did not write ("head_mismatch"), and a trim
  checkpoint without the `audit.trim` event that every real trim writes ("checkpoint_invalid").

Limits (stated in `audit_verify --help` too): the MAC keys are derived from the encryption key
ring, so someone who holds DOCOS_ENCRYPTION_KEYS *and* can write to the database can still rebuild
the whole chain; the head MAC the command prints is what to record outside the database (ticket,
WORM bucket) to catch that. Rows written before keying were plain SHA-256: `audit_rekey` vouches
for them as they stand when it runs. Gaps in `seq` alone are not errors: a rolled-back transaction
consumes a seq too.

Re-keying (`audit_rekey`) re-seals every row with the primary key, oldest first, in batches that
each commit under the chain lock, so writers wait for one batch at a time. Changing a row's MAC
changes the next row's `prev_hash`, so between two batches the chain has one seam: the last
re-sealed row and the first row not yet re-sealed no longer link. Each batch that leaves a seam
records it in an `audit.rekey_seam` event (itself a chain row, sealed with the primary key);
verification and the next run accept exactly that seam, so an interrupted re-key verifies and
resumes, and a row deleted at the seam is still caught.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import (
    GENESIS_HASH,
    HASHED_FIELDS,
    HEAD_RESTORED_ACTION,
    audit_keys,
    audit_record,
    chain_lock,
    legacy_hash_values,
    seal_values,
)
from docos.crypto import DerivedKeys, UnknownKeyError
from docos.tenancy import current_schema

TRIM_ACTION = "audit.trim"
REKEY_ACTION = "audit.rekey"
REKEY_SEAM_ACTION = "audit.rekey_seam"
VERIFY_BATCH_SIZE = 2000
TRIM_BATCH_SIZE = 5000
REKEY_BATCH_SIZE = 2000


@dataclass(frozen=True)
class ChainProblem:
    # content_changed | not_keyed | key_missing | row_missing | link_broken | head_missing | head_mismatch
    # | checkpoint_invalid
    kind: str
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
    key_ids: tuple[str, ...] = ()  # the key ids of the rows verified, sorted

    @property
    def ok(self) -> bool:
        return self.problem is None


class AuditChainBroken(Exception):
    def __init__(self, problem: ChainProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class RekeySeam:
    """Where an unfinished re-key stopped: row `through_seq` is re-sealed (its MAC is now
    `through_hash`), the next row `next_seq` is not, and still links to the old MAC (`next_prev_hash`)."""

    through_seq: int
    through_hash: str
    next_seq: int
    next_prev_hash: str

    def joins(self, prev_seq: int, prev_hash: str, seq: int, stored_prev_hash: str) -> bool:
        return (prev_seq, prev_hash, seq, stored_prev_hash) == (
            self.through_seq,
            self.through_hash,
            self.next_seq,
            self.next_prev_hash,
        )


class _Walker:
    """Checks rows fed in ascending `seq` order; remembers the first problem.

    `accept_unkeyed` (for `audit_rekey` only) accepts rows from before keying (key_id "", plain
    SHA-256) at the start of the chain or right after a re-key seam, never after keyed rows."""

    def __init__(
        self,
        checkpoint: AuditCheckpoint | None,
        *,
        keys: DerivedKeys,
        seam: RekeySeam | None = None,
        accept_unkeyed: bool = False,
    ) -> None:
        self.checkpoint = checkpoint
        self.keys = keys
        self.seam = seam
        self.accept_unkeyed = accept_unkeyed
        self.expected_prev = checkpoint.trimmed_through_hash if checkpoint else GENESIS_HASH
        self.prev_seq = checkpoint.trimmed_through_seq if checkpoint else 0
        self.rows = 0
        self.trim_event_seen = checkpoint is None
        self.keyed_seen = False
        self.key_ids: set[str] = set()

    def _seal_problem(self, row: Mapping[str, Any]) -> ChainProblem | None:
        seq: int = row["seq"]
        kid: str = row["key_id"]
        if not kid:
            if not self.accept_unkeyed or self.keyed_seen:
                return ChainProblem(
                    "not_keyed",
                    seq,
                    "the row carries no key id, so its hash is plain SHA-256, which anyone who can write to the "
                    "database can recompute: it was written before the audit chain was keyed (once, after "
                    "upgrading: audit_rekey --accept-unkeyed), or its key id was removed",
                )
            expected = legacy_hash_values(row)
        else:
            try:
                expected = seal_values(row, self.keys)
            except UnknownKeyError:
                return ChainProblem(
                    "key_missing",
                    seq,
                    f"the row was sealed with key id {kid!r}, which is not in DOCOS_ENCRYPTION_KEYS; put that key "
                    "back in the ring (after the primary key) to verify the rows it sealed, and run audit_rekey "
                    "before removing a key",
                )
            self.keyed_seen = True
            self.key_ids.add(kid)
        if not hmac.compare_digest(expected, row["row_hash"]):
            return ChainProblem(
                "content_changed",
                seq,
                "the row's columns no longer match its MAC (a column was edited, or the MAC was recomputed "
                "without the audit key)",
            )
        return None

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
        if row["prev_hash"] != self.expected_prev and (
            self.seam is not None and self.seam.joins(self.prev_seq, self.expected_prev, seq, row["prev_hash"])
        ):
            self.keyed_seen = False  # the rows after the seam are still sealed the way they were before the re-key
            self.expected_prev = row["prev_hash"]
        problem = self._seal_problem(row)
        if problem is not None:
            return problem
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


def _load_seam(keys: DerivedKeys) -> RekeySeam | None:
    """The seam the newest `audit.rekey_seam` event names, if that event's own MAC holds.

    Only the newest can still be open: the next batch re-seals the row after it, closing it. An
    event that fails its MAC is ignored here (the walk reports it where it stands in the chain)."""
    event = (
        AuditEvent.objects.filter(action=REKEY_SEAM_ACTION).order_by("-seq").values(*HASHED_FIELDS, "row_hash").first()
    )
    if event is None or not event["key_id"]:
        return None
    try:
        if not hmac.compare_digest(seal_values(event, keys), event["row_hash"]):
            return None
    except UnknownKeyError:
        return None
    metadata = event["metadata"] or {}
    try:
        seam = RekeySeam(
            through_seq=int(metadata["through_seq"]),
            through_hash=str(metadata["through_hash"]),
            next_seq=int(metadata["next_seq"]),
            next_prev_hash=str(metadata["next_prev_hash"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return seam if seam.through_seq < seam.next_seq < event["seq"] else None


def _walker(*, keys: DerivedKeys, accept_unkeyed: bool = False) -> _Walker:
    return _Walker(_newest_checkpoint(), keys=keys, seam=_load_seam(keys), accept_unkeyed=accept_unkeyed)


def _walk(*, batch_size: int, accept_unkeyed: bool) -> ChainReport:
    keys = audit_keys()
    with _snapshot():
        walker = _walker(keys=keys, accept_unkeyed=accept_unkeyed)
        head = AuditChainHead.objects.filter(key=1).first()
        rows = AuditEvent.objects.order_by("seq").values(*HASHED_FIELDS, "row_hash").iterator(chunk_size=batch_size)
        problem = None
        for row in rows:
            problem = walker.feed(row)
            if problem is not None:
                break
        else:
            problem = walker.finish(head)
    checkpoint = walker.checkpoint
    return ChainReport(
        schema=current_schema(),
        rows_checked=walker.rows,
        head_seq=walker.prev_seq or None,
        head_hash=walker.expected_prev,
        checkpoint_seq=checkpoint.trimmed_through_seq if checkpoint else None,
        problem=problem,
        key_ids=tuple(sorted(walker.key_ids)),
    )


def audit_chain_verify(*, batch_size: int = VERIFY_BATCH_SIZE) -> ChainReport:
    """Walk the current schema's chain from its newest checkpoint (or genesis) to its head.

    Every row's HMAC is recomputed with the audit key of its key id. Rows stream through a
    server-side cursor `batch_size` at a time, so memory stays bounded however long the chain is.
    Stops at the first problem.
    """
    return _walk(batch_size=batch_size, accept_unkeyed=False)


@contextmanager
def _maintenance_lock() -> Iterator[None]:
    """One trim or re-key at a time per chain: a session lock held across their batch transactions."""
    key = f"audit-maintenance:{current_schema()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise ValidationError("Another audit_trim or audit_rekey is running on this chain; try again once it ends.")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
        except DatabaseError:  # an aborted transaction: the lock goes with the session
            pass


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
    rows it is about to delete (a trim never destroys evidence of tampering, nor rows it cannot
    verify: unkeyed rows or rows of a key no longer in the ring; it raises AuditChainBroken
    instead), deletes them, writes an AuditCheckpoint with the last deleted row's seq and MAC, and
    records an `audit.trim` event naming that checkpoint. Writers wait only for one batch at a
    time. Safe to re-run: a later run starts from the newest checkpoint.
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
    with _maintenance_lock():
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
    walker = _walker(keys=audit_keys())
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


@dataclass(frozen=True)
class RekeyResult:
    schema: str
    key_id: str  # the primary key id every row is now sealed with
    rows_rekeyed: int  # rows whose MAC (and link) changed; 0 when the chain was already sealed with key_id
    batches: int  # batches that changed rows
    forced_past: ChainProblem | None  # the verification problem --force re-keyed over, if any


@dataclass
class _RekeyProgress:
    last_seq: int  # the last row re-sealed (or the checkpoint)
    new_prev: str  # its new MAC: what the next row's prev_hash becomes
    walker: _Walker | None  # checks each row as stored before it is re-sealed (None with force)
    rows: int = 0
    batches: int = 0
    forced_past: ChainProblem | None = None
    done: bool = False


def audit_rekey(
    *,
    batch_size: int = REKEY_BATCH_SIZE,
    force: bool = False,
    accept_unkeyed: bool = False,
    actor: Any | None = None,
) -> RekeyResult:
    """Re-seal the current schema's chain with the primary key of the ring, oldest row first.

    First the chain is verified as it stands, each row with the key its key id names. Rows without
    a key id (written before the chain was keyed) are accepted on their plain SHA-256 only with
    `accept_unkeyed`, and only before the first keyed row: a whole chain rewritten as "unkeyed" by
    someone without the key looks exactly like one from before the upgrade, so accepting them is
    the operator's explicit, one-time decision after upgrading. A broken chain, or one with rows
    whose key is no longer in the ring, is refused (AuditChainBroken) unless `force`, which
    re-seals the rows as they are. Then every row gets `key_id` = the primary key id, `prev_hash` =
    the new MAC of the row before and a new MAC, in batches of `batch_size`, each its own
    transaction under the chain lock, each batch checking its rows again before rewriting them. A
    batch that stops mid-chain records its seam in an `audit.rekey_seam` event; the last batch
    moves the chain head and records `audit.rekey` (key id, rows). Resumable: an interrupted run
    leaves a chain that verifies, and the next run continues it. Idempotent: on a chain already
    sealed with the primary key it changes nothing.
    """
    if batch_size < 2:
        raise ValidationError({"batch_size": "The batch size must be at least 2 (a batch adds a row: its seam)."})
    keys = audit_keys()
    with _maintenance_lock():
        report = _walk(batch_size=VERIFY_BATCH_SIZE, accept_unkeyed=accept_unkeyed)
        if report.problem is not None and not force:
            raise AuditChainBroken(report.problem)
        checkpoint = _newest_checkpoint()
        progress = _RekeyProgress(
            last_seq=checkpoint.trimmed_through_seq if checkpoint else 0,
            new_prev=checkpoint.trimmed_through_hash if checkpoint else GENESIS_HASH,
            walker=None if force else _walker(keys=keys, accept_unkeyed=accept_unkeyed),
            forced_past=report.problem,
        )
        while not progress.done:
            _rekey_batch(progress=progress, keys=keys, batch_size=batch_size, actor=actor)
    return RekeyResult(
        schema=current_schema(),
        key_id=keys.primary_kid,
        rows_rekeyed=progress.rows,
        batches=progress.batches,
        forced_past=progress.forced_past,
    )


@transaction.atomic
def _rekey_batch(*, progress: _RekeyProgress, keys: DerivedKeys, batch_size: int, actor: Any | None) -> None:
    chain_lock()
    kid = keys.primary_kid
    rows = list(
        AuditEvent.objects.filter(seq__gt=progress.last_seq)
        .order_by("seq")
        .values(*HASHED_FIELDS, "row_hash")[: 2 * batch_size + 1]
    )
    if len(rows) > 2 * batch_size:
        rows = rows[:batch_size]
    # else: up to two batches' worth is left, so take it all and finish without a seam. (A batch that
    # stops mid-chain appends its seam event to the chain, which the rest of the run re-seals too; so
    # every batch gains batch_size - 1 rows on the chain's end, and the run ends.)
    changed: list[AuditEvent] = []
    for row in rows:
        if progress.walker is not None:
            problem = progress.walker.feed(row)
            if problem is not None:
                raise AuditChainBroken(problem)
        mac = seal_values({**row, "prev_hash": progress.new_prev, "key_id": kid}, keys)
        if (row["prev_hash"], row["key_id"], row["row_hash"]) != (progress.new_prev, kid, mac):
            changed.append(AuditEvent(seq=row["seq"], prev_hash=progress.new_prev, key_id=kid, row_hash=mac))
        progress.last_seq, progress.new_prev = row["seq"], mac
    if changed:
        AuditEvent.objects.bulk_update(changed, ["prev_hash", "key_id", "row_hash"])
        progress.rows += len(changed)
        progress.batches += 1
    following = AuditEvent.objects.filter(seq__gt=progress.last_seq).order_by("seq").values("seq", "prev_hash").first()
    if following is not None:
        if changed and following["prev_hash"] != progress.new_prev:  # this batch leaves a seam: say where
            audit_record(
                actor=actor,
                action=REKEY_SEAM_ACTION,
                metadata={
                    "key_id": kid,
                    "through_seq": progress.last_seq,
                    "through_hash": progress.new_prev,
                    "next_seq": following["seq"],
                    "next_prev_hash": following["prev_hash"],
                },
            )
        return
    # The chain's end: the head must name the last row, now with its new MAC.
    head = AuditChainHead.objects.filter(key=1).first()
    if progress.walker is not None:
        problem = progress.walker.finish(head)
        if problem is not None:
            raise AuditChainBroken(problem)
    end = (progress.last_seq, progress.new_prev)
    if progress.last_seq and (head is None or (head.last_seq, head.last_hash) != end):
        AuditChainHead.objects.update_or_create(
            key=1,
            defaults={"last_seq": progress.last_seq, "last_hash": progress.new_prev, "updated_at": timezone.now()},
        )
    if progress.rows:
        metadata: dict[str, Any] = {"key_id": kid, "rows": progress.rows, "through_seq": progress.last_seq}
        if progress.forced_past is not None:
            metadata["forced_past"] = progress.forced_past.kind
            metadata["forced_past_seq"] = progress.forced_past.seq
        audit_record(actor=actor, action=REKEY_ACTION, metadata=metadata)
    progress.done = True


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
