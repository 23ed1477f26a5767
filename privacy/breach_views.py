"""The breach register in the settings console (/settings/privacy/breaches/), capability
`privacy.manage` and every branch (privacy.breaches.may_manage_breaches): incidents, their two
reporting timers, the affected patients and the notices. Thin views: parse, check, call one
service or selector, render. Another clinic's incident and a missing one give the same 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from audit.context import audit_context
from docos.permissions import capability_required
from documents.forms import apply_service_errors
from patients.access import visible_patients
from privacy import breaches, notices, selectors
from privacy.forms import AffectedAddForm, BreachEditForm, BreachForm, BreachStatusForm, NoticeForm, ReportForm
from privacy.models import BreachIncident, NoticeRun

CAP = "privacy.manage"
PAGE_SIZE = 25


def _require_register(request: HttpRequest) -> None:
    if not breaches.may_manage_breaches(request.user):
        raise PermissionDenied("The breach register is kept by privacy managers who work at every branch.")


def _detail(incident: BreachIncident) -> HttpResponse:
    return redirect("privacy_breach_detail", incident_id=incident.pk)


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@require_GET
@capability_required(CAP)
def breach_list(request: HttpRequest) -> HttpResponse:
    _require_register(request)
    status = request.GET.get("status", "active")
    if status not in ("", "active", *BreachIncident.Status.values):
        status = "active"
    incidents = selectors.breach_list(user=request.user, status=status)
    page = Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/breach_list.html",
        {"tab": "privacy", "page": page, "status": status, "statuses": BreachIncident.Status.choices,
         "now": timezone.now()},
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
@capability_required(CAP)
def breach_new(request: HttpRequest) -> HttpResponse:
    _require_register(request)
    form = BreachForm(request.POST or None, initial={"discovered_at": timezone.localtime().replace(second=0)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = breaches.breach_create(
                actor=staff_user(request), title=data["title"], kind=data["kind"],
                discovered_at=data["discovered_at"], description=data["description"],
                occurred_from=data["occurred_from"], occurred_to=data["occurred_to"], account=data["account"],
                token=data["token"], context=audit_context(request),
            )  # fmt: skip
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, f"Breach {incident.reference} recorded: the reporting timers are running.")
            return _detail(incident)
    return render(request, "privacy/breach_form.html", {"tab": "privacy", "form": form, "incident": None})


@require_GET
@capability_required(CAP)
def breach_detail(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    run = selectors.breach_latest_run(incident)
    now = timezone.now()
    return render(
        request,
        "privacy/breach_detail.html",
        {
            "tab": "privacy",
            "incident": incident,
            "affected": selectors.breach_affected(incident),
            "summary": notices.notice_summary(incident),
            "run": run,
            "sending": run is not None and run.status in (NoticeRun.Status.QUEUED, NoticeRun.Status.RUNNING),
            "cert_in": incident.cert_in_state(now),
            "board": incident.board_state(now),
            "status_form": BreachStatusForm(initial={"status": incident.status}),
            "report_form": ReportForm(),
            "add_form": AffectedAddForm(),
            "computable": incident.kind in BreachIncident.COMPUTABLE,
            "notice": notices.letter(incident, "<patient's name>"),
            "template_approved": notices.template_approved(),
            "events": Paginator(selectors.breach_events(incident), 50).get_page(request.GET.get("page")),
            "now": now,
        },
    )


@require_http_methods(["GET", "POST"])
@capability_required(CAP)
def breach_edit(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    initial = {name: getattr(incident, name) for name in ("title", "description", "occurred_from", "occurred_to")}
    form = BreachEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            breaches.breach_update(
                incident=incident, actor=staff_user(request), title=data["title"], description=data["description"],
                occurred_from=data["occurred_from"], occurred_to=data["occurred_to"], context=audit_context(request),
            )  # fmt: skip
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, "Incident updated.")
            return _detail(incident)
    return render(request, "privacy/breach_form.html", {"tab": "privacy", "form": form, "incident": incident})


@require_POST
@capability_required(CAP)
def breach_status(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    form = BreachStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the status.")
        return _detail(incident)
    try:
        breaches.breach_set_status(
            incident=incident, actor=staff_user(request), status=form.cleaned_data["status"],
            context=audit_context(request),
        )  # fmt: skip
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "Status changed.")
    return _detail(incident)


@require_POST
@capability_required(CAP)
def breach_report(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which report was made, and when.")
        return _detail(incident)
    data = form.cleaned_data
    try:
        breaches.breach_mark_reported(
            incident=incident, actor=staff_user(request), target=data["target"], reported_at=data["reported_at"],
            reference=data["reference"], context=audit_context(request),
        )  # fmt: skip
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"Report to {breaches.REPORT_TARGETS[data['target']]} recorded.")
    return _detail(incident)


@require_POST
@capability_required(CAP)
def breach_compute(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    try:
        breaches.breach_compute_affected(incident=incident, actor=staff_user(request), context=audit_context(request))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "The affected patients were computed from the access and audit logs.")
    return _detail(incident)


@require_POST
@capability_required(CAP)
def breach_add_patient(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    form = AffectedAddForm(request.POST)
    mrn = form.cleaned_data["mrn"].strip().upper() if form.is_valid() else ""
    patient = visible_patients(request.user).filter(mrn=mrn).first() if mrn else None
    if patient is None:
        messages.error(request, "No patient with this MRN that you may open.")
        return _detail(incident)
    try:
        breaches.breach_add_patient(
            incident=incident, actor=staff_user(request), patient=patient, context=audit_context(request)
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "Patient added to the list.")
    return _detail(incident)


@require_POST
@capability_required(CAP)
def breach_remove_patient(request: HttpRequest, incident_id: Any, patient_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    try:
        breaches.breach_remove_patient(
            incident=incident, actor=staff_user(request), patient_id=patient_id, context=audit_context(request)
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "Patient taken off the list.")
    return _detail(incident)


@require_http_methods(["GET", "POST"])
@capability_required(CAP)
def breach_notice(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    initial = {name: getattr(incident, name) for name, _ in notices.SECTIONS}
    form = NoticeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            notices.notice_update(
                incident=incident, actor=staff_user(request), values=form.cleaned_data, context=audit_context(request)
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, "Notice saved.")
            return _detail(incident)
    return render(
        request,
        "privacy/breach_notice.html",
        {"tab": "privacy", "incident": incident, "form": form, "limit": notices.whatsapp_notice_limit(),
         "current": len(notices.whatsapp_notice(incident))},
    )  # fmt: skip


@require_POST
@capability_required(CAP)
def breach_notices_send(request: HttpRequest, incident_id: Any) -> HttpResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    try:
        notices.notices_send_start(incident=incident, actor=staff_user(request), context=audit_context(request))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "The notices are being sent; this page shows the progress.")
    return _detail(incident)


@require_GET
@capability_required(CAP)
def breach_notices_progress(request: HttpRequest, incident_id: Any) -> JsonResponse:
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    run = selectors.breach_latest_run(incident)
    if run is None:
        return JsonResponse({"status": "none"})
    return JsonResponse(
        {"status": run.status, "progress": run.progress, "total": run.total, "done": run.done,
         "whatsapp": run.whatsapp, "print": run.printable, "already": run.already}
    )  # fmt: skip


@require_GET
@capability_required(CAP)
def breach_letters(request: HttpRequest, incident_id: Any) -> HttpResponse:
    """The notices to print or email, one letter per patient WhatsApp could not reach."""
    incident = selectors.breach_access(user=request.user, incident_id=incident_id)
    rows = notices.print_rows(incident)
    letters = [
        {
            "row": row,
            "reason": notices.reason_sentence(row.notice_reason),
            "paragraphs": notices.letter(incident, row.patient.full_name),
        }
        for row in rows
    ]
    return render(
        request,
        "privacy/breach_letters.html",
        {"tab": "privacy", "incident": incident, "letters": letters, "clinic_name": notices.clinic_name()},
    )
