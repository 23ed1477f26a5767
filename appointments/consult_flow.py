"""From the queue to the consultation screen and on to the next patient (issue 9, "The doctor's day").

- A doctor who calls in a token of their own queue lands on the consultation screen of that patient
  (`after_call`); the front desk or a nurse calling in stays on the queue.
- "Sign and next patient" on the consultation screen posts here (`sign_and_next`): the clinical
  screen saves and signs the visit and its prescription, and in the same transaction the patient's
  token (and appointment, linked to the visit) is done; then the next waiting token of this doctor's
  queue at that location is called in and opened, or, with nobody waiting, My day.
This lives in appointments because appointments may import clinical, never the other way round.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.guards import staff_user
from accounts.models import User
from appointments import services
from appointments.models import Appointment, QueueEntry
from appointments.schedule import location_tz
from appointments.selectors import local_day_range
from audit.context import AuditContext, audit_context
from clinical.consultation_views import consultation_submit, register_next_patient
from clinical.models import Visit
from docos.permissions import capability_required
from patients.access import patient_access
from patients.models import Patient


def consult_url(entry: QueueEntry) -> str:
    return f"{reverse('clinical-consultation', kwargs={'patient_id': entry.patient_id})}?location={entry.location_id}"


def after_call(entry: QueueEntry, user: User) -> str | None:
    """Where "Call in" leads: the consultation screen for the doctor whose queue it is."""
    if entry.clinician_id == user.pk and user.has_capability("clinical.edit"):
        return consult_url(entry)
    return None


def _open_entry(*, patient: Patient, clinician: User, visit: Visit) -> QueueEntry | None:
    """The patient's token in this doctor's queue today at the visit's location, not yet done."""
    return (
        QueueEntry.objects.filter(
            patient=patient,
            clinician=clinician,
            location=visit.location,
            day=services.local_today(visit.location),
            status__in=[QueueEntry.Status.WAITING, QueueEntry.Status.IN_CONSULTATION],
        )
        .order_by("token")
        .first()
    )


@transaction.atomic
def consultation_finish(*, visit: Visit, actor: User, context: AuditContext | None = None) -> None:
    """The signed consultation ends the patient's turn: their token (called in first if it was still
    waiting) is done and its appointment completed with this visit; an appointment of today without
    a token (started from the appointment page) is completed with it too."""
    entry = _open_entry(patient=visit.patient, clinician=actor, visit=visit)
    if entry is not None:
        if entry.status == QueueEntry.Status.WAITING:
            services.queue_call(entry=entry, actor=actor, context=context)
        services.queue_finish(entry=entry, actor=actor, visit=visit, context=context)
        return
    # Today's only: a stale checked-in appointment of an earlier day is not this consultation.
    start, end = local_day_range(services.local_today(visit.location), location_tz(visit.location))
    appointment = (
        Appointment.objects.filter(
            patient=visit.patient,
            clinician=actor,
            location=visit.location,
            starts_at__gte=start,
            starts_at__lt=end,
            status__in=[Appointment.Status.CHECKED_IN, Appointment.Status.IN_CONSULTATION],
        )
        .order_by("starts_at")
        .first()
    )
    if appointment is not None:
        services.appointment_complete(appointment=appointment, actor=actor, visit=visit, context=context)


@transaction.atomic
def call_next(*, actor: User, visit: Visit, context: AuditContext | None = None) -> QueueEntry | None:
    """Call in the next waiting token of the actor's queue at the visit's location today, if any."""
    entry = (
        QueueEntry.objects.select_for_update(skip_locked=True)
        .filter(
            clinician=actor,
            location=visit.location,
            day=services.local_today(visit.location),
            status=QueueEntry.Status.WAITING,
        )
        .order_by("token")
        .first()
    )
    if entry is None:
        return None
    return services.queue_call(entry=entry, actor=actor, context=context)


@require_POST
@capability_required("clinical.sign")
@capability_required("appointments.manage")
def sign_and_next(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    context = audit_context(request)
    result = consultation_submit(
        request,
        patient,
        sign=True,
        then=lambda visit: consultation_finish(visit=visit, actor=user, context=context),
    )
    if isinstance(result, HttpResponse):
        return result
    following = call_next(actor=user, visit=result, context=context)
    if following is None:
        messages.success(request, "Signed. Nobody else is waiting in your queue here.")
        return redirect("appointments:mine")
    messages.success(request, f"Signed. Token {following.token} called in.")
    return redirect(consult_url(following))


def _next_patient_url(user: User, patient: Patient) -> str | None:
    if not user.has_capability("appointments.manage"):
        return None
    return reverse("queue:sign-next", kwargs={"patient_id": patient.pk})


def register() -> None:
    register_next_patient(_next_patient_url)
