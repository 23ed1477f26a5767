"""Demo data for the appointments app (clinics/demo.py calls `seed` inside the demo clinic's schema,
after the patients app has registered the demo patients).

Appointment types; working hours for Dr. Vikram Rao (owner) and Dr. Ananya Iyer (doctor) at
Koramangala and Indiranagar, Mon-Sat 09:30-13:30 and 17:00-20:30 (each doctor holds one session at
each branch a day, since nobody can be in two places at once); a tea break; the next Diwali as a
holiday; reminder rules (24 h and 2 h before, follow-up 1 day before); today's appointments in
every state and this week's bookings; and a walk-in queue for today.

Everything goes through the services (so it is audited and valid), except appointments earlier
today, which cannot be booked in the past and are written as history.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Location, User
from appointments import services
from appointments.models import Appointment, AppointmentType, WorkingHours
from appointments.schedule import local_datetime, location_tz
from clinical.models import PatientAllergy, Prescription
from clinics.models import Clinic
from patients.models import Patient

logger = logging.getLogger(__name__)

# Lakshmi Puja dates; the next one from today becomes the clinic holiday.
DIWALI = [dt.date(2025, 10, 21), dt.date(2026, 11, 8), dt.date(2027, 10, 29), dt.date(2028, 10, 17)]
MORNING = (dt.time(9, 30), dt.time(13, 30))
EVENING = (dt.time(17, 0), dt.time(20, 30))
TYPES = [("Consultation", 15, "#0b6bcb"), ("Follow-up", 10, "#067647"), ("Procedure", 30, "#b54708")]
RULES: list[dict[str, Any]] = [
    {"name": "24 hours before", "kind": "appointment", "offset_minutes": 24 * 60,
     "template_name": "appointment_reminder_24h", "language": "en"},
    {"name": "2 hours before", "kind": "appointment", "offset_minutes": 120,
     "template_name": "appointment_reminder_2h", "language": "en"},
    {"name": "Follow-up, day before", "kind": "follow_up", "days_before": 1, "send_time": dt.time(10, 0),
     "template_name": "follow_up_reminder", "language": "en"},
]  # fmt: skip
REASONS = ["Fever and cough", "BP review", "Diabetes follow-up", "Back pain", "Skin rash", "", "Annual check-up", ""]


def _staff(email: str) -> User | None:
    return User.objects.filter(email__iexact=email, is_active=True).select_related("role").first()


Session = tuple[dt.time, dt.time]


def _session_plan(rao: User, iyer: User, kora: Location, indira: Location) -> list[tuple[User, Location, Session]]:
    return [(rao, kora, MORNING), (rao, indira, EVENING), (iyer, indira, MORNING), (iyer, kora, EVENING)]


def _grid(
    day: dt.date, clinician: User, location: Location, session: tuple[dt.time, dt.time], minutes: int
) -> list[dt.datetime]:
    """Start times every `minutes` in the session, skipping its breaks (Sunday uses Monday's)."""
    tz = location_tz(location)
    weekday = day.weekday() if day.weekday() < 6 else 0
    pauses = [
        (local_datetime(day, b.start_time, tz), local_datetime(day, b.end_time, tz))
        for hours in WorkingHours.objects.filter(
            clinician=clinician, location=location, weekday=weekday, start_time=session[0]
        )
        for b in hours.breaks.all()
    ]
    start, end = local_datetime(day, session[0], tz), local_datetime(day, session[1], tz)
    step = dt.timedelta(minutes=minutes)
    times = []
    while start + step <= end:
        if not any(b_start < start + step and start < b_end for b_start, b_end in pauses):
            times.append(start)
        start += step
    return times


def _history(*, patient: Patient, clinician: User, location: Location, kind: AppointmentType, at: dt.datetime,
             booked_by: User | None, notes: str) -> Appointment:  # fmt: skip
    """An appointment earlier today, written as history (the booking service refuses the past)."""
    return Appointment.objects.create(
        patient=patient, clinician=clinician, location=location, appointment_type=kind, starts_at=at,
        ends_at=at + kind.duration, notes=notes or None, booked_by=booked_by,
        scheduled_at=at - dt.timedelta(days=2),
    )  # fmt: skip


def seed(clinic: Clinic) -> dict[str, int]:
    rao = _staff("owner@demo.docos.in")
    iyer = _staff("doctor@demo.docos.in")
    desk = _staff("frontdesk@demo.docos.in") or rao
    kora = Location.objects.filter(name="Koramangala").first()
    indira = Location.objects.filter(name="Indiranagar").first()
    if rao is None or iyer is None or desk is None or kora is None or indira is None:
        logger.warning("appointments demo: the demo staff or locations are missing; nothing seeded")
        return {}
    counts = {"appointments": 0, "walk_ins": 0}
    kinds = {
        name: services.appointment_type_save(actor=rao, name=name, duration_minutes=minutes, colour=colour, position=i)
        for i, (name, minutes, colour) in enumerate(TYPES)
    }
    plan = _session_plan(rao, iyer, kora, indira)
    for clinician, location, (start, end) in plan:
        services.working_hours_add(
            clinician=clinician, location=location, weekdays=list(range(6)), start_time=start, end_time=end, actor=rao
        )
    for kora_session in rao.working_hours.filter(location=kora):
        services.break_add(
            session=kora_session, start_time=dt.time(11, 30), end_time=dt.time(11, 45), label="Tea break", actor=rao
        )
    today = timezone.now().astimezone(location_tz(kora)).date()
    diwali = next((d for d in DIWALI if d >= today), None)
    if diwali is not None:
        services.holiday_add(day=diwali, name="Diwali", actor=rao)
    for rule in RULES:
        services.reminder_rule_save(actor=rao, **rule)

    patients = list(
        Patient.objects.filter(merged_into__isnull=True, is_active=True).order_by("created_at", "given_name")
    )
    if not patients:
        logger.warning("appointments demo: no demo patients; schedules seeded without appointments")
        return counts
    people = itertools.cycle(patients)
    reasons = itertools.cycle(REASONS)
    now = timezone.now()
    consultation, follow_up = kinds["Consultation"], kinds["Follow-up"]

    # Today: past appointments in their final states, the current ones in the queue, later ones booked.
    past_outcomes = itertools.cycle(["completed", "completed", "no_show", "completed", "cancelled"])
    for clinician, location, session in plan:
        slots = _grid(today, clinician, location, session, 30)
        for index, at in enumerate(slots[:: 2 if clinician == iyer else 1][:6]):
            patient, kind = next(people), (follow_up if index % 3 == 2 else consultation)
            if at + kind.duration <= now:
                appointment = _history(
                    patient=patient, clinician=clinician, location=location, kind=kind, at=at, booked_by=desk,
                    notes=next(reasons),
                )  # fmt: skip
                outcome = next(past_outcomes)
                if outcome == "completed":
                    services.appointment_check_in(appointment=appointment, actor=desk)
                    services.appointment_start(appointment=appointment, actor=clinician)
                    services.appointment_complete(appointment=appointment, actor=clinician)
                elif outcome == "no_show":
                    services.appointment_mark_no_show(appointment=appointment, actor=desk)
                else:
                    services.appointment_cancel(
                        appointment=appointment, reason="patient_request", note="Called to cancel", actor=desk
                    )
            elif at <= now:  # under way: in the queue
                appointment = _history(
                    patient=patient, clinician=clinician, location=location, kind=kind, at=at, booked_by=desk,
                    notes=next(reasons),
                )  # fmt: skip
                services.appointment_check_in(appointment=appointment, actor=desk)
                services.appointment_start(appointment=appointment, actor=clinician)
            else:
                appointment = services.appointment_book(
                    patient=patient, clinician=clinician, location=location, appointment_type=kind, starts_at=at,
                    actor=desk, notes=next(reasons), outside_hours=today.weekday() == 6 or today == diwali,
                )  # fmt: skip
                if index == 0 and at - now < dt.timedelta(hours=1):
                    services.appointment_check_in(appointment=appointment, actor=desk)
                elif index % 2 == 1:
                    services.appointment_confirm_by_patient(appointment=appointment)
            counts["appointments"] += 1

    # Walk-ins for today at Koramangala (Dr. Iyer) and Indiranagar (Dr. Rao), waiting to be called in.
    # Dr. Iyer's first is a patient with a recorded allergy and an earlier prescription, so her
    # "Call in" opens a consultation screen whose chart summary has something to say.
    featured = (
        Patient.objects.filter(
            merged_into__isnull=True,
            is_active=True,
            allergy_records__status=PatientAllergy.Status.ACTIVE,
            prescriptions__status=Prescription.Status.SIGNED,
        )
        .order_by("created_at")
        .first()
    )
    for number, (clinician, location) in enumerate(((iyer, kora), (rao, indira), (iyer, kora))):
        candidates = itertools.chain([featured] if number == 0 and featured is not None else [], people)
        for _attempt in range(3):
            try:
                services.queue_add_walk_in(patient=next(candidates), clinician=clinician, location=location, actor=desk)
            except ValidationError:  # already in that queue: take the next patient
                continue
            counts["walk_ins"] += 1
            break

    # The rest of this week (and the next days, if today is late in the week): a few bookings per session.
    days = [today + dt.timedelta(days=n) for n in range(1, 8)]
    week = [d for d in days if d.weekday() < 6 and d != diwali][:5]
    for day_number, day in enumerate(week):
        for clinician, location, session in plan:
            slots = _grid(day, clinician, location, session, 15)
            for index, at in enumerate(slots[day_number % 3 :: 3][:4]):
                if Appointment.objects.filter(clinician=clinician, starts_at=at).exists():
                    continue
                appointment = services.appointment_book(
                    patient=next(people), clinician=clinician, location=location,
                    appointment_type=follow_up if index == 3 else consultation, starts_at=at, actor=desk,
                    notes=next(reasons),
                )  # fmt: skip
                if index == 1:
                    services.appointment_confirm_by_patient(appointment=appointment)
                elif index == 2 and day_number == 1:
                    services.appointment_request_reschedule_by_patient(appointment=appointment)
                counts["appointments"] += 1
    logger.info("appointments demo: %(appointments)s appointments, %(walk_ins)s walk-ins", counts)
    return counts
