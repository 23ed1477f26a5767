"""The buttons of an appointment reminder, pressed on WhatsApp: Confirm, Cancel, Reschedule.

The reminder carries one payload per button, "appt:<action>:<appointment id>"
(`reminder_button_payloads`), when its template has those quick replies. The press comes back
through messaging.replies, which calls `answer_button` with the contact who pressed it. The
appointment must be that contact's patient's (linked, or the patient's WhatsApp number); anything
else is ignored without an answer, so a forged payload learns nothing. The actions go through the
appointments services (audited, idempotent: a second press changes nothing) and the patient gets a
one-line answer in English and Hindi.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from appointments import schedule, services
from appointments.models import Appointment
from docos.ids import parse_uuid
from messaging.models import Contact, MessageTemplate

PREFIX = "appt"
ACTIONS = ("confirm", "cancel", "reschedule")

CONFIRMED = (
    "Thank you, your appointment with {doctor} on {when} is confirmed. / "
    "धन्यवाद, {when} को {doctor} के साथ आपका अपॉइंटमेंट पक्का है।"
)
CANCELLED = (
    "Your appointment with {doctor} on {when} is cancelled. Reply here or call us to book again. / "
    "{when} को {doctor} के साथ आपका अपॉइंटमेंट रद्द कर दिया गया है।"
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


def answer_button(contact: Contact, payload: str) -> str | None:
    _, action, raw_id = [*payload.split(":", 2), "", ""][:3]
    pk = parse_uuid(raw_id)
    appointment = (
        Appointment.objects.select_related("patient", "clinician", "location").filter(pk=pk).first() if pk else None
    )
    if appointment is None or action not in ACTIONS or not _whose(contact, appointment):
        return None
    local = appointment.starts_at.astimezone(schedule.location_tz(appointment.location))
    facts = {"doctor": appointment.clinician.full_name, "when": f"{local:%a %d %b, %I:%M %p}".replace(" 0", " ")}
    try:
        if action == "confirm":
            services.appointment_confirm_by_patient(appointment=appointment)
            return CONFIRMED.format(**facts)
        if action == "cancel":
            services.appointment_cancel_by_patient(appointment=appointment)
            return CANCELLED.format(**facts)
        services.appointment_request_reschedule_by_patient(appointment=appointment)
        return RESCHEDULE.format(**facts)
    except ValidationError as exc:  # e.g. already checked in, or cancelled: say so
        raise ValidationError(f"{' '.join(exc.messages)} Please call the clinic. / कृपया क्लिनिक को फ़ोन करें।") from exc
