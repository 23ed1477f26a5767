"""messaging.services: one recorded message per idempotency key, honest statuses, forward-only receipts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import services
from messaging.models import OutboundMessage
from tests.appointments.helpers import make_patient


def _send(patient, key="k1", **overrides):
    kwargs = {
        "patient": patient, "template_name": "appointment_reminder", "language": "en",
        "parameters": ["Asha", "Dr. Rao"], "idempotency_key": key, "related": ("tests.thing", "42"),
    }  # fmt: skip
    kwargs.update(overrides)
    return services.message_send_template(**kwargs)


def test_a_message_is_recorded_and_fails_honestly_while_whatsapp_is_not_configured(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        message = _send(patient)
        assert (message.status, message.error) == ("failed", "whatsapp_not_configured")
        assert message.sent_at is None and message.failed_at is not None
        assert message.to_number == "+919812345678" and message.parameters == ["Asha", "Dr. Rao"]
        event = AuditEvent.objects.get(action="message.send", object_id=str(message.pk))
        assert event.metadata == {
            "template": "appointment_reminder", "status": "failed", "error": "whatsapp_not_configured",
            "related": "tests.thing",
        }  # fmt: skip
        assert "Asha" not in str(event.metadata)


def test_the_same_idempotency_key_never_sends_twice(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        first = _send(patient)
        second = _send(patient, parameters=["Changed"])
        assert second.pk == first.pk and second.parameters == ["Asha", "Dr. Rao"]
        assert OutboundMessage.objects.count() == 1
        assert AuditEvent.objects.filter(action="message.send").count() == 1
        assert _send(patient, key="k2").pk != first.pk


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"whatsapp_opted_out_at": timezone.now()}, "opted_out"),
        ({"consent": False}, "no_whatsapp_consent"),
        ({"phone": ""}, "no_contact_number"),
    ],
)
def test_unreachable_patients_are_recorded_as_refused(clinic_a, fields, reason):
    patient = make_patient(clinic_a, **fields)
    with tenant_context(clinic_a.clinic):
        message = _send(patient)
    assert (message.status, message.error) == ("failed", reason)


def test_bad_template_names_and_languages_are_refused(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError) as refused:
        _send(patient, template_name="Appointment Reminder", language="English")
    assert set(refused.value.message_dict) == {"template_name", "language"}


def test_receipts_move_statuses_forward_only_and_reach_the_listener(clinic_a, monkeypatch):
    patient = make_patient(clinic_a)
    seen: list[str] = []
    monkeypatch.setitem(services._LISTENERS, "tests.thing", [])
    services.register_status_listener("tests.thing", lambda message: seen.append(message.status))
    with tenant_context(clinic_a.clinic):
        message = _send(patient)
        OutboundMessage.objects.filter(pk=message.pk).update(status="sent", error="", vendor_message_id="wamid.1")
        services.message_status_update("wamid.1", "read")
        services.message_status_update("wamid.1", "delivered")  # late: ignored
        services.message_status_update("wamid.1", "failed", "131026")  # after read: ignored
        message.refresh_from_db()
        assert message.status == "read" and message.read_at is not None and message.error == ""
        with pytest.raises(ValidationError):
            services.message_status_update("wamid.1", "bogus")
    assert seen == ["read"]
