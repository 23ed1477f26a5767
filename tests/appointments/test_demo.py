"""The demo seed: types, hours, a holiday, rules, and today's and this week's appointments."""

from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from appointments import demo
from appointments.models import Appointment, AppointmentType, Holiday, QueueEntry, ReminderRule, WorkingHours
from clinics.demo import DEMO_STAFF
from patients import demo as patients_demo


def test_demo_seed_fills_schedules_and_a_realistic_week(clinic_a, clock):
    # The seed writes today's appointments around "now": pinned (tests/clock.py) to a weekday morning.
    with tenant_context(clinic_a.clinic):
        Location.objects.filter(name="Main branch").update(name="Koramangala")
        Location.objects.filter(name="East branch").update(name="Indiranagar")
        for role, email, name, *_ in DEMO_STAFF:
            if role in ("owner", "doctor", "front_desk"):
                User.objects.create_user(email, None, full_name=name, role=Role.objects.get(slug=role))
        patients_demo.seed_patients()
        counts = demo.seed(clinic_a.clinic)
        rao, iyer = User.objects.get(email="owner@demo.docos.in"), User.objects.get(email="doctor@demo.docos.in")
        assert list(AppointmentType.objects.values_list("name", flat=True)) == [
            "Consultation",
            "Follow-up",
            "Procedure",
        ]
        for doctor in (rao, iyer):
            hours = WorkingHours.objects.filter(clinician=doctor)
            assert hours.count() == 12  # Mon-Sat, one session at each branch a day
            assert set(hours.values_list("location__name", flat=True)) == {"Koramangala", "Indiranagar"}
        assert Holiday.objects.filter(name="Diwali", date__gte=timezone.localdate()).count() == 1
        assert ReminderRule.objects.count() == 3
        assert counts["appointments"] >= 40 and counts["walk_ins"] == 3
        statuses = set(Appointment.objects.values_list("status", flat=True))
        assert {"booked", "confirmed"} <= statuses
        assert QueueEntry.objects.filter(appointment__isnull=True).count() == 3
        assert Appointment.objects.filter(reschedule_requested_at__isnull=False).exists()
        # The demo doctor's "Call in" has patients to open on the consultation screen.
        assert QueueEntry.objects.filter(
            clinician=iyer, location__name="Koramangala", day=timezone.localdate(), status="waiting"
        ).exists()
