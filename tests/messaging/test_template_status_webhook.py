"""Meta's `message_template_status_update` webhook: routed by the business account (WABA) id to
its clinic, it moves the template's review status (with Meta's reason) without waiting for a sync."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging.models import MessageTemplate
from tests.messaging.conftest import PHONE_ID_B, WABA_ID, connect, deliver


def _template_event(event: str, *, waba: str = WABA_ID, template_id: str = "1252715608684590", **extra: str) -> dict:
    value = {
        "event": event,
        "message_template_id": int(template_id),
        "message_template_name": "appointment_reminder",
        "message_template_language": "en",
        "reason": "NONE",
        **extra,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba, "time": 1764900000, "changes": [{"value": value, "field": "message_template_status_update"}]}
        ],
    }


def _pending(seeded) -> MessageTemplate:
    with tenant_context(seeded.clinic):
        template, _ = MessageTemplate.objects.update_or_create(
            name="appointment_reminder",
            language="en",
            defaults={"body": "Namaste {{1}}, your appointment is at {{2}}.", "status": "pending"},
        )
        MessageTemplate.objects.filter(pk=template.pk).update(meta_id="1252715608684590")
        template.refresh_from_db()
        return template


def test_an_approval_from_meta_approves_the_clinics_template(wa_a):
    template = _pending(wa_a)
    deliver(_template_event("APPROVED"))
    with tenant_context(wa_a.clinic):
        template.refresh_from_db()
        assert (template.status, template.rejected_reason) == ("approved", "")
        assert AuditEvent.objects.filter(action="whatsapp_template.status_webhook").exists()


def test_a_rejection_keeps_metas_reason_for_staff(wa_a):
    template = _pending(wa_a)
    deliver(_template_event("REJECTED", reason="INCORRECT_CATEGORY"))
    with tenant_context(wa_a.clinic):
        template.refresh_from_db()
        assert (template.status, template.rejected_reason) == ("rejected", "Incorrect category")


def test_a_pause_then_reinstatement_follow_each_other(wa_a):
    template = _pending(wa_a)
    deliver(_template_event("PAUSED", other_info={"title": "FIRST_PAUSE", "description": "Low quality"}))
    with tenant_context(wa_a.clinic):
        template.refresh_from_db()
        assert (template.status, template.rejected_reason) == ("paused", "First pause")
    deliver(_template_event("REINSTATED"))
    with tenant_context(wa_a.clinic):
        template.refresh_from_db()
        assert template.status == "approved"


def test_the_event_goes_only_to_the_clinic_of_that_business_account(wa_a, clinic_b):
    connect(clinic_b, PHONE_ID_B)  # another number of the same business account: its route stays with alpha
    _pending(wa_a)
    beta = _pending(clinic_b)
    deliver(_template_event("APPROVED"))
    with tenant_context(clinic_b.clinic):
        beta.refresh_from_db()
        assert beta.status == "pending"
    with tenant_context(wa_a.clinic):
        assert MessageTemplate.objects.get(name="appointment_reminder", language="en").status == "approved"


def test_an_unknown_business_account_is_acknowledged_and_changes_nothing(wa_a):
    template = _pending(wa_a)
    deliver(_template_event("APPROVED", waba="999999999999999"))
    with tenant_context(wa_a.clinic):
        template.refresh_from_db()
        assert template.status == "pending"
