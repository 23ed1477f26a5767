"""The audit app's retention rules: the record-access log and audit events are kept one year
(DPDP Rules 2025, rule 8(3)), then trimmed; audit events behind a checkpoint, so the chain still
verifies. Periods are minimums: a setting below them is raised to them."""

from __future__ import annotations

import datetime as dt
import uuid

import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.chain import audit_chain_verify
from audit.models import AuditCheckpoint, AuditEvent, RecordAccess
from audit.retention import retention_run
from audit.services import audit_record


def test_access_log_entries_go_after_a_year_and_not_a_day_before(clinic_a):
    now = timezone.now()
    with tenant_context(clinic_a.clinic):
        for days, name in ((366, "old"), (364, "young")):
            RecordAccess.objects.create(
                user_id=uuid.uuid4(), patient_id=uuid.uuid4(), window=days, what=name,
                first_at=now - dt.timedelta(days=days),
            )  # fmt: skip
        run = retention_run(now=now)
        assert run.counts["audit.record_access"] == 1
        assert list(RecordAccess.objects.values_list("what", flat=True)) == ["young"]


def test_audit_events_older_than_a_year_are_trimmed_behind_a_checkpoint(clinic_a):
    now = timezone.now()
    with tenant_context(clinic_a.clinic):
        AuditEvent.objects.all().delete()  # the seeded clinic's own events are new; start a clean chain
        from audit.models import AuditChainHead

        AuditChainHead.objects.all().delete()
        with time_machine.travel(now - dt.timedelta(days=400), tick=False):  # written then: the MAC covers the time
            for n in range(3):
                audit_record(actor=None, action="test.old", object_type="x", object_id=str(n))
        young = audit_record(actor=None, action="test.young", object_type="x", object_id="y")
        dry = retention_run(now=now, dry_run=True)
        assert dry.counts["audit.events"] == 3
        run = retention_run(now=now)
        assert run.counts["audit.events"] == 3 and run.status == "done"
        assert not AuditEvent.objects.filter(action="test.old").exists()
        assert AuditEvent.objects.filter(pk=young.pk).exists()
        assert AuditCheckpoint.objects.count() == 1
        assert audit_chain_verify().ok


def test_periods_are_minimums(settings):
    from docos.settings import base

    assert base.RETENTION_AUDIT_DAYS >= 365 and base.RETENTION_WHATSAPP_BODY_DAYS >= 90


def test_batches_shrink_when_slow_and_grow_back_when_fast(settings):
    """(The run starts at a quarter of RETENTION_BATCH_SIZE and doubles while batches are quick.)"""
    from audit.retention import next_batch_size

    settings.RETENTION_BATCH_TARGET_MS = 400
    assert next_batch_size(5000, 0.9, ceiling=5000) == 2500  # held its locks too long: halve
    assert next_batch_size(150, 0.9, ceiling=5000) == 100  # never below the floor
    assert next_batch_size(2500, 0.1, ceiling=5000) == 5000  # fast: double, up to the ceiling
    assert next_batch_size(5000, 0.1, ceiling=5000) == 5000
    assert next_batch_size(2500, 0.3, ceiling=5000) == 2500  # near the target: keep


def test_a_run_on_a_slow_database_keeps_every_batch_near_the_target(clinic_a, settings):
    """A rule whose batches cost time in proportion to their size (a loaded server): the run halves
    the batch until it fits the target, and still purges everything."""
    import time

    from audit import retention

    settings.RETENTION_BATCH_TARGET_MS = 100
    rows = {"left": 12000}
    sizes: list[int] = []

    def purge(now, limit, cursor):
        sizes.append(limit)
        handled = min(limit, rows["left"])
        time.sleep(handled * 0.0001)  # 5,000 rows -> 0.5 s, 500 rows -> 0.05 s
        rows["left"] -= handled
        return handled

    rule = retention.RetentionRule(key="test.slow", label="slow", count_due=lambda now: rows["left"], purge_batch=purge)
    saved = dict(retention._rules)
    retention._rules.clear()
    retention.register_rule(rule)
    try:
        with tenant_context(clinic_a.clinic):
            run = retention.retention_run(batch_size=5000)
    finally:
        retention._rules.clear()
        retention._rules.update(saved)
    assert run.counts == {"test.slow": 12000} and rows["left"] == 0
    assert sizes[0] == 1250 and min(sizes) < 1000  # starts at a quarter, shrank when slow
    assert run.longest_batch_ms < 1000
