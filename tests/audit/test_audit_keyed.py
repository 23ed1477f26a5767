"""The keyed audit chain: HMAC-SHA256 under a key derived from the key ring, rotation and `audit_rekey`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from audit import chain as audit_chain
from audit.chain import AuditChainBroken, audit_chain_verify, audit_rekey, audit_trim
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import AUDIT_KEY_INFO, HASHED_FIELDS, audit_record, canonical_content, canonical_values
from docos import crypto
from docos.devkeys import TEST_ENCRYPTION_KEYS
from tests.audit.test_audit_concurrency import _in_own_connection, scratch_schema  # noqa: F401  (fixture)
from tests.docos.crypto_helpers import rotated_ring


def _record(seeded: Any, n: int, *, action: str = "test.event") -> list[AuditEvent]:
    owner = seeded.users["owner"]
    return [audit_record(actor=owner, action=action, obj=owner, metadata={"i": i}) for i in range(n)]


def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _rows() -> list[dict[str, Any]]:
    return list(AuditEvent.objects.order_by("seq").values(*HASHED_FIELDS, "row_hash"))


def _plain_sha256_rebuild(*, from_seq: int, clear_key_id: bool = False) -> None:
    """The attack the plain hash allowed: recompute every hash from `from_seq` on, and the head, with
    SHA-256 over the canonical content (no key needed), so every link and the head match again."""
    prev = None
    for row in _rows():
        if row["seq"] < from_seq:
            prev = row["row_hash"]
            continue
        if clear_key_id:
            row["key_id"] = ""
        if prev is not None:
            row["prev_hash"] = prev
        row["row_hash"] = hashlib.sha256(canonical_values(row)).hexdigest()
        _sql(
            "UPDATE audit_auditevent SET prev_hash = %s, row_hash = %s, key_id = %s WHERE seq = %s",
            [row["prev_hash"], row["row_hash"], row["key_id"], row["seq"]],
        )
        prev = row["row_hash"]
        last = row["seq"]
    AuditChainHead.objects.filter(key=1).update(last_seq=last, last_hash=prev)


def _make_legacy_chain() -> None:
    """Turn the current schema's chain into one written before keying: no key ids, plain SHA-256."""
    first = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    assert first is not None
    _plain_sha256_rebuild(from_seq=first, clear_key_id=True)


@pytest.fixture
def fresh_chain(clinic_a: Any, in_tenant: Any) -> Any:
    with in_tenant(clinic_a):
        AuditEvent.objects.all().delete()
        AuditChainHead.objects.all().delete()
        AuditCheckpoint.objects.all().delete()
    return clinic_a


@pytest.fixture
def ring_k2() -> Iterator[str]:
    """The ring after a rotation: a new primary k2, the test key (test1) kept after it."""
    ring = rotated_ring("k2")
    yield ring


# --- the MAC ---------------------------------------------------------------------------------------


def test_each_row_carries_the_primary_key_id_and_an_hmac_under_the_derived_key(clinic_a, in_tenant):
    raw = crypto.key_ring_material(TEST_ENCRYPTION_KEYS)["test1"]
    with in_tenant(clinic_a):
        (event,) = _record(clinic_a, 1)
        stored = AuditEvent.objects.get(seq=event.seq)
    audit_key = crypto.derive_key(raw, b"docos-audit-chain-v1")
    assert stored.key_id == "test1"
    assert stored.row_hash == hmac.new(audit_key, canonical_content(stored), hashlib.sha256).hexdigest()
    assert stored.row_hash != hashlib.sha256(canonical_content(stored)).hexdigest()
    # Never the raw encryption key: an HMAC under it is not the row's MAC.
    assert stored.row_hash != hmac.new(raw, canonical_content(stored), hashlib.sha256).hexdigest()


def test_derived_keys_are_per_purpose_and_per_key_id(ring_k2):
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
        audit = crypto.derived_keys(AUDIT_KEY_INFO)
        other = crypto.derived_keys(b"docos-something-else-v1")
        raw = crypto.key_ring_material(ring_k2)
    assert audit.primary_kid == "k2"
    assert set(audit.keys) == {"k2", "test1"}
    assert audit.key("k2") != audit.key("test1")
    assert audit.key("k2") != other.key("k2")
    assert all(len(key) == 32 and key not in raw.values() for key in audit.keys.values())
    with pytest.raises(crypto.UnknownKeyError, match="'gone' is not in the key ring"):
        audit.key("gone")


def test_the_key_id_is_covered_by_the_mac(clinic_a, in_tenant, ring_k2):
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2), in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("UPDATE audit_auditevent SET key_id = 'test1' WHERE seq = %s", [events[1].seq])
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("content_changed", events[1].seq)


# --- the old attack ---------------------------------------------------------------------------------


def test_row_rewritten_with_a_recomputed_plain_sha256_fails_verification(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 4)
        _sql("UPDATE audit_auditevent SET action = 'user.harmless' WHERE seq = %s", [events[1].seq])
        _plain_sha256_rebuild(from_seq=events[1].seq)  # every later link and the head match again
        report = audit_chain_verify()
    assert not report.ok
    assert (report.problem.kind, report.problem.seq) == ("content_changed", events[1].seq)
    assert "recomputed without the audit key" in report.problem.detail


def test_rewritten_row_passed_off_as_unkeyed_fails_verification(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 4)
        _sql("UPDATE audit_auditevent SET action = 'user.harmless' WHERE seq = %s", [events[1].seq])
        _plain_sha256_rebuild(from_seq=events[1].seq, clear_key_id=True)
        report = audit_chain_verify()
        with pytest.raises(AuditChainBroken) as refused:  # nor can a re-key launder it
            audit_rekey(accept_unkeyed=True)
    assert (report.problem.kind, report.problem.seq) == ("not_keyed", events[1].seq)
    assert (refused.value.problem.kind, refused.value.problem.seq) == ("not_keyed", events[1].seq)


def test_audit_verify_command_fails_on_the_old_attack(clinic_a, clinic_b, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("UPDATE audit_auditevent SET ip = '10.0.0.1' WHERE seq = %s", [events[0].seq])
        _plain_sha256_rebuild(from_seq=events[0].seq)
    connection.set_schema_to_public()
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("audit_verify", stdout=out)
    assert excinfo.value.returncode == 1
    assert f"BROKEN alpha (t_alpha): first break at #{events[0].seq}: content changed" in out.getvalue()
    assert "OK     beta (t_beta)" in out.getvalue()


# --- rotation -------------------------------------------------------------------------------------------


def test_after_rotation_new_rows_use_the_new_key_and_old_rows_verify_with_theirs(clinic_a, in_tenant, ring_k2):
    with in_tenant(clinic_a):
        old = _record(clinic_a, 2)
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            new = _record(clinic_a, 2)
            report = audit_chain_verify()
    assert [e.key_id for e in old + new] == ["test1", "test1", "k2", "k2"]
    assert report.ok, report.problem
    assert report.key_ids == ("k2", "test1")


def test_old_key_missing_from_the_ring_is_a_clear_error(clinic_a, in_tenant, ring_k2):
    only_new = ring_k2.split(",")[0]
    with in_tenant(clinic_a):
        old = _record(clinic_a, 1)
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            _record(clinic_a, 1)
        with override_settings(DOCOS_ENCRYPTION_KEYS=only_new):
            report = audit_chain_verify()
            with pytest.raises(AuditChainBroken) as refused:
                audit_rekey()
    assert report.problem is not None
    assert report.problem.kind == "key_missing"
    assert report.problem.seq <= old[0].seq  # the first row of the old key
    assert "key id 'test1', which is not in DOCOS_ENCRYPTION_KEYS" in str(report.problem)
    assert refused.value.problem.kind == "key_missing"


def test_audit_verify_command_reports_a_missing_key_as_an_error(clinic_a, clinic_b, ring_k2):
    connection.set_schema_to_public()
    out = StringIO()
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2.split(",")[0]), pytest.raises(CommandError) as excinfo:
        call_command("audit_verify", "--clinic", "alpha", stdout=out)
    assert excinfo.value.returncode == 1
    assert out.getvalue().startswith("ERROR  alpha (t_alpha): cannot verify from #")
    assert "key id 'test1', which is not in DOCOS_ENCRYPTION_KEYS" in out.getvalue()


def test_rotation_then_rekey_then_dropping_the_old_key_verifies(clinic_a, in_tenant, ring_k2):
    with in_tenant(clinic_a):
        _record(clinic_a, 3)
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            _record(clinic_a, 2)
            result = audit_rekey(batch_size=2)
            again = audit_rekey()
            assert audit_chain_verify().ok
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2.split(",")[0]):  # test1 dropped
            report = audit_chain_verify()
            _record(clinic_a, 1)
            after_write = audit_chain_verify()
        kids = set(AuditEvent.objects.values_list("key_id", flat=True))
        rekey = AuditEvent.objects.filter(action="audit.rekey").get()
    assert result.rows_rekeyed >= 5 and result.batches >= 2 and result.key_id == "k2"
    assert again.rows_rekeyed == 0
    assert report.ok, report.problem
    assert after_write.ok, after_write.problem
    assert report.key_ids == ("k2",)
    assert kids == {"k2"}
    assert rekey.metadata["key_id"] == "k2" and rekey.metadata["rows"] == result.rows_rekeyed


# --- re-keying ------------------------------------------------------------------------------------------


def test_rekey_seals_a_chain_written_before_keying(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 5)
        _make_legacy_chain()
        before = audit_chain_verify()
        with pytest.raises(AuditChainBroken) as refused:  # not without the operator's say-so
            audit_rekey(batch_size=2)
        result = audit_rekey(batch_size=2, accept_unkeyed=True)
        after = audit_chain_verify()
        rows = _rows()
    assert (before.problem.kind, before.problem.seq) == ("not_keyed", events[0].seq)
    assert "audit_rekey --accept-unkeyed" in before.problem.detail
    assert refused.value.problem.kind == "not_keyed"
    assert after.ok, after.problem
    # Batch 1 re-seals two rows and leaves a seam (one event); batch 2 finds at most two batches' worth
    # left (three events and the seam event) and takes them all; the run ends with its audit.rekey.
    assert (result.rows_rekeyed, result.batches) == (6, 2)
    assert {row["key_id"] for row in rows} == {"test1"}
    assert [row["action"] for row in rows] == ["test.event"] * 5 + ["audit.rekey_seam", "audit.rekey"]


def test_rekey_refuses_a_broken_chain_and_changes_nothing(clinic_a, in_tenant, ring_k2):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = %s", [events[1].seq])
        before = _rows()
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2), pytest.raises(AuditChainBroken) as refused:
            audit_rekey()
        after = _rows()
    assert (refused.value.problem.kind, refused.value.problem.seq) == ("content_changed", events[1].seq)
    assert after == before


def test_rekey_with_force_reseals_a_broken_chain_and_says_so(clinic_a, in_tenant, ring_k2):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            result = audit_rekey(force=True)
            report = audit_chain_verify()
        rekey = AuditEvent.objects.get(action="audit.rekey")
    assert result.forced_past is not None and result.forced_past.kind == "row_missing"
    assert report.ok, report.problem
    assert (rekey.metadata["forced_past"], rekey.metadata["forced_past_seq"]) == ("row_missing", events[2].seq)


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    real = audit_chain._rekey_batch
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] > batches:
            raise KeyboardInterrupt("operator pressed Ctrl-C")
        real(**kwargs)

    monkeypatch.setattr(audit_chain, "_rekey_batch", flaky)


def test_interrupted_rekey_leaves_a_chain_that_verifies_and_resumes(fresh_chain, in_tenant, ring_k2, monkeypatch):
    with in_tenant(fresh_chain):
        _record(fresh_chain, 7)
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            _interrupt_after(monkeypatch, 2)
            with pytest.raises(KeyboardInterrupt):
                audit_rekey(batch_size=2)
            monkeypatch.undo()
            midway = audit_chain_verify()
            kids = list(AuditEvent.objects.order_by("seq").values_list("key_id", flat=True))
            _record(fresh_chain, 2, action="test.during")  # writers carry on meanwhile
            assert audit_chain_verify().ok
            result = audit_rekey(batch_size=2)
            done = audit_chain_verify()
            again = audit_rekey(batch_size=2)
        seams = AuditEvent.objects.filter(action="audit.rekey_seam").count()
        final_kids = set(AuditEvent.objects.values_list("key_id", flat=True))
    assert midway.ok, midway.problem
    assert kids[:4] == ["k2"] * 4 and kids[4:7] == ["test1"] * 3
    assert result.rows_rekeyed > 0
    assert done.ok, done.problem
    assert again.rows_rekeyed == 0
    assert seams >= 2
    assert final_kids == {"k2"}


def test_row_deleted_at_the_seam_of_an_interrupted_rekey_is_detected(fresh_chain, in_tenant, ring_k2, monkeypatch):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 6)
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            _interrupt_after(monkeypatch, 1)
            with pytest.raises(KeyboardInterrupt):
                audit_rekey(batch_size=2)  # re-seals events 0 and 1, then stops
            monkeypatch.undo()
            assert audit_chain_verify().ok
            _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[2].seq])  # the first row after the seam
            report = audit_chain_verify()
            with pytest.raises(AuditChainBroken):
                audit_rekey()
    assert (report.problem.kind, report.problem.seq) == ("row_missing", events[3].seq)


def test_interrupted_rekey_of_an_unkeyed_chain_says_rows_are_not_keyed_yet(fresh_chain, in_tenant, monkeypatch):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 6)
        _make_legacy_chain()
        _interrupt_after(monkeypatch, 1)
        with pytest.raises(KeyboardInterrupt):
            audit_rekey(batch_size=2, accept_unkeyed=True)
        monkeypatch.undo()
        midway = audit_chain_verify()
        audit_rekey(batch_size=2, accept_unkeyed=True)
        done = audit_chain_verify()
    assert (midway.problem.kind, midway.problem.seq) == ("not_keyed", events[2].seq)
    assert done.ok, done.problem


def test_a_seam_claimed_without_the_key_is_not_accepted(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 4)
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[2].seq])
        # Someone with only database access dresses an event up as a re-key seam over the deleted row.
        event = audit_record(actor=None, action="test.event", metadata={})
        claim = {
            "key_id": "test1",
            "through_seq": events[1].seq,
            "through_hash": events[1].row_hash,
            "next_seq": events[3].seq,
            "next_prev_hash": events[2].row_hash,
        }
        _sql(
            "UPDATE audit_auditevent SET action = 'audit.rekey_seam', metadata = %s::jsonb WHERE seq = %s",
            [json.dumps(claim), event.seq],
        )
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("row_missing", events[3].seq)


def test_trim_still_works_after_rotation_and_rekey(fresh_chain, in_tenant, ring_k2):
    now = timezone.now()
    with in_tenant(fresh_chain):
        with mock.patch("django.utils.timezone.now", return_value=now - dt.timedelta(days=40)):
            _record(fresh_chain, 3)
        with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
            _record(fresh_chain, 2)
            trimmed = audit_trim(before=now - dt.timedelta(days=30))
            assert audit_chain_verify().ok
            audit_rekey(batch_size=2)
            report = audit_chain_verify()
        checkpoint = AuditCheckpoint.objects.get()
    assert trimmed.rows_trimmed == 3
    assert report.ok, report.problem
    assert report.checkpoint_seq == checkpoint.trimmed_through_seq
    assert report.key_ids == ("k2",)


def test_trim_refuses_rows_written_before_keying(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        _record(fresh_chain, 2)
        _make_legacy_chain()
        with pytest.raises(AuditChainBroken) as refused:
            audit_trim(before=timezone.now())
    assert refused.value.problem.kind == "not_keyed"


# --- the command ----------------------------------------------------------------------------------------


def test_audit_rekey_command_reseals_every_chain_and_a_second_run_has_nothing_to_do(clinic_a, clinic_b, ring_k2):
    connection.set_schema_to_public()
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
        first, second, verify = StringIO(), StringIO(), StringIO()
        call_command("audit_rekey", "--batch-size", "3", stdout=first)
        call_command("audit_rekey", stdout=second)
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2.split(",")[0]):
        call_command("audit_verify", stdout=verify)
    assert "alpha (t_alpha): re-sealed" in first.getvalue() and "with key k2" in first.getvalue()
    assert "beta (t_beta): re-sealed" in first.getvalue()
    assert "alpha (t_alpha): 0 to do, every row is sealed with key k2" in second.getvalue()
    lines = verify.getvalue().splitlines()
    assert all(line.startswith("OK") for line in lines)
    assert sum("(key k2)" in line for line in lines) == 2  # alpha and beta (public holds no rows here)


def test_audit_rekey_command_refuses_a_broken_chain_unless_forced(clinic_a, clinic_b, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 2)
        _sql("UPDATE audit_auditevent SET action = 'x.y' WHERE seq = %s", [events[0].seq])
    connection.set_schema_to_public()
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("audit_rekey", stdout=out)
    assert excinfo.value.returncode == 1
    assert f"NOT RE-KEYED alpha (t_alpha): the chain does not verify: #{events[0].seq}: content changed" in (
        out.getvalue()
    )
    forced = StringIO()
    call_command("audit_rekey", "--clinic", "alpha", "--force", stdout=forced)
    assert "forced past" in forced.getvalue()
    call_command("audit_verify", "--clinic", "alpha", stdout=StringIO())


# --- writers carry on during a re-key (real commits, in a scratch schema) -------------------------------


def test_writers_keep_writing_while_a_rekey_runs(scratch_schema, ring_k2):  # noqa: F811  (fixture)
    import threading

    from django_tenants.utils import schema_context

    def write(n: int, tag: str) -> None:
        with schema_context(scratch_schema):
            for i in range(n):
                audit_record(actor=None, action="test.concurrent", metadata={"writer": tag, "i": i})

    with override_settings(DOCOS_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS):
        _in_own_connection(lambda: write(60, "before"))
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring_k2):
        outcome: dict[str, Any] = {}

        def rekey() -> None:
            with schema_context(scratch_schema):
                outcome["result"] = audit_rekey(batch_size=7)

        writers = [threading.Thread(target=_in_own_connection, args=(lambda t=t: write(15, t),)) for t in "ab"]
        rekeyer = threading.Thread(target=_in_own_connection, args=(rekey,))
        for thread in (rekeyer, *writers):
            thread.start()
        for thread in (rekeyer, *writers):
            thread.join(timeout=120)

        def check() -> tuple[Any, set[str], int]:
            with schema_context(scratch_schema):
                audit_rekey(batch_size=50)  # rows written after the re-key passed them were under k2 already
                report = audit_chain_verify()
                kids = set(AuditEvent.objects.values_list("key_id", flat=True))
                writes = AuditEvent.objects.filter(action="test.concurrent").count()
            return report, kids, writes

        report, kids, writes = _in_own_connection(check)
    assert outcome["result"].rows_rekeyed >= 60
    assert report.ok, report.problem
    assert kids == {"k2"}
    assert writes == 90
