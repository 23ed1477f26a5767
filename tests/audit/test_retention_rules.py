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
