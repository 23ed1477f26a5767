"""Reminders: planned once, claimed once, sent once; quiet hours, consent and opt-out, statuses.

Whether a reminder goes out depends on the time of day (quiet hours 21:00-08:00 local), so every
test runs on the pinned `clock` (tests/clock.py) and moves it to the moment it scans and sends at.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import reminders, services
from appointments.models import Reminder, ReminderRule
from messaging.models import OutboundMessage
from messaging.services import message_status_update
from tests.appointments.helpers import at, book, give_hours, make_patient, make_rule, make_type, next_weekday, user
from tests.clock import CLINIC_MORNING


@pytest.fixture
def setup(clinic_a, clock):
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0], weekdays=range(7))
    make_type(clinic_a)
    day_rule = make_rule(clinic_a, name="24 hours before", offset_minutes=24 * 60)
    soon_rule = make_rule(clinic_a, name="2 hours before", offset_minutes=120, template="appointment_soon")
    return clinic_a, doctor, day_rule, soon_rule


def _reminders(seeded, **filters):
    with tenant_context(seeded.clinic):
        return list(Reminder.objects.filter(**filters).select_related("rule").order_by("due_at"))


def test_booking_plans_one_scheduled_reminder_per_rule(setup):
    clinic, _, day_rule, soon_rule = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    rows = _reminders(clinic, appointment=appointment)
    assert [(r.rule_id, r.status) for r in rows] == [(day_rule.pk, "scheduled"), (soon_rule.pk, "scheduled")]
    assert rows[0].due_at == appointment.starts_at - dt.timedelta(hours=24)
    assert rows[1].due_at == appointment.starts_at - dt.timedelta(hours=2)


def test_repeated_scans_claim_each_due_reminder_once(setup, django_capture_on_commit_callbacks):
    clinic, _, day_rule, _ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    moment = appointment.starts_at - dt.timedelta(hours=23)
    with tenant_context(clinic.clinic):
        with django_capture_on_commit_callbacks() as callbacks:
            first = reminders.reminders_scan(now=moment)
            second = reminders.reminders_scan(now=moment)
            third = reminders.reminders_scan(now=moment + dt.timedelta(minutes=1))
    assert len(first.claimed) == 1 and second.claimed == [] and third.claimed == []
    assert len(callbacks) == 1  # one enqueue, for the first scan only
    claimed = _reminders(clinic, pk=first.claimed[0])[0]
    assert claimed.rule_id == day_rule.pk and claimed.status == "sending"
    assert len(_reminders(clinic, appointment=appointment)) == 2  # re-scans planned nothing new


def test_a_retried_send_task_sends_one_message(setup, clock):
    clinic, *_ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    moment = appointment.starts_at - dt.timedelta(hours=23)
    clock.move_to(moment)
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan(now=moment).claimed
        assert reminders.reminders_send(claimed) == {"failed": 1}
        assert reminders.reminders_send(claimed) == {"not_claimed": 1}  # the retry finds it handled
        # A claim released as stale and claimed again reuses the first message (same idempotency key).
        Reminder.objects.filter(pk=claimed[0]).update(status="sending")
        assert reminders.reminder_send(reminder_id=claimed[0], now=moment) == "failed"
        assert OutboundMessage.objects.filter(related_id=claimed[0]).count() == 1


def test_unconfigured_whatsapp_records_a_failed_message_with_its_reason(setup, clock):
    clinic, *_ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at - dt.timedelta(hours=23))  # 12:00 the day before
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan().claimed
        reminders.reminders_send(claimed)
        reminder = Reminder.objects.select_related("message").get(pk=claimed[0])
    assert reminder.status == "failed" and reminder.reason == "whatsapp_not_configured"
    assert reminder.message.status == "failed" and reminder.message.error == "whatsapp_not_configured"
    assert reminder.message.to_number == "+919812345678"
    assert reminder.message.template_name == "appointment_reminder"
    assert reminder.message.parameters[0] == "Asha"
    assert reminder.sent_at is None  # never marked sent


def test_reminder_status_follows_delivery_receipts_forward_only(setup, clock):
    clinic, *_ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at - dt.timedelta(hours=23))  # 12:00 the day before
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan().claimed
        reminders.reminders_send(claimed)
        # What the WhatsApp client will do once configured: the message was accepted by the vendor.
        message = Reminder.objects.get(pk=claimed[0]).message
        OutboundMessage.objects.filter(pk=message.pk).update(status="sent", error="", vendor_message_id="wamid.X1")
        for status in ("delivered", "read", "delivered"):
            message_status_update("wamid.X1", status)
        reminder = Reminder.objects.get(pk=claimed[0])
        assert reminder.status == "read" and reminder.reason == ""
        assert message_status_update("wamid.unknown", "read") is None


def test_reminder_in_quiet_hours_goes_at_their_end(setup):
    clinic, *_ = setup
    day = next_weekday(3)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(day, 9, 30))
    soon = next(r for r in _reminders(clinic, appointment=appointment) if r.rule.offset_minutes == 120)
    assert soon.due_at == at(day, 7, 30)
    assert soon.send_after == at(day, 8, 0)
    with tenant_context(clinic.clinic):
        assert str(soon.pk) not in reminders.reminders_scan(now=at(day, 7, 45)).claimed
        assert str(soon.pk) in reminders.reminders_scan(now=at(day, 8, 0)).claimed


def test_a_claim_that_reaches_quiet_hours_is_postponed_not_sent(setup):
    clinic, *_ = setup
    day = next_weekday(3)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(day, 17, 0))
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan(now=at(day - dt.timedelta(days=1), 17, 1)).claimed
        assert len(claimed) == 1
        # The worker only gets to it at 21:30, in quiet hours: back to scheduled until 08:00.
        assert (
            reminders.reminder_send(reminder_id=claimed[0], now=at(day - dt.timedelta(days=1), 21, 30)) == "scheduled"
        )
        reminder = Reminder.objects.get(pk=claimed[0])
        assert reminder.send_after == at(day, 8, 0)
        assert not OutboundMessage.objects.exists()
        assert Reminder.objects.get(pk=claimed[0]).appointment_id == appointment.pk


def test_clinic_quiet_hours_are_configurable(setup):
    clinic, *_ = setup
    with tenant_context(clinic.clinic):
        services.appointment_settings_update(
            actor=user(clinic, "owner"), quiet_hours_start=dt.time(22, 0), quiet_hours_end=dt.time(7, 0)
        )
    day = next_weekday(3)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(day, 9, 30))
    soon = next(r for r in _reminders(clinic, appointment=appointment) if r.rule.offset_minutes == 120)
    assert soon.send_after == soon.due_at == at(day, 7, 30)


@pytest.mark.parametrize(
    ("patient_fields", "reason"),
    [
        ({"whatsapp_opted_out_at": CLINIC_MORNING - dt.timedelta(days=30)}, "opted_out"),
        ({"consent": False}, "no_whatsapp_consent"),
        ({"phone": ""}, "no_contact_number"),
    ],
)
def test_patients_without_consent_or_opted_out_get_no_message(setup, clock, patient_fields, reason):
    clinic, *_ = setup
    patient = make_patient(clinic, **patient_fields)
    appointment = book(clinic, patient=patient, starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at - dt.timedelta(hours=23))  # 12:00 the day before
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan().claimed
        assert reminders.reminders_send(claimed) == {"skipped": 1}
        assert Reminder.objects.get(pk=claimed[0]).reason == reason
        assert not OutboundMessage.objects.exists()


def test_minor_reminders_go_to_the_guardian(setup, clock):
    clinic, *_ = setup
    patient = make_patient(
        clinic,
        date_of_birth=dt.date.today() - dt.timedelta(days=365 * 8),
        guardian_phone="+919900011122",
        guardian_name="Sunita Verma",
    )
    appointment = book(clinic, patient=patient, starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at - dt.timedelta(hours=23))  # 12:00 the day before
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan().claimed
        reminders.reminders_send(claimed)
        assert Reminder.objects.get(pk=claimed[0]).message.to_number == "+919900011122"


def test_cancelling_cancels_scheduled_reminders_and_stops_claimed_ones(setup):
    clinic, *_ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan(now=appointment.starts_at - dt.timedelta(hours=23)).claimed
        services.appointment_cancel(appointment=appointment, reason="patient_request", actor=user(clinic, "front_desk"))
        assert reminders.reminders_send(claimed) == {"cancelled": 1}
        statuses = sorted(Reminder.objects.filter(appointment=appointment).values_list("status", "reason"))
    assert statuses == [("cancelled", "appointment_cancelled"), ("cancelled", "appointment_cancelled")]


def test_rescheduling_replans_reminders_for_the_new_time(setup):
    clinic, *_ = setup
    day = next_weekday(2)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(day, 11))
    with tenant_context(clinic.clinic):
        services.appointment_reschedule(
            appointment=appointment, starts_at=at(day, 12), actor=user(clinic, "front_desk")
        )
        rows = list(Reminder.objects.filter(appointment=appointment).order_by("due_at"))
        assert [r.due_at for r in rows] == [at(day, 12) - dt.timedelta(hours=24), at(day, 10)]
        assert all(r.key.endswith(":1") for r in rows)
        # Back to the first time: planned again (new keys), nothing lost to the old keys.
        services.appointment_reschedule(
            appointment=appointment, starts_at=at(day, 11), actor=user(clinic, "front_desk")
        )
        assert Reminder.objects.filter(appointment=appointment, status="scheduled").count() == 2


def test_reminders_already_due_at_booking_are_not_planned(setup):
    clinic, *_ = setup
    soon = timezone.now() + dt.timedelta(hours=3)
    soon = soon.replace(minute=0, second=0, microsecond=0)
    appointment = book(clinic, patient=make_patient(clinic), starts_at=soon, outside_hours=True)
    rows = _reminders(clinic, appointment=appointment)
    assert [r.rule.offset_minutes for r in rows] == [120]


def test_follow_up_reminders_come_from_visits_and_prescriptions_once_per_date(setup, clock):
    clinic, doctor, *_ = setup
    rule = make_rule(
        clinic,
        name="Follow-up",
        kind=ReminderRule.Kind.FOLLOW_UP,
        days_before=1,
        send_time=dt.time(10, 0),
        template="follow_up_reminder",
    )
    patient = make_patient(clinic)
    follow_up = next_weekday(4)
    from clinical.models import Prescription, Visit

    with tenant_context(clinic.clinic):
        visit = Visit.objects.create(
            patient=patient, location=clinic.locations[0], clinician=doctor, follow_up_date=follow_up
        )
        Prescription.objects.create(
            patient=patient,
            visit=visit,
            location=clinic.locations[0],
            prescriber=doctor,
            status="signed",
            follow_up_date=follow_up,
        )
        moment = at(follow_up - dt.timedelta(days=1), 10, 0)
        clock.move_to(moment)
        claimed = reminders.reminders_scan(now=moment).claimed
        again = reminders.reminders_scan(now=moment + dt.timedelta(minutes=1)).claimed
        rows = list(Reminder.objects.filter(rule=rule))
    assert len(claimed) == 1 and again == []
    assert len(rows) == 1 and rows[0].visit_id == visit.pk and rows[0].follow_up_date == follow_up
    with tenant_context(clinic.clinic):
        reminders.reminders_send(claimed)
        message = Reminder.objects.get(pk=claimed[0]).message
    assert message.template_name == "follow_up_reminder"
    assert message.parameters[2] == doctor.full_name


def test_follow_up_reminder_is_skipped_when_the_follow_up_is_booked(setup):
    clinic, doctor, *_ = setup
    make_rule(clinic, name="Follow-up", kind=ReminderRule.Kind.FOLLOW_UP, days_before=1, template="follow_up")
    patient = make_patient(clinic)
    follow_up = next_weekday(4)
    from clinical.models import Visit

    with tenant_context(clinic.clinic):
        Visit.objects.create(patient=patient, location=clinic.locations[0], clinician=doctor, follow_up_date=follow_up)
    book(clinic, patient=patient, starts_at=at(follow_up, 11))
    with tenant_context(clinic.clinic):
        claimed = reminders.reminders_scan(now=at(follow_up - dt.timedelta(days=1), 10, 0)).claimed
        follow = [c for c in claimed if Reminder.objects.get(pk=c).follow_up_date]
        assert reminders.reminders_send(follow) == {"skipped": 1}
        assert Reminder.objects.get(pk=follow[0]).reason == "already_booked"


def test_changing_a_rule_replans_its_unsent_reminders(setup):
    clinic, _, day_rule, _ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    with tenant_context(clinic.clinic):
        services.reminder_rule_save(actor=user(clinic, "owner"), rule=day_rule, offset_minutes=48 * 60)
        row = Reminder.objects.get(appointment=appointment, rule=day_rule)
        assert row.due_at == appointment.starts_at - dt.timedelta(hours=48)
        services.reminder_rule_save(actor=user(clinic, "owner"), rule=day_rule, is_active=False)
        assert not Reminder.objects.filter(appointment=appointment, rule=day_rule).exists()


def test_arriving_and_completing_cancel_the_reminders_still_planned(setup, clock):
    # A checked-in or completed appointment's reminders used to stay "Scheduled" on its page.
    clinic, *_ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at - dt.timedelta(minutes=10))
    with tenant_context(clinic.clinic):
        services.appointment_check_in(appointment=appointment, actor=user(clinic, "front_desk"))
        rows = list(Reminder.objects.filter(appointment=appointment).values_list("status", "reason"))
        services.appointment_complete(appointment=appointment, actor=user(clinic, "front_desk"))
    # the 24-hour reminder's time had passed (never claimed in this test): both were still planned
    assert rows == [("cancelled", "appointment_checked_in")] * 2


def test_no_show_cancels_reminders_with_a_sentence_for_staff(setup, clock):
    clinic, *_ = setup
    appointment = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(2), 11))
    clock.move_to(appointment.starts_at + dt.timedelta(minutes=30))
    with tenant_context(clinic.clinic):
        services.appointment_mark_no_show(appointment=appointment, actor=user(clinic, "front_desk"))
        texts = {r.reason_text for r in Reminder.objects.filter(appointment=appointment)}
    assert texts == {"Not sent: the patient was marked as a no-show."}


@pytest.mark.parametrize(
    ("reason", "title", "sentence"),
    [
        ("whatsapp_not_configured", "", "WhatsApp is not connected for this clinic yet (Settings → WhatsApp)."),
        ("no_whatsapp_consent", "", "The patient has not agreed to WhatsApp messages."),
        ("131026", "Message undeliverable", "WhatsApp did not deliver it: Message undeliverable (error 131026)."),
        ("131047", "", "WhatsApp did not deliver it: Re-engagement message (error 131047)."),
        ("999999", "", "The message could not be sent (error 999999)."),
        ("rescheduled", "", "Replaced: the appointment was rescheduled."),
    ],
)
def test_reminder_reasons_read_as_sentences(reason, title, sentence):
    message = OutboundMessage(error=reason, error_title=title)
    assert Reminder(reason=reason, message=message).reason_text == sentence
    assert Reminder(reason="").reason_text == ""
