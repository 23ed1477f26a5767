"""Schedule pages (schedules.manage): weekly hours and breaks, leaves, holidays, appointment types,
reminder rules and the clinic's appointment settings (overbooking, quiet hours)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.guards import staff_user
from appointments import selectors, services
from appointments.forms import (
    AppointmentSettingsForm,
    AppointmentTypeForm,
    BreakForm,
    HolidayForm,
    LeaveForm,
    ReminderRuleForm,
    WorkingHoursForm,
    submit,
)
from appointments.models import AppointmentType, Holiday, Leave, ReminderRule, ScheduleBreak, WorkingHours
from audit.context import audit_context
from docos.permissions import capability_required


def _get(model: Any, pk: UUID) -> Any:
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise Http404("Not found")
    return obj


def _remove_view(
    model: type[Model], service: Callable[..., None], name: str, done: str, back: str
) -> Callable[..., HttpResponse]:
    """A POST-only remove button (schedules.manage): `service(<name>=the row whose id the URL carries)`."""

    @require_POST
    @capability_required("schedules.manage")
    def view(request: HttpRequest, **url: UUID) -> HttpResponse:
        (pk,) = url.values()
        service(**{name: _get(model, pk)}, actor=staff_user(request), context=audit_context(request))
        messages.success(request, done)
        return redirect(back)

    return view


def _render(request: HttpRequest, template: str, context: dict[str, Any], *, failed: bool = False) -> HttpResponse:
    return render(
        request,
        f"appointments/schedules/{template}",
        {"tab": template.split(".")[0], **context},
        status=400 if failed else 200,
    )


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def hours(request: HttpRequest) -> HttpResponse:
    """Weekly working hours per doctor and location, with their breaks."""
    form = WorkingHoursForm(request.POST or None)
    created = submit(
        form,
        lambda: services.working_hours_add(
            actor=staff_user(request), context=audit_context(request), **form.cleaned_data
        ),
    )
    if created is not None:
        messages.success(request, f"Added {len(created)} weekly session{'s' if len(created) != 1 else ''}.")
        return redirect("appointments:schedule-hours")
    return _render(
        request,
        "hours.html",
        {"form": form, "sessions": selectors.working_hours_list(), "break_form": BreakForm()},
        failed=request.method == "POST",
    )


hours_remove = _remove_view(
    WorkingHours,
    services.working_hours_remove,
    "session",
    "Session removed. Appointments already booked in it are kept.",
    "appointments:schedule-hours",
)


@require_POST
@capability_required("schedules.manage")
def break_add(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _get(WorkingHours, session_id)
    form = BreakForm(request.POST)
    if form.is_valid():
        try:
            services.break_add(
                session=session, actor=staff_user(request), context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Break added.")
    else:
        messages.error(request, "Give the break's start and end times.")
    return redirect("appointments:schedule-hours")


break_remove = _remove_view(
    ScheduleBreak, services.break_remove, "pause", "Break removed.", "appointments:schedule-hours"
)


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def leaves(request: HttpRequest) -> HttpResponse:
    form = LeaveForm(request.POST or None)

    def save() -> Leave:
        starts_at, ends_at = form.period()
        return services.leave_add(
            clinician=form.cleaned_data["clinician"],
            starts_at=starts_at,
            ends_at=ends_at,
            reason=form.cleaned_data["reason"],
            actor=staff_user(request),
            context=audit_context(request),
        )

    leave = submit(form, save)
    if leave is not None:
        affected = selectors.appointments_affected_by_leave(leave).count()
        messages.success(request, "Leave recorded.")
        if affected:
            messages.warning(
                request,
                f"{affected} booked appointment{'s' if affected != 1 else ''} fall in this leave; "
                "reschedule or cancel them (listed below).",
            )
        return redirect("appointments:schedule-leaves")
    upcoming = list(selectors.leaves_upcoming())
    return _render(
        request,
        "leaves.html",
        {
            "form": form,
            "leaves": [(leave, list(selectors.appointments_affected_by_leave(leave))) for leave in upcoming],
            "tz": selectors.clinic_tz(),
        },
        failed=request.method == "POST",
    )


leave_remove = _remove_view(Leave, services.leave_remove, "leave", "Leave removed.", "appointments:schedule-leaves")


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def holidays(request: HttpRequest) -> HttpResponse:
    form = HolidayForm(request.POST or None)
    added = submit(
        form,
        lambda: services.holiday_add(
            day=form.cleaned_data["date"],
            name=form.cleaned_data["name"],
            location=form.cleaned_data["location"],
            actor=staff_user(request),
            context=audit_context(request),
        ),
    )
    if added is not None:
        messages.success(request, "Holiday added.")
        return redirect("appointments:schedule-holidays")
    return _render(
        request,
        "holidays.html",
        {"form": form, "holidays": selectors.holidays_upcoming()},
        failed=request.method == "POST",
    )


holiday_remove = _remove_view(
    Holiday, services.holiday_remove, "holiday", "Holiday removed.", "appointments:schedule-holidays"
)


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def types(request: HttpRequest, type_id: UUID | None = None) -> HttpResponse:
    """Appointment types (list + add), or one type's edit form."""
    current = _get(AppointmentType, type_id) if type_id else None
    initial = (
        {f: getattr(current, f) for f in services.TYPE_FIELDS}
        if current
        else {"colour": "#0b6bcb", "duration_minutes": 15, "position": 0, "is_active": True}
    )
    form = AppointmentTypeForm(request.POST or None, initial=initial)
    saved = submit(
        form,
        lambda: services.appointment_type_save(
            actor=staff_user(request), appointment_type=current, context=audit_context(request), **form.cleaned_data
        ),
    )
    if saved is not None:
        messages.success(request, "Appointment type saved.")
        return redirect("appointments:schedule-types")
    return _render(
        request,
        "types.html",
        {"form": form, "current": current, "types": selectors.appointment_types(active_only=False)},
        failed=request.method == "POST",
    )


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def rules(request: HttpRequest, rule_id: UUID | None = None) -> HttpResponse:
    """Reminder rules (list + add), or one rule's edit form."""
    current = _get(ReminderRule, rule_id) if rule_id else None
    initial = ReminderRuleForm.initial_for(current) if current else None
    form = ReminderRuleForm(request.POST or None, initial=initial)
    saved = submit(
        form,
        lambda: services.reminder_rule_save(
            actor=staff_user(request), rule=current, context=audit_context(request), **form.service_kwargs()
        ),
    )
    if saved is not None:
        messages.success(request, "Reminder rule saved.")
        return redirect("appointments:schedule-rules")
    return _render(
        request,
        "rules.html",
        {"form": form, "current": current, "rules": selectors.reminder_rules()},
        failed=request.method == "POST",
    )


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def appointment_settings(request: HttpRequest) -> HttpResponse:
    current = selectors.appointment_settings()
    form = AppointmentSettingsForm(
        request.POST or None, initial={f: getattr(current, f) for f in services.SETTINGS_FIELDS}
    )
    saved = submit(
        form,
        lambda: services.appointment_settings_update(
            actor=staff_user(request), context=audit_context(request), **form.cleaned_data
        ),
    )
    if saved is not None:
        messages.success(request, "Appointment settings saved.")
        return redirect("appointments:schedule-settings")
    return _render(request, "settings.html", {"form": form}, failed=request.method == "POST")
