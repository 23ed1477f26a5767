"""The reminder's Confirm / Cancel / Reschedule buttons, pressed on WhatsApp: the reminder carries
one payload per quick reply of the clinic's template, a press comes back through the signed webhook
and moves the appointment through its services, and the patient gets one answer, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from appointments import reminders
from appointments.models import Appointment, Reminder
from audit.models import AuditEvent
from messaging.models import OutboundMessage
from messaging.services import message_dispatch
from tests.appointments.helpers import at, book, give_hours, make_patient, make_rule, make_type, next_weekday, user
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload


@pytest.fixture
def booked(wa_a, clock):
    doctor = user(wa_a, "doctor")
    give_hours(wa_a, doctor, wa_a.locations[0], weekdays=range(7))
    make_type(wa_a)
    make_rule(wa_a, name="24 hours before", offset_minutes=24 * 60, template="appointment_reminder_24h")
    patient = make_patient(wa_a)  # +919812345678, the conftest's WhatsApp user
    appointment = book(wa_a, patient=patient, starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at - dt.timedelta(hours=23))
    return wa_a, appointment


def _press(seeded, wamid: str, text: str, payload: str, **sender) -> None:
    deliver(inbound_payload(PHONE_ID_A, wamid, button=(text, payload), **sender))


def _answers(seeded) -> list[str]:
    with tenant_context(seeded.clinic):
        return [str(m.body) for m in OutboundMessage.objects.filter(purpose="reply").order_by("created_at")]


def test_the_reminder_carries_a_payload_per_button_of_the_template(booked, graph):
    seeded, appointment = booked
    with tenant_context(seeded.clinic):
        claimed = reminders.reminders_scan().claimed
        reminders.reminders_send(claimed)
        message = Reminder.objects.get(pk=claimed[0]).message
        assert message_dispatch(message_id=str(message.pk)) == "sent"  # what the outbox worker does
    assert message.button_payloads == [f"appt:{a}:{appointment.pk}" for a in ("confirm", "cancel", "reschedule")]
    (sent,) = [r for r in graph.sent() if r.body.get("type") == "template"]
    buttons = [c for c in sent.body["template"]["components"] if c["type"] == "button"]
    assert [(b["index"], b["sub_type"], b["parameters"][0]["payload"]) for b in buttons] == [
        ("0", "quick_reply", f"appt:confirm:{appointment.pk}"),
        ("1", "quick_reply", f"appt:cancel:{appointment.pk}"),
        ("2", "quick_reply", f"appt:reschedule:{appointment.pk}"),
    ]


def test_a_template_without_buttons_gets_no_button_components(booked, graph):
    seeded, appointment = booked
    from appointments.whatsapp_replies import reminder_button_payloads

    with tenant_context(seeded.clinic):
        assert reminder_button_payloads(appointment, "prescription_ready", "en") == []
        assert reminder_button_payloads(appointment, "no_such_template", "en") == []


def test_confirm_confirms_once_and_answers_once_however_often_meta_redelivers(booked, graph):
    seeded, appointment = booked
    for _ in range(3):
        _press(seeded, "wamid.BTN1", "Confirm", f"appt:confirm:{appointment.pk}")
    with tenant_context(seeded.clinic):
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CONFIRMED
        assert AuditEvent.objects.filter(action="appointment.confirm").count() == 1
    (answer,) = _answers(seeded)
    assert answer.startswith("Thank you, your appointment with") and "पक्का" in answer


def test_cancel_and_reschedule_go_through_the_appointment_services(booked, graph):
    seeded, appointment = booked
    _press(seeded, "wamid.BTN2", "Reschedule", f"appt:reschedule:{appointment.pk}")
    with tenant_context(seeded.clinic):
        appointment.refresh_from_db()
        assert appointment.reschedule_requested_at is not None
    _press(seeded, "wamid.BTN3", "Cancel", f"appt:cancel:{appointment.pk}")
    with tenant_context(seeded.clinic):
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CANCELLED
        assert appointment.cancel_reason == Appointment.CancelReason.PATIENT_WHATSAPP
    answers = _answers(seeded)
    assert "We will call you" in answers[0] and "is cancelled" in answers[1]
    # pressing Confirm on a cancelled appointment is refused in words, nothing changes
    _press(seeded, "wamid.BTN4", "Confirm", f"appt:confirm:{appointment.pk}")
    assert "Please call the clinic" in _answers(seeded)[-1]
    with tenant_context(seeded.clinic):
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CANCELLED


def test_a_payload_for_someone_elses_appointment_is_ignored_without_an_answer(booked, graph):
    """A forged or forwarded payload: another patient's phone presses Cancel on this appointment."""
    seeded, appointment = booked
    make_patient(seeded, given_name="Ravi", family_name="Kumar", phone="+919876500001")
    _press(
        seeded, "wamid.FORGED", "Cancel", f"appt:cancel:{appointment.pk}", wa_id="919876500001", user_id=None,
        name="Ravi",
    )  # fmt: skip
    for payload in ("appt:cancel:not-a-uuid", "appt:explode:" + str(appointment.pk), "unknown:x:y"):
        _press(seeded, f"wamid.{payload[-6:]}", "Cancel", payload)
    with tenant_context(seeded.clinic):
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED
    assert _answers(seeded) == []
