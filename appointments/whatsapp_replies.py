"""The buttons of an appointment reminder, pressed on WhatsApp: Confirm, Cancel, Reschedule.

Reschedule answers with an interactive list of the next free times with the same doctor at the
same branch (up to 9), plus "Call me instead"; picking a time ("appt:slot:<id>:<epoch seconds>")
moves the appointment there through `appointment_reschedule_by_patient` (the time must still be
free: the booking checks and PostgreSQL's exclusion constraint decide), and "Call me instead"
flags it for the desk. No free time in the next two weeks: flagged for the desk at once.

The reminder carries one payload per button, "appt:<action>:<appointment id>"
(`reminder_button_payloads`), when its template has those quick replies. The press comes back
through messaging.replies, which calls `answer_button` with the contact who pressed it. The
appointment must be that contact's patient's (linked, or the patient's WhatsApp number); anything
else is ignored without an answer, so a forged payload learns nothing. The actions go through the
appointments services (audited, idempotent: a second press changes nothing) and the patient gets a
one-line answer in English and Hindi.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from appointments import schedule, services
from appointments.models import Appointment
from docos.ids import parse_uuid
from messaging.models import Contact, MessageTemplate
from messaging.replies import Choices

PREFIX = "appt"
ACTIONS = ("confirm", "cancel", "reschedule")  # the template's buttons, in order
FOLLOW_UPS = ("slot", "callback")  # rows of the free-times list
SLOTS_OFFERED = 9
SLOT_DAYS = 14

CONFIRMED = (
    "Thank you, your appointment with {doctor} on {when} is confirmed. / "
    "धन्यवाद, {when} को {doctor} के साथ आपका अपॉइंटमेंट पक्का है।"
)
CANCELLED = (
    "Your appointment with {doctor} on {when} is cancelled. Reply here or call us to book again. / "
    "{when} को {doctor} के साथ आपका अपॉइंटमेंट रद्द कर दिया गया है।"
)
MOVED = "Done: your appointment with {doctor} is now on {when}. / हो गया: {doctor} के साथ आपका अपॉइंटमेंट अब {when} को है।"
OFFER = (
    "Choose a new time with {doctor} (your appointment is on {when}), or ask us to call you. / "
    "{doctor} के साथ नया समय चुनें, या हमें फ़ोन करने को कहें।"
)
RESCHEDULE = (
    "We will call you to find a new time for your appointment with {doctor} on {when}. / "
    "हम {when} के अपॉइंटमेंट के लिए नया समय तय करने हेतु आपको फ़ोन करेंगे।"
)


def reminder_button_payloads(appointment: Appointment, template_name: str, language: str) -> list[str]:
    """One payload per quick reply of the clinic's template, in order (Meta refuses a count that
    differs from the template's buttons): [] when the template has none."""
    template = MessageTemplate.objects.filter(name=template_name, language=language).only("buttons").first()
    count = len(template.buttons) if template is not None else 0
    return [f"{PREFIX}:{action}:{appointment.pk}" for action in ACTIONS[:count]]


def _whose(contact: Contact, appointment: Appointment) -> bool:
    patient = appointment.patient
    return contact.patient_id == patient.pk or bool(contact.phone and contact.phone == patient.contact_number)


def _when(appointment: Appointment, starts_at: dt.datetime | None = None) -> str:
    local = (starts_at or appointment.starts_at).astimezone(schedule.location_tz(appointment.location))
    return f"{local:%a %d %b, %I:%M %p}".replace(" 0", " ")


def _free_times(appointment: Appointment) -> list[dt.datetime]:
    """The next free starts with the same doctor, branch and type (from today, in the future)."""
    today = timezone.now().astimezone(schedule.location_tz(appointment.location)).date()
    found: list[dt.datetime] = []
    for offset in range(SLOT_DAYS):
        for slot in schedule.free_slots(
            clinician=appointment.clinician,
            location=appointment.location,
            day=today + dt.timedelta(days=offset),
            appointment_type=appointment.appointment_type,
        ):
            if slot.starts_at != appointment.starts_at:
                found.append(slot.starts_at)
            if len(found) == SLOTS_OFFERED:
                return found
    return found


def _offer(appointment: Appointment, facts: dict[str, str]) -> Choices | str:
    times = _free_times(appointment)
    if not times:
        services.appointment_request_reschedule_by_patient(appointment=appointment)
        return RESCHEDULE.format(**facts)
    rows = [
        {"id": f"{PREFIX}:slot:{appointment.pk}:{int(at.timestamp())}", "title": _when(appointment, at)[:24]}
        for at in times
    ]
    rows.append({"id": f"{PREFIX}:callback:{appointment.pk}", "title": "Call me instead", "description": "फ़ोन करें"})
    return Choices(text=OFFER.format(**facts), button="Choose a time", rows=rows)


def answer_button(contact: Contact, payload: str) -> str | Choices | None:
    _, action, rest = [*payload.split(":", 2), "", ""][:3]
    raw_id, _, extra = rest.partition(":")
    pk = parse_uuid(raw_id)
    appointment = (
        Appointment.objects.select_related("patient", "clinician", "location", "appointment_type").filter(pk=pk).first()
        if pk
        else None
    )
    if appointment is None or action not in ACTIONS + FOLLOW_UPS or not _whose(contact, appointment):
        return None
    facts = {"doctor": appointment.clinician.full_name, "when": _when(appointment)}
    try:
        if action == "confirm":
            services.appointment_confirm_by_patient(appointment=appointment)
            return CONFIRMED.format(**facts)
        if action == "cancel":
            services.appointment_cancel_by_patient(appointment=appointment)
            return CANCELLED.format(**facts)
        if action == "reschedule":
            if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
                services.appointment_request_reschedule_by_patient(appointment=appointment)  # says why not
            return _offer(appointment, facts)
        if action == "slot":
            try:
                starts_at = dt.datetime.fromtimestamp(int(extra), tz=dt.UTC)
            except (ValueError, OverflowError, OSError):
                return None
            moved = services.appointment_reschedule_by_patient(appointment=appointment, starts_at=starts_at)
            return MOVED.format(doctor=facts["doctor"], when=_when(moved))
        services.appointment_request_reschedule_by_patient(appointment=appointment)
        return RESCHEDULE.format(**facts)
    except ValidationError as exc:  # e.g. already checked in, cancelled, or the time was just taken
        raise ValidationError(f"{' '.join(exc.messages)} Please call the clinic. / कृपया क्लिनिक को फ़ोन करें।") from exc
