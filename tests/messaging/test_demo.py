"""The demo's WhatsApp inbox: connected number and realistic conversations, visible in the inbox."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import demo
from messaging.models import Contact, InboundMessage, OutboundMessage
from messaging.services import whatsapp_account
from patients import demo as patients_demo


def test_demo_seed_fills_the_inbox_with_conversations_both_ways(clinic_a, client_for, clock):
    with tenant_context(clinic_a.clinic):
        patients_demo.seed_patients()
        demo.seed(clinic_a.clinic)
        account = whatsapp_account()
        assert account is not None and account.is_enabled and account.phone_number_id == demo.PHONE_NUMBER_ID
        assert Contact.objects.count() == 6
        assert Contact.objects.filter(opted_out_at__isnull=False).count() == 1
        assert Contact.objects.filter(patient__isnull=True).count() == 1
        failed = OutboundMessage.objects.get(status="failed")
        assert (failed.error, failed.template_name) == ("131026", "prescription_ready")
        report = InboundMessage.objects.get(kind="document")
        assert report.media_status == "stored" and report.media_filename == "HbA1c report.pdf"
        assert AuditEvent.objects.filter(action="whatsapp.settings_update").exists()
    owner = client_for(clinic_a, "owner")
    html = owner.get("/inbox/").content.decode()
    assert "Opted out" in html and "unread" in html and "Kavya" in html
    with tenant_context(clinic_a.clinic):
        undelivered = Contact.objects.get(patient=failed.patient)
    page = owner.get(f"/inbox/{undelivered.pk}/").content.decode()
    assert "Message undeliverable (error 131026)" in page and "Send template" in page
    conversation = owner.get(f"/inbox/{report.contact_id}/").content.decode()
    assert "sugar report" in conversation and f"/inbox/media/{report.pk}/" in conversation
    download = owner.get(f"/inbox/media/{report.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-1.4")


def test_demo_shows_retention_at_work(clinic_a, client_for, clock):
    from audit.models import PurgeRun
    from messaging.selectors import PURGED_TEXT

    with tenant_context(clinic_a.clinic):
        patients_demo.seed_patients()
        demo.seed(clinic_a.clinic)
        run = PurgeRun.objects.get()
        assert run.counts["messaging.inbound"] == 1 and run.counts["messaging.outbound"] == 1
        kept = Contact.objects.get(retained_at__isnull=False)
        assert not kept.inbound_messages.filter(purged_at__isnull=False).exists()
        purged = InboundMessage.objects.get(purged_at__isnull=False)
    owner = client_for(clinic_a, "owner")
    assert PURGED_TEXT in owner.get(f"/inbox/{purged.contact_id}/").content.decode()
    assert "Insurance claim" in owner.get(f"/inbox/{kept.pk}/").content.decode()
    assert "Purge" in owner.get("/settings/audit/retention/").content.decode()
