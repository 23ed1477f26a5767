"""Verification and trimming of the tamper-evident audit chain (audit.chain)."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from audit.chain import AuditChainBroken, audit_chain_verify, audit_trim
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import GENESIS_HASH, audit_record


def _request(ip: str = "203.0.113.7", agent: str = "pytest-agent/1.0"):
    return RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def _record(seeded, n: int, *, action: str = "test.event", at: dt.datetime | None = None) -> list[AuditEvent]:
    """n events by the clinic's owner, optionally stamped at `at` (as if written back then)."""
    owner = seeded.users["owner"]
    events = []
    for i in range(n):
        clock = mock.patch("django.utils.timezone.now", return_value=at) if at else contextlib.nullcontext()
        with clock:
            events.append(
                audit_record(
                    actor=owner,
                    action=action,
                    obj=owner,
                    changed_fields=["full_name", "phone"],
                    location_id=seeded.locations[0].pk,
                    request=_request(),
                    metadata={"i": i, "source": "test"},
                )
            )
    return events


def _sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@pytest.fixture
def fresh_chain(clinic_a, in_tenant):
    """Clinic A with an empty chain (rolled back after the test), for tests that need old rows first."""
    with in_tenant(clinic_a):
        AuditEvent.objects.all().delete()
        AuditChainHead.objects.all().delete()
        AuditCheckpoint.objects.all().delete()
    return clinic_a


def test_untouched_chain_verifies_clean(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 5)
        report = audit_chain_verify(batch_size=2)  # several round trips
    assert report.ok, report.problem
    assert report.head_seq == events[-1].seq
    assert report.head_hash == events[-1].row_hash
    assert report.rows_checked >= 5


def test_rows_link_to_the_previous_row_and_the_head_follows(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        first, second = _record(fresh_chain, 2)
        head = AuditChainHead.objects.get()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.row_hash
    assert (head.last_seq, head.last_hash) == (second.seq, second.row_hash)


@pytest.mark.parametrize(
    "column, new_value",
    [
        ("occurred_at", "occurred_at - interval '1 second'"),
        ("actor_id", "gen_random_uuid()"),
        ("actor_label", "'mallory@example.in'"),
        ("action", "'user.login'"),
        ("object_type", "'accounts.role'"),
        ("object_id", "'someone-else'"),
        ("location_id", "gen_random_uuid()"),
        ("ip", "'10.9.9.9'"),
        ("user_agent", "'curl/8'"),
        ("changed_fields", "ARRAY['email']::varchar[]"),
        ("metadata", """'{"i": 99}'::jsonb"""),
        ("prev_hash", "repeat('a', 64)"),
        ("row_hash", "repeat('b', 64)"),
    ],
)
def test_sql_update_of_any_column_is_detected_at_its_seq(clinic_a, in_tenant, column, new_value):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        target = events[1].seq
        _sql(f"UPDATE audit_auditevent SET {column} = {new_value} WHERE seq = %s", [target])
        report = audit_chain_verify()
    assert not report.ok
    assert report.problem.seq == target
    assert report.problem.kind == "content_changed"


def test_sql_update_of_seq_is_detected(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("UPDATE audit_auditevent SET seq = seq + 1000000 WHERE seq = %s", [events[1].seq])
        report = audit_chain_verify()
    assert not report.ok
    assert report.problem.seq == events[2].seq  # the row after the gap now links to nothing
    assert report.problem.kind == "row_missing"


def test_sql_delete_of_a_middle_row_is_detected(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 4)
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
        report = audit_chain_verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("row_missing", events[2].seq)
    assert f"#{events[2].seq}" in str(report.problem)


def test_sql_delete_of_the_first_row_is_detected(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 3)
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[0].seq])
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("row_missing", events[1].seq)


def test_replaced_row_with_recomputed_hash_breaks_the_next_link(clinic_a, in_tenant):
    from audit.services import row_hash

    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        forged = AuditEvent.objects.get(seq=events[1].seq)
        forged.action = "user.harmless"
        forged.row_hash = row_hash(forged)
        _sql(
            "UPDATE audit_auditevent SET action = %s, row_hash = %s WHERE seq = %s",
            [forged.action, forged.row_hash, forged.seq],
        )
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("link_broken", events[2].seq)


def test_sql_delete_of_the_newest_rows_is_detected(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 4)
        _sql("DELETE FROM audit_auditevent WHERE seq >= %s", [events[2].seq])
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("row_missing", events[3].seq)


def test_deleted_newest_rows_stay_detected_after_later_writes(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[2].seq])
        later = _record(clinic_a, 2)
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("row_missing", later[0].seq)


def test_deleting_the_head_with_the_newest_rows_leaves_a_mark_in_the_chain(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 3)
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[2].seq])
        _sql("DELETE FROM audit_auditchainhead")
        assert audit_chain_verify().problem.kind == "head_missing"
        later = _record(clinic_a, 1)
        report = audit_chain_verify()
        restored = AuditEvent.objects.get(action="audit.head_restored")
    assert (report.problem.kind, report.problem.seq) == ("head_missing", restored.seq)
    assert restored.seq < later[0].seq


def test_row_inserted_behind_the_writers_back_is_detected(clinic_a, in_tenant):
    from audit.services import row_hash

    with in_tenant(clinic_a):
        events = _record(clinic_a, 2)
        forged = AuditEvent(
            seq=events[-1].seq + 50,
            occurred_at=timezone.now(),
            action="user.login",
            prev_hash=events[-1].row_hash,
            key_id=events[-1].key_id,  # even with the audit key: the head does not name it
        )
        forged.row_hash = row_hash(forged)
        forged.save(force_insert=True)
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("head_mismatch", forged.seq)


def test_ip_address_and_metadata_round_trip_through_postgres_without_breaking_hashes(fresh_chain, in_tenant):
    owner = fresh_chain.users["owner"]
    with in_tenant(fresh_chain):
        for ip in ("2001:DB8:0:0:0:0:0:1", "::ffff:192.0.2.1", "198.51.100.4", "fe80::1%eth0", "not-an-ip"):
            audit_record(
                actor=owner,
                action="test.ip",
                request=_request(ip=ip, agent="nul\x00byte"),
                metadata={"big": 1e16, "small": 1.5e-7, "id": uuid.uuid4(), "pair": (1, 2), "when": timezone.now()},
            )
        report = audit_chain_verify()
        ips = list(AuditEvent.objects.order_by("seq").values_list("ip", flat=True))
    assert report.ok, report.problem
    assert ips == ["2001:db8::1", "::ffff:192.0.2.1", "198.51.100.4", "fe80::1", None]


def test_trim_then_verify_passes(fresh_chain, in_tenant):
    now = timezone.now()
    with in_tenant(fresh_chain):
        old = _record(fresh_chain, 5, at=now - dt.timedelta(days=40))
        recent = _record(fresh_chain, 2, at=now - dt.timedelta(days=1))
        result = audit_trim(before=now - dt.timedelta(days=30), batch_size=2, reason="retention")
        report = audit_chain_verify()
        remaining = set(AuditEvent.objects.values_list("seq", flat=True))
        checkpoint = AuditCheckpoint.objects.order_by("-trimmed_through_seq").first()
        trims = list(AuditEvent.objects.filter(action="audit.trim").order_by("seq"))
    assert report.ok, report.problem
    assert (result.rows_trimmed, result.checkpoints, result.through_seq) == (5, 3, old[-1].seq)
    assert not remaining & {e.seq for e in old}
    assert {e.seq for e in recent} <= remaining
    assert (checkpoint.trimmed_through_seq, checkpoint.trimmed_through_hash) == (old[-1].seq, old[-1].row_hash)
    assert len(trims) == 3
    assert trims[-1].metadata["through_seq"] == old[-1].seq
    assert trims[-1].metadata["rows"] == 1
    assert trims[-1].metadata["reason"] == "retention"


def test_trim_stops_at_the_first_row_newer_than_the_cutoff(fresh_chain, in_tenant):
    now = timezone.now()
    with in_tenant(fresh_chain):
        _record(fresh_chain, 2, at=now - dt.timedelta(days=40))
        _record(fresh_chain, 1, at=now - dt.timedelta(days=1))
        skewed = _record(fresh_chain, 1, at=now - dt.timedelta(days=50))  # a clock-skewed later row
        result = audit_trim(before=now - dt.timedelta(days=30))
        kept = AuditEvent.objects.filter(seq=skewed[0].seq).exists()
        report = audit_chain_verify()
    assert result.rows_trimmed == 2
    assert kept
    assert report.ok, report.problem


def test_trim_with_nothing_old_changes_nothing(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        _record(clinic_a, 2)
        before_count = AuditEvent.objects.count()
        result = audit_trim(before=timezone.now() - dt.timedelta(days=30))
        assert AuditEvent.objects.count() == before_count
        assert not AuditCheckpoint.objects.exists()
    assert result.rows_trimmed == 0


def test_trim_then_tamper_is_detected(fresh_chain, in_tenant):
    now = timezone.now()
    with in_tenant(fresh_chain):
        _record(fresh_chain, 3, at=now - dt.timedelta(days=40))
        recent = _record(fresh_chain, 3, at=now - dt.timedelta(days=1))
        audit_trim(before=now - dt.timedelta(days=30))
        _sql("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = %s", [recent[1].seq])
        changed = audit_chain_verify()
        _sql("UPDATE audit_auditevent SET object_id = %s WHERE seq = %s", [recent[1].object_id, recent[1].seq])
        assert audit_chain_verify().ok
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [recent[0].seq])
        deleted = audit_chain_verify()
    assert (changed.problem.kind, changed.problem.seq) == ("content_changed", recent[1].seq)
    assert (deleted.problem.kind, deleted.problem.seq) == ("row_missing", recent[1].seq)


def test_trim_refuses_to_delete_tampered_rows(fresh_chain, in_tenant):
    now = timezone.now()
    with in_tenant(fresh_chain):
        old = _record(fresh_chain, 3, at=now - dt.timedelta(days=40))
        _sql("UPDATE audit_auditevent SET action = 'x.y' WHERE seq = %s", [old[1].seq])
        with pytest.raises(AuditChainBroken) as excinfo:
            audit_trim(before=now - dt.timedelta(days=30))
        assert AuditEvent.objects.filter(seq__in=[e.seq for e in old]).count() == 3
        assert not AuditCheckpoint.objects.exists()
    assert excinfo.value.problem.seq == old[1].seq


def test_forged_checkpoint_hiding_tampered_rows_is_detected(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 5)
        _sql("UPDATE audit_auditevent SET action = 'x.y' WHERE seq = %s", [events[1].seq])
        # Pretend the tampered rows were trimmed: delete them and add a matching checkpoint.
        _sql("DELETE FROM audit_auditevent WHERE seq <= %s", [events[2].seq])
        AuditCheckpoint.objects.create(
            trimmed_through_seq=events[2].seq, trimmed_through_hash=events[2].row_hash, rows_trimmed=3
        )
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("checkpoint_invalid", events[2].seq)


def test_checkpoint_that_leaves_older_rows_behind_is_detected(fresh_chain, in_tenant):
    with in_tenant(fresh_chain):
        events = _record(fresh_chain, 4)
        AuditCheckpoint.objects.create(
            trimmed_through_seq=events[1].seq, trimmed_through_hash=events[1].row_hash, rows_trimmed=2
        )
        report = audit_chain_verify()
    assert (report.problem.kind, report.problem.seq) == ("checkpoint_invalid", events[0].seq)


def test_trim_rejects_a_future_or_naive_cutoff(clinic_a, in_tenant):
    with in_tenant(clinic_a), pytest.raises(ValidationError):
        audit_trim(before=timezone.now() + dt.timedelta(days=1))
    with in_tenant(clinic_a), pytest.raises(ValidationError):
        audit_trim(before=dt.datetime(2020, 1, 1))


def test_audit_verify_command_reports_every_clinic_and_public(clinic_a, clinic_b):
    out = StringIO()
    call_command("audit_verify", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("OK") and "public (public)" in line for line in lines)
    assert any(line.startswith("OK") and "alpha (t_alpha)" in line for line in lines)
    assert any(line.startswith("OK") and "beta (t_beta)" in line for line in lines)


def test_audit_verify_command_names_the_first_broken_seq_and_fails(clinic_a, clinic_b, in_tenant):
    with in_tenant(clinic_a):
        events = _record(clinic_a, 4)
        _sql("UPDATE audit_auditevent SET ip = '10.0.0.1' WHERE seq = %s", [events[1].seq])
        _sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[3].seq])
    connection.set_schema_to_public()
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("audit_verify", stdout=out)
    assert excinfo.value.returncode == 1
    output = out.getvalue()
    assert f"BROKEN alpha (t_alpha): first break at #{events[1].seq}: content changed" in output
    assert "OK     beta (t_beta)" in output  # the other clinic is unaffected

    single = StringIO()
    call_command("audit_verify", "--clinic", "beta", stdout=single)
    assert "alpha" not in single.getvalue()


def test_audit_verify_command_rejects_an_unknown_clinic(db):
    with pytest.raises(CommandError, match="No clinic"):
        call_command("audit_verify", "--clinic", "nope", stdout=StringIO())


def test_audit_trim_command_trims_old_rows_and_verify_still_passes(fresh_chain, in_tenant):
    now = timezone.now()
    with in_tenant(fresh_chain):
        _record(fresh_chain, 3, at=now - dt.timedelta(days=100))
        _record(fresh_chain, 1, at=now - dt.timedelta(days=2))
    connection.set_schema_to_public()
    out = StringIO()
    call_command("audit_trim", "--older-than-days", "90", "--clinic", "alpha", stdout=out)
    assert "alpha (t_alpha): trimmed 3 rows" in out.getvalue()
    verify = StringIO()
    call_command("audit_verify", "--clinic", "alpha", stdout=verify)
    assert verify.getvalue().startswith("OK")
    with in_tenant(fresh_chain):
        trim = AuditEvent.objects.get(action="audit.trim")
    assert trim.actor_id is None
    assert trim.metadata["reason"] == "audit_trim --older-than-days 90"


def test_audit_trim_command_requires_a_positive_age(db):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("audit_trim", "--older-than-days", "0", stdout=StringIO())
