"""WhatsApp retention: texts, template values and media go 90 days after they were sent (at the
boundary, not a day early), metadata stays, conversations marked "Keep" are skipped, files are
really deleted from storage, a crash between the commit and the file deletion is finished by the
next run, and a dry run changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from audit.models import AuditEvent, PurgeRun
from audit.retention import retention_run
from docos.storage import file_storage, store_encrypted
from messaging import retention
from messaging.models import Contact, InboundMessage, MediaStatus, OutboundMessage
from messaging.selectors import PURGED_TEXT
from tests.appointments.helpers import make_patient
from tests.clock import CLINIC_MORNING

NOW = CLINIC_MORNING
DAY = dt.timedelta(days=1)


def _contact(wa_id: str = "919812345678", **fields) -> Contact:
    return Contact.objects.create(wa_id=wa_id, last_message_at=NOW, **fields)


def _inbound(contact: Contact, age: dt.timedelta, key: str, *, text: str = "Mera BP 150/95 hai", **fields):
    return InboundMessage.objects.create(
        contact=contact, vendor_message_id=f"wamid.{key}", body=text, sent_at=NOW - age, **{"kind": "text", **fields}
    )


def _outbound(contact: Contact, age: dt.timedelta, key: str, **fields) -> OutboundMessage:
    defaults = {"kind": "text", "body": "Aapki report taiyar hai", "status": "read", "sent_at": NOW - age}
    return OutboundMessage.objects.create(
        contact=contact, idempotency_key=key, created_at=NOW - age, **{**defaults, **fields}
    )


def test_texts_go_at_90_days_and_not_a_minute_before(clinic_a):
    with tenant_context(clinic_a.clinic):
        contact = _contact()
        young_in = _inbound(contact, 90 * DAY - dt.timedelta(minutes=1), "young")
        old_in = _inbound(contact, 90 * DAY + dt.timedelta(minutes=1), "old", payload={"id": "confirm"})
        young_out = _outbound(contact, 90 * DAY - dt.timedelta(minutes=1), "young-out")
        old_out = _outbound(contact, 90 * DAY + dt.timedelta(minutes=1), "old-out", pricing_category="service")
        template = _outbound(
            contact, 100 * DAY, "tpl", kind="template", body=None, template_name="appointment_reminder",
            parameters=["Asha", "10 Dec, 10:30"],
        )  # fmt: skip
        run = retention_run(now=NOW)
        assert run.status == PurgeRun.Status.DONE
        assert run.counts["messaging.inbound"] == 1 and run.counts["messaging.outbound"] == 2
        for row in (young_in, old_in, young_out, old_out, template):
            row.refresh_from_db()
        assert young_in.body == "Mera BP 150/95 hai" and young_in.purged_at is None
        assert young_out.body == "Aapki report taiyar hai" and young_out.purged_at is None
        assert old_in.body is None and old_in.payload is None and old_in.purged_at is not None
        assert old_in.vendor_message_id == "wamid.old" and old_in.sent_at == NOW - 90 * DAY - dt.timedelta(minutes=1)
        assert old_out.body is None and old_out.status == "read" and old_out.pricing_category == "service"
        assert template.parameters is None and template.template_name == "appointment_reminder"


def test_a_second_run_finds_nothing_and_queued_messages_are_left_to_the_outbox(clinic_a):
    with tenant_context(clinic_a.clinic):
        contact = _contact()
        _inbound(contact, 120 * DAY, "a")
        queued = _outbound(contact, 120 * DAY, "q", status="queued", sent_at=None)
        assert retention_run(now=NOW).counts["messaging.inbound"] == 1
        again = retention_run(now=NOW)
        assert again.counts["messaging.inbound"] == 0 and again.counts["messaging.outbound"] == 0
        queued.refresh_from_db()
        assert queued.body == "Aapki report taiyar hai"


def test_a_conversation_marked_keep_is_skipped_both_ways_until_the_flag_is_lifted(clinic_a):
    with tenant_context(clinic_a.clinic):
        patient = make_patient(clinic_a)
        kept = _contact(patient=patient, retained_at=NOW - 10 * DAY, retain_reason="Medico-legal case")
        other = _contact(wa_id="919876500001")
        kept_in = _inbound(kept, 200 * DAY, "k1")
        template_to_patient = OutboundMessage.objects.create(
            patient=patient, idempotency_key="k-tpl", kind="template", status="read", template_name="t",
            parameters=["Asha"], created_at=NOW - 200 * DAY,
        )  # fmt: skip
        other_in = _inbound(other, 200 * DAY, "o1")
        retention_run(now=NOW)
        kept_in.refresh_from_db()
        template_to_patient.refresh_from_db()
        other_in.refresh_from_db()
        assert kept_in.purged_at is None and template_to_patient.parameters == ["Asha"]
        assert other_in.purged_at is not None
        Contact.objects.filter(pk=kept.pk).update(retained_at=None)
        retention_run(now=NOW)
        kept_in.refresh_from_db()
        template_to_patient.refresh_from_db()
        assert kept_in.purged_at is not None and template_to_patient.parameters is None


def _with_media(clinic_a, contact: Contact, key: str) -> InboundMessage:
    stored = store_encrypted(clinic_a.clinic, data=b"%PDF-1.4 lab report", folder="whatsapp", suffix=".pdf")
    return _inbound(
        contact, 95 * DAY, key, text="", kind="document", media_id=f"m-{key}", media_status=MediaStatus.STORED,
        media_storage_name=stored.name, media_sha256=stored.sha256, media_filename="report-asha.pdf",
    )  # fmt: skip


def test_media_files_are_deleted_from_storage(clinic_a):
    with tenant_context(clinic_a.clinic):
        message = _with_media(clinic_a, _contact(), "doc")
        name = message.media_storage_name
        assert file_storage().exists(name)
        retention_run(now=NOW)
        message.refresh_from_db()
    assert not file_storage().exists(name)
    assert message.media_storage_name == "" and message.media_status == MediaStatus.PURGED
    assert message.media_filename is None


def test_a_crash_after_the_commit_is_finished_by_the_next_run(clinic_a, monkeypatch):
    """The text's batch committed (the row says purged) but deleting the file failed: the file's name
    stays on the row, and the next run deletes the file and only then forgets the name."""

    def storage_down(name: str) -> None:
        raise OSError("storage unreachable")

    with tenant_context(clinic_a.clinic):
        message = _with_media(clinic_a, _contact(), "crash")
        name = message.media_storage_name
        monkeypatch.setattr(retention, "delete_stored", storage_down)
        run = retention_run(now=NOW)
        assert run.status == PurgeRun.Status.FAILED and run.failed_rules == ["messaging.media_files"]
        message.refresh_from_db()
        assert message.purged_at is not None and message.media_storage_name == name
        assert file_storage().exists(name)
        monkeypatch.undo()
        assert retention_run(now=NOW).status == PurgeRun.Status.DONE
        message.refresh_from_db()
    assert message.media_storage_name == "" and not file_storage().exists(name)


def test_batches_run_until_nothing_is_left(clinic_a):
    with tenant_context(clinic_a.clinic):
        contact = _contact()
        for n in range(7):
            _inbound(contact, (100 + n) * DAY, f"b{n}")
        run = retention_run(now=NOW, batch_size=3)
        assert run.counts["messaging.inbound"] == 7
        assert not InboundMessage.objects.filter(purged_at__isnull=True).exists()


def test_a_dry_run_counts_and_changes_nothing(clinic_a):
    with tenant_context(clinic_a.clinic):
        contact = _contact()
        _inbound(contact, 100 * DAY, "d1")
        _outbound(contact, 100 * DAY, "d2")
        run = retention_run(now=NOW, dry_run=True)
        assert run.dry_run and run.counts["messaging.inbound"] == 1 and run.counts["messaging.outbound"] == 1
        assert InboundMessage.objects.get().body == "Mera BP 150/95 hai"
        assert OutboundMessage.objects.get().purged_at is None


def test_the_log_holds_counts_only(clinic_a):
    with tenant_context(clinic_a.clinic):
        _inbound(_contact(), 100 * DAY, "p1", text="Asha Verma 9812345678")
        run = retention_run(now=NOW)
    text = repr(run.counts) + repr(run.failed_rules)
    assert "Asha" not in text and "9812345678" not in text


def test_the_conversation_shows_that_the_text_was_removed(wa_a, client_for, clock):
    with tenant_context(wa_a.clinic):
        contact = _contact()
        _inbound(contact, 100 * DAY, "shown")
        retention_run(now=NOW)
    html = client_for(wa_a, "owner").get(f"/inbox/{contact.pk}/").content.decode()
    assert PURGED_TEXT in html and "Mera BP" not in html


def test_staff_keep_a_conversation_with_a_reason_and_only_admins_lift_it(wa_a, client_for, clock):
    with tenant_context(wa_a.clinic):
        contact = _contact()
    desk = client_for(wa_a, "front_desk")
    refused = desk.post(f"/inbox/{contact.pk}/retain/", {"retain": "1", "reason": "x"})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert desk.post(f"/inbox/{contact.pk}/retain/", {"retain": "1", "reason": "Medico-legal case"}).status_code == 302
    with tenant_context(wa_a.clinic):
        contact.refresh_from_db()
        assert contact.retained_at is not None and contact.retain_reason == "Medico-legal case"
        event = AuditEvent.objects.get(action="conversation.retain")
        assert "Medico" not in repr(event.metadata)
    assert "Medico-legal case" in desk.get(f"/inbox/{contact.pk}/").content.decode()
    assert desk.post(f"/inbox/{contact.pk}/retain/", {"retain": "0"}).status_code == 403
    assert client_for(wa_a, "owner").post(f"/inbox/{contact.pk}/retain/", {"retain": "0"}).status_code == 302
    with tenant_context(wa_a.clinic):
        contact.refresh_from_db()
        assert contact.retained_at is None and contact.retain_reason is None


@pytest.mark.parametrize("role, status", [("owner", 200), ("front_desk", 403)])
def test_the_purge_log_page(clinic_a, client_for, role, status):
    client = client_for(clinic_a, role)
    assert client.get("/settings/audit/retention/").status_code == status
    if status == 200:
        assert client.post("/settings/audit/retention/dry-run/").status_code == 302
        html = client.get("/settings/audit/retention/").content.decode()
        assert "Dry run (would remove)" in html and "WhatsApp messages from patients" in html
    connection.set_schema_to_public()
