"""Schedule pages (schedules.manage): weekly hours and breaks, leaves, holidays, appointment types,
reminder rules and the clinic's appointment settings (overbooking, quiet hours)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
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
    apply_service_errors,
)
from appointments.models import AppointmentType, Holiday, Leave, ReminderRule, ScheduleBreak, WorkingHours
from audit.context import audit_context
from docos.permissions import capability_required


def _get(model: Any, pk: UUID) -> Any:
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise Http404("Not found")
    return obj


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
    if request.method == "POST" and form.is_valid():
        try:
            created = services.working_hours_add(
                actor=staff_user(request), context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, f"Added {len(created)} weekly session{'s' if len(created) != 1 else ''}.")
            return redirect("appointments:schedule-hours")
    return _render(
        request,
        "hours.html",
        {"form": form, "sessions": selectors.working_hours_list(), "break_form": BreakForm()},
        failed=request.method == "POST",
    )


@require_POST
@capability_required("schedules.manage")
def hours_remove(request: HttpRequest, session_id: UUID) -> HttpResponse:
    services.working_hours_remove(
        session=_get(WorkingHours, session_id), actor=staff_user(request), context=audit_context(request)
    )
    messages.success(request, "Session removed. Appointments already booked in it are kept.")
    return redirect("appointments:schedule-hours")


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


@require_POST
@capability_required("schedules.manage")
def break_remove(request: HttpRequest, break_id: UUID) -> HttpResponse:
    services.break_remove(
        pause=_get(ScheduleBreak, break_id), actor=staff_user(request), context=audit_context(request)
    )
    messages.success(request, "Break removed.")
    return redirect("appointments:schedule-hours")


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def leaves(request: HttpRequest) -> HttpResponse:
    form = LeaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        starts_at, ends_at = form.period()
        try:
            leave = services.leave_add(
                clinician=form.cleaned_data["clinician"],
                starts_at=starts_at,
                ends_at=ends_at,
                reason=form.cleaned_data["reason"],
                actor=staff_user(request),
                context=audit_context(request),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
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


@require_POST
@capability_required("schedules.manage")
def leave_remove(request: HttpRequest, leave_id: UUID) -> HttpResponse:
    services.leave_remove(leave=_get(Leave, leave_id), actor=staff_user(request), context=audit_context(request))
    messages.success(request, "Leave removed.")
    return redirect("appointments:schedule-leaves")


@require_http_methods(["GET", "POST"])
@capability_required("schedules.manage")
def holidays(request: HttpRequest) -> HttpResponse:
    form = HolidayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.holiday_add(
                day=form.cleaned_data["date"],
                name=form.cleaned_data["name"],
                location=form.cleaned_data["location"],
                actor=staff_user(request),
                context=audit_context(request),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, "Holiday added.")
            return redirect("appointments:schedule-holidays")
    return _render(
        request,
        "holidays.html",
        {"form": form, "holidays": selectors.holidays_upcoming()},
        failed=request.method == "POST",
    )


@require_POST
@capability_required("schedules.manage")
def holiday_remove(request: HttpRequest, holiday_id: UUID) -> HttpResponse:
    services.holiday_remove(
        holiday=_get(Holiday, holiday_id), actor=staff_user(request), context=audit_context(request)
    )
    messages.success(request, "Holiday removed.")
    return redirect("appointments:schedule-holidays")


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
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_type_save(
                actor=staff_user(request), appointment_type=current, context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
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
    if request.method == "POST" and form.is_valid():
        try:
            services.reminder_rule_save(
                actor=staff_user(request), rule=current, context=audit_context(request), **form.service_kwargs()
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
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
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_settings_update(
                actor=staff_user(request), context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, "Appointment settings saved.")
            return redirect("appointments:schedule-settings")
    return _render(request, "settings.html", {"form": form}, failed=request.method == "POST")
