"""The beat fans out one scan per active clinic in that clinic's schema; end to end through a real
Celery worker (tests/celery_worker.py): beat -> per-clinic scan -> send, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import Celery
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from appointments import services
from appointments.models import Appointment, AppointmentType, Reminder, ReminderRule
from appointments.tasks import reminders_beat_task
from clinics.models import Clinic
from messaging.models import OutboundMessage
from patients.models import Patient


def test_beat_sends_one_scan_per_active_clinic_in_its_schema(clinic_a, clinic_b, monkeypatch):
    sent: list[tuple[str, Any]] = []

    def record(self: Any, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        sent.append((name, (options.get("headers") or {}).get("_schema_name")))

    monkeypatch.setattr(Celery, "send_task", record)
    Clinic.objects.filter(pk=clinic_b.clinic.pk).update(status=Clinic.Status.SUSPENDED)
    active = list(
        Clinic.objects.filter(status="active").exclude(schema_name="public").values_list("schema_name", flat=True)
    )
    count = reminders_beat_task()
    assert count == len(active) and clinic_a.schema in active and clinic_b.schema not in active
    assert sorted(sent) == sorted(("appointments.reminders_scan", schema) for schema in active)
    assert connection.schema_name == "public"


def _appointment_due_now(clinic: Any, minutes_ahead: int) -> Appointment:
    """An appointment whose 24-hour reminder is already due (booked two days ago, starts within a day)."""
    owner = User.objects.get(pk=clinic.owner.pk)
    doctor = User.objects.filter(email__startswith="doctor@").first() or User.objects.create_user(
        f"doctor@{clinic.clinic.slug}.example.in", None, full_name="Dr. Worker", role=Role.objects.get(slug="doctor")
    )
    kind = AppointmentType.objects.first() or services.appointment_type_save(actor=owner, name="Consultation")
    if not ReminderRule.objects.exists():
        services.reminder_rule_save(
            actor=owner, name="24 hours before", kind="appointment", offset_minutes=1440, template_name="reminder_24h"
        )
    patient = Patient.objects.create(
        mrn=f"W-{minutes_ahead}", given_name="Worker", phone="+919812345678",
        registered_location=clinic.locations[0], whatsapp_consent_at=timezone.now(),
    )  # fmt: skip
    starts = (timezone.now() + dt.timedelta(minutes=minutes_ahead)).replace(second=0, microsecond=0)
    appointment = services.appointment_book(
        patient=patient, clinician=doctor, location=clinic.locations[0], appointment_type=kind, starts_at=starts,
        actor=owner, outside_hours=True,
    )  # fmt: skip
    Appointment.objects.filter(pk=appointment.pk).update(scheduled_at=timezone.now() - dt.timedelta(days=2))
    return appointment


def _reminder_state(clinic: Any, django_db_blocker: Any, appointment_id: Any) -> list[tuple[str, str, int]]:
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        rows = [
            (r.status, r.reason, OutboundMessage.objects.filter(related_id=str(r.pk)).count())
            for r in Reminder.objects.filter(appointment_id=appointment_id)
        ]
    connection.set_schema_to_public()
    return rows


def test_beat_through_a_real_worker_sends_each_reminder_once(celery_worker, throwaway_clinic, django_db_blocker):
    # The worker is another process on the real clock, which no fixture can pin; at night the clinic's
    # quiet hours would hold every reminder until 08:00. They are switched off here (equal start and
    # end): this test is about the fan-out, and test_reminders.py tests quiet hours on a pinned clock.
    with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
        services.appointment_settings_update(
            actor=User.objects.get(pk=throwaway_clinic.owner.pk),
            quiet_hours_start=dt.time(0, 0),
            quiet_hours_end=dt.time(0, 0),
        )
        first = _appointment_due_now(throwaway_clinic, 23 * 60)
    connection.set_schema_to_public()
    with django_db_blocker.unblock():
        reminders_beat_task.apply_async()  # as beat sends it: from the public schema
    celery_worker.wait_until(
        lambda: (
            _reminder_state(throwaway_clinic, django_db_blocker, first.pk) == [("failed", "whatsapp_not_configured", 1)]
        ),
        timeout=60,
    )
    # A second beat (and a second appointment, so we know the worker ran it) sends nothing twice.
    with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
        second = _appointment_due_now(throwaway_clinic, 22 * 60)
    connection.set_schema_to_public()
    with django_db_blocker.unblock():
        reminders_beat_task.apply_async()
        reminders_beat_task.apply_async()  # a duplicate beat
    celery_worker.wait_until(
        lambda: (
            _reminder_state(throwaway_clinic, django_db_blocker, second.pk)
            == [("failed", "whatsapp_not_configured", 1)]
        ),
        timeout=60,
    )
    celery_worker.wait_until(_worker_idle, timeout=60)  # the duplicate beat's scans have run too
    assert _reminder_state(throwaway_clinic, django_db_blocker, first.pk) == [("failed", "whatsapp_not_configured", 1)]
    with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
        assert OutboundMessage.objects.count() == 2
    connection.set_schema_to_public()


def _worker_idle() -> bool:
    """Nothing queued and nothing delivered but unfinished (tasks ack late): the clinic can be dropped."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return client.llen("default") == 0 and client.llen("messaging") == 0 and client.hlen("unacked") == 0
