"""HTML pages: the front desk's day list, calendars (drag to reschedule), the doctor's day, booking
and each appointment's actions, the walk-in queue and its waiting-area board, and schedules.

Thin views: parse, check the capability (decorators), call one selector or service, render.
Everything is scoped by the selectors: another clinic's or location's ids give the same 404.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from accounts.models import Location, User
from accounts.selectors import is_clinician, locations_for
from appointments import consult_flow, selectors, services
from appointments.forms import (
    BookingForm,
    CancelForm,
    CompleteForm,
    RescheduleForm,
    WalkInForm,
    apply_service_errors,
    submit,
)
from appointments.models import Appointment, QueueEntry
from appointments.schedule import free_slots, location_tz
from audit.context import audit_context
from clinical.models import Visit
from clinical.selectors import visits_visible_to
from docos.http import local_next
from docos.ids import parse_uuid
from docos.permissions import capability_required

PAGE_SIZE = 50


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _location(request: HttpRequest, user: User, param: str = "location") -> Location:
    """The location the page is about: ?location=, else the user's first location."""
    raw = request.GET.get(param) or request.POST.get(param) or ""
    if raw:
        return selectors.location_get(user=user, location_id=raw)
    location = locations_for(user).order_by("name").first()
    if location is None:
        raise Http404("You have no active location")
    return location


def _clinician(request: HttpRequest, param: str = "doctor") -> User | None:
    raw = request.GET.get(param, "")
    return selectors.clinician_get(raw) if raw else None


def _day(request: HttpRequest, tz: zoneinfo.ZoneInfo) -> dt.date:
    raw = request.GET.get("date", "")
    try:
        return dt.date.fromisoformat(raw) if raw else timezone.now().astimezone(tz).date()
    except ValueError:
        return timezone.now().astimezone(tz).date()


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- lists and calendars ---------------------------------------------------------------------------


@require_GET
@capability_required("appointments.view")
def day_list(request: HttpRequest) -> HttpResponse:
    """The front desk's list for a day at a location, with the actions each row allows."""
    user = staff_user(request)
    location = _location(request, user)
    tz = location_tz(location)
    day = _day(request, tz)
    clinician = _clinician(request)
    status = request.GET.get("status", "")
    appointments = selectors.appointment_list(
        user=user, day=day, location=location, clinician=clinician, status=status
    ).select_related("queue_entry")
    page = Paginator(appointments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "appointments/day_list.html",
        {
            "page": page,
            "location": location,
            "locations": locations_for(user).order_by("name"),
            "clinicians": selectors.clinicians_at(location),
            "clinician": clinician,
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "is_today": day == timezone.now().astimezone(tz).date(),
            "status": status,
            "statuses": Appointment.Status.choices,
            "tz": tz,
            "can_manage": user.has_capability("appointments.manage"),
        },
    )


@require_GET
@capability_required("appointments.view")
def calendar(request: HttpRequest) -> HttpResponse:
    """Day view (a column per doctor) or week view (a column per day) at a location."""
    user = staff_user(request)
    location = _location(request, user)
    tz = location_tz(location)
    view = "week" if request.GET.get("view") == "week" else "day"
    day = _day(request, tz)
    clinician = _clinician(request)
    clinicians = [clinician] if clinician else selectors.clinicians_at(location)
    if view == "week":
        start = day - dt.timedelta(days=day.weekday())
        grid = selectors.calendar_build(
            user=user, location=location, start_day=start, days=7, clinicians=clinicians, step_minutes=30
        )
        previous, following = start - dt.timedelta(days=7), start + dt.timedelta(days=7)
    else:
        start = day
        grid = selectors.calendar_build(
            user=user, location=location, start_day=day, days=1, clinicians=clinicians, step_minutes=15
        )
        previous, following = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    base = {"location": location.pk, "doctor": clinician.pk if clinician else "", "view": view}
    return render(
        request,
        "appointments/calendar.html",
        {
            "grid": grid,
            "view": view,
            "day": day,
            "start": start,
            "location": location,
            "locations": locations_for(user).order_by("name"),
            "clinician": clinician,
            "clinicians": selectors.clinicians_at(location),
            "previous_query": _query(**base, date=previous.isoformat()),
            "next_query": _query(**base, date=following.isoformat()),
            "today_query": _query(**base),
            "switch_query": _query(
                location=location.pk,
                doctor=base["doctor"],
                date=day.isoformat(),
                view="day" if view == "week" else "week",
            ),
            "can_manage": user.has_capability("appointments.manage"),
        },
    )


@require_GET
@capability_required("appointments.view")
def my_day(request: HttpRequest) -> HttpResponse:
    """A doctor's own day: their appointments at every location, and their queues."""
    user = staff_user(request)
    tz = selectors.clinic_tz()
    day = _day(request, tz)
    appointments = selectors.appointment_list(user=user, day=day, clinician=user).select_related("queue_entry")
    entries = (
        QueueEntry.objects.filter(clinician=user, day=day)
        .select_related("patient", "location", "appointment")
        .order_by("location__name", "token")
    )
    return render(
        request,
        "appointments/my_day.html",
        {
            "appointments": appointments,
            "entries": entries,
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "tz": tz,
            "is_clinician": is_clinician(user),
            "can_manage": user.has_capability("appointments.manage"),
        },
    )


# --- booking ---------------------------------------------------------------------------------------


def _chosen_patient(request: HttpRequest, user: User) -> Any:
    """The patient a booking or walk-in is for (?patient= or the form's), or None while choosing."""
    raw_patient = request.POST.get("patient") or request.GET.get("patient") or ""
    return selectors.patient_for_booking(user=user, patient_id=raw_patient) if raw_patient else None


def _patient_picker(request: HttpRequest, patient: Any) -> dict[str, Any]:
    """The chosen patient, or the search (?q=) and its matches to choose from."""
    query = request.GET.get("q", "").strip()
    matches = selectors.patient_lookup(query, user=staff_user(request)) if query and patient is None else []
    # "Register a new patient" keeps what was typed and comes back here with the new patient chosen.
    back = request.GET.copy()
    back.pop("q", None)
    back.pop("patient", None)
    here = f"{request.path}?{back.urlencode()}" if back else request.path
    register_url = f"{reverse('patients-new')}?{urlencode({'q': query, 'next': here})}"
    return {"patient": patient, "q": query, "matches": matches, "register_url": register_url}


def _booking_page(request: HttpRequest, *, form: BookingForm, patient: Any, status: int = 200) -> HttpResponse:
    return render(
        request,
        "appointments/book.html",
        {"form": form, **_patient_picker(request, patient), "has_types": selectors.appointment_types().exists()},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@capability_required("appointments.manage")
def book(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    patient = _chosen_patient(request, user)
    if request.method == "POST":
        form = BookingForm(request.POST, user=user)
        if patient is None:
            form.add_error(None, "Choose the patient first.")
        else:
            appointment = submit(
                form,
                lambda: services.appointment_book(
                    patient=patient, actor=user, context=audit_context(request), **form.service_kwargs()
                ),
            )
            if appointment is not None:
                messages.success(request, "Appointment booked.")
                return redirect("appointments:detail", appointment_id=appointment.pk)
        return _booking_page(request, form=form, patient=patient, status=400)
    initial: dict[str, Any] = {}
    for name in ("location", "doctor", "date", "time", "type"):
        if request.GET.get(name):
            initial[{"doctor": "clinician", "type": "appointment_type"}.get(name, name)] = request.GET[name]
    if "date" not in initial:
        initial["date"] = timezone.now().astimezone(selectors.clinic_tz()).date()
    return _booking_page(request, form=BookingForm(user=user, initial=initial), patient=patient)


@require_GET
@capability_required("appointments.view")
def detail(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    user = staff_user(request)
    appointment = selectors.appointment_access(user=user, appointment_id=appointment_id)
    tz = location_tz(appointment.location)
    return render(
        request,
        "appointments/detail.html",
        {
            "appointment": appointment,
            "tz": tz,
            "reminders": selectors.reminders_of(appointment),
            "queue_entry": QueueEntry.objects.filter(appointment=appointment).first(),
            "can_manage": user.has_capability("appointments.manage"),
            "allowed": {action: services.can(appointment, action) for action in services.TRANSITIONS},
            "is_past": appointment.starts_at <= timezone.now(),
            "is_today": appointment.starts_at.astimezone(tz).date() == timezone.now().astimezone(tz).date(),
        },
    )


def _back(request: HttpRequest, appointment: Appointment) -> HttpResponse:
    """Back to the page the form came from (`next`, a local path), else to the appointment."""
    return _next_or(request, reverse("appointments:detail", kwargs={"appointment_id": appointment.pk}))


def _next_or(request: HttpRequest, default: str) -> HttpResponse:
    return redirect(local_next(request, request.POST.get("next")) or default)


def _form_page(request: HttpRequest, template: str, form: Any, appointment: Appointment) -> HttpResponse:
    """An appointment's form page (reschedule, cancel, complete); 400 when a POST did not go through."""
    return render(
        request,
        f"appointments/{template}",
        {"form": form, "appointment": appointment},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@capability_required("appointments.manage")
def reschedule(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """The reschedule form (the keyboard alternative to dragging), and the endpoint the calendar's
    drag and drop posts to (answering JSON when asked)."""
    user = staff_user(request)
    appointment = selectors.appointment_access(user=user, appointment_id=appointment_id)
    if request.method == "POST":
        form = RescheduleForm(request.POST, user=user, appointment=appointment)
        if form.is_valid():
            try:
                services.appointment_reschedule(
                    appointment=appointment, actor=user, context=audit_context(request), **form.service_kwargs()
                )
            except ValidationError as exc:
                if _wants_json(request):
                    return JsonResponse(
                        {"ok": False, "code": getattr(exc, "code", None) or "invalid", "message": _messages_of(exc)},
                        status=409 if isinstance(exc, services.SlotTaken) else 400,
                    )
                apply_service_errors(exc, form)
            else:
                if _wants_json(request):
                    return JsonResponse({"ok": True, "message": "Appointment moved."})
                messages.success(request, "Appointment moved.")
                return _back(request, appointment)
        elif _wants_json(request):
            return JsonResponse(
                {"ok": False, "code": "invalid", "message": " ".join(str(m) for e in form.errors.values() for m in e)},
                status=400,
            )
    else:
        tz = location_tz(appointment.location)
        local = appointment.starts_at.astimezone(tz)
        form = RescheduleForm(
            user=user,
            appointment=appointment,
            initial={"date": local.date(), "time": local.time().replace(tzinfo=None)},
        )
    return _form_page(request, "reschedule.html", form, appointment)


@require_http_methods(["GET", "POST"])
@capability_required("appointments.manage")
def cancel(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    user = staff_user(request)
    appointment = selectors.appointment_access(user=user, appointment_id=appointment_id)
    form = CancelForm(request.POST) if request.method == "POST" else CancelForm()
    cancelled = submit(  # the form's fields are the service's reason and note
        form,
        lambda: services.appointment_cancel(
            appointment=appointment, actor=user, context=audit_context(request), **form.cleaned_data
        ),
    )
    if cancelled is not None:
        messages.success(request, "Appointment cancelled.")
        return _back(request, appointment)
    return _form_page(request, "cancel.html", form, appointment)


def _button(
    service: Callable[..., Any], done: str, after: Callable[[Any, User], str | None] | None = None
) -> Callable[..., HttpResponse]:
    """A POST-only state button (appointments.manage) on the appointment or queue token in the URL:
    run `service`; a refusal becomes an error message, success `done` (with the token, if any). Then
    to `after(result, user)` when it names a page, else back to `next`, else the appointment or the
    token's queue."""

    @require_POST
    @capability_required("appointments.manage")
    def view(request: HttpRequest, appointment_id: UUID | None = None, entry_id: UUID | None = None) -> HttpResponse:
        user = staff_user(request)
        if entry_id is not None:
            entry = selectors.queue_entry_access(user=user, entry_id=entry_id)
            target: dict[str, Any] = {"entry": entry}
            back = f"{reverse('queue:list')}?{_query(location=entry.location_id)}"
        else:
            appointment = selectors.appointment_access(user=user, appointment_id=appointment_id)
            target = {"appointment": appointment}
            back = reverse("appointments:detail", kwargs={"appointment_id": appointment.pk})
        try:
            result = service(**target, actor=user, context=audit_context(request))
        except ValidationError as exc:
            messages.error(request, _messages_of(exc))
        else:
            messages.success(request, done.format(token=getattr(result, "token", "")))
            onward = after(result, user) if after is not None else None
            if onward:
                return redirect(onward)
        return _next_or(request, back)

    return view


check_in = _button(services.appointment_check_in, "Checked in: token {token}.")
start = _button(services.appointment_start, "Consultation started.")
no_show = _button(services.appointment_mark_no_show, "Marked as a no-show.")


@require_http_methods(["GET", "POST"])
@capability_required("appointments.manage")
def complete(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """Complete the appointment: link one of the patient's open visits, or (a clinician) open a new draft."""
    user = staff_user(request)
    appointment = selectors.appointment_access(user=user, appointment_id=appointment_id)
    visits = list(
        visits_visible_to(user)
        .filter(patient=appointment.patient, status=Visit.Status.DRAFT, location=appointment.location)
        .select_related("clinician")
        .order_by("-visit_at")[:10]
    )
    form = CompleteForm(request.POST or None, visits=visits, opens_visit=user.has_capability("clinical.edit"))
    completed = submit(
        form,
        lambda: services.appointment_complete(
            appointment=appointment, actor=user, visit=form.chosen_visit(), context=audit_context(request)
        ),
    )
    if completed is not None:
        messages.success(request, "Appointment completed.")
        if completed.visit_id and user.has_capability("clinical.view"):
            return redirect("clinical-visit-detail", visit_id=completed.visit_id)
        return _back(request, appointment)
    return _form_page(request, "complete.html", form, appointment)


# --- queue -----------------------------------------------------------------------------------------


@require_GET
@capability_required("appointments.view")
def queue(request: HttpRequest) -> HttpResponse:
    """Today's walk-in queue at a location: tokens per doctor, with call / done / left actions."""
    user = staff_user(request)
    location = _location(request, user)
    clinician = _clinician(request)
    today = services.local_today(location)
    entries = selectors.queue_entries(user=user, location=location, day=today, clinician=clinician)
    return render(
        request,
        "appointments/queue.html",
        {
            "entries": entries,
            "location": location,
            "locations": locations_for(user).order_by("name"),
            "clinician": clinician,
            "clinicians": selectors.clinicians_at(location),
            "today": today,
            "board_query": _query(location=location.pk, doctor=clinician.pk if clinician else ""),
            "can_manage": user.has_capability("appointments.manage"),
        },
    )


@require_http_methods(["GET", "POST"])
@capability_required("appointments.manage")
def walk_in(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    patient = _chosen_patient(request, user)
    initial = {k: request.GET[k] for k in ("location",) if request.GET.get(k)}
    if request.GET.get("doctor"):
        initial["clinician"] = request.GET["doctor"]
    form = WalkInForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST":
        if patient is None:
            form.add_error(None, "Choose the patient first.")
        else:
            entry = submit(  # the form's fields are the service's clinician and location
                form,
                lambda: services.queue_add_walk_in(
                    patient=patient, actor=user, context=audit_context(request), **form.cleaned_data
                ),
            )
            if entry is not None:
                messages.success(request, f"Token {entry.token} for {patient.given_name}.")
                return redirect(f"{reverse('queue:list')}?{_query(location=entry.location_id)}")
    return render(
        request,
        "appointments/walk_in.html",
        {"form": form, **_patient_picker(request, patient)},
        status=400 if request.method == "POST" else 200,
    )


queue_call = _button(services.queue_call, "Token {token} called in.", after=consult_flow.after_call)
queue_finish = _button(services.queue_finish, "Token {token} done.")
queue_left = _button(services.queue_mark_left, "Token {token} left without being seen.")


@require_GET
@capability_required("appointments.view")
def queue_board(request: HttpRequest) -> HttpResponse:
    """The waiting-area screen. Token numbers and first names with an initial only; it refreshes
    itself (static/js/appointments_queue.js polls board_data)."""
    user = staff_user(request)
    location = _location(request, user)
    clinician = _clinician(request)
    data = selectors.queue_board(user=user, location=location, day=services.local_today(location), clinician=clinician)
    query = _query(location=location.pk, doctor=clinician.pk if clinician else "")
    return render(
        request, "appointments/board.html", {"board": data, "data_url": f"{reverse('queue:board-data')}?{query}"}
    )


@never_cache
@require_GET
@capability_required("appointments.view")
def queue_board_data(request: HttpRequest) -> JsonResponse:
    user = staff_user(request)
    location = _location(request, user)
    clinician = _clinician(request)
    return JsonResponse(
        selectors.queue_board(user=user, location=location, day=services.local_today(location), clinician=clinician)
    )


# --- slot picker (used by the booking page's script) -------------------------------------------------


@require_GET
@capability_required("appointments.view")
def slots(request: HttpRequest) -> JsonResponse:
    """Free slots as JSON for the booking form: ?location=&doctor=&date=&type=."""
    user = staff_user(request)
    location = _location(request, user)
    clinician = _clinician(request)
    if clinician is None:
        return JsonResponse({"slots": []})
    type_id = parse_uuid(request.GET.get("type", ""))
    appointment_type = (
        selectors.appointment_types().filter(pk=type_id).first() if type_id else None
    ) or selectors.default_appointment_type()
    if appointment_type is None:
        return JsonResponse({"slots": []})
    tz = location_tz(location)
    day = _day(request, tz)
    found = free_slots(clinician=clinician, location=location, day=day, appointment_type=appointment_type)
    return JsonResponse({"slots": [s.starts_at.astimezone(tz).strftime("%H:%M") for s in found]})
