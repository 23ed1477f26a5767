"""The patient-rights workbench in the settings console (/settings/privacy/), capability
`privacy.manage`: requests (list, new, detail with its audit events), their answers (acknowledge,
correct, erase or restrict, export, close), legal holds and the clinic's privacy settings.

Thin views: parse, check the capability (decorator), call one selector or service, render. Another
clinic's or branch's request gives the same 404 as a missing one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from audit.context import audit_context
from docos.permissions import capability_required
from docos.storage import FileUnavailable, read_verified
from documents.forms import apply_service_errors
from documents.views import attachment_response
from patients.access import visible_patients
from patients.services import patient_set_legal_hold
from privacy import selectors, services
from privacy.forms import CloseForm, CorrectionForm, LegalHoldForm, RequestForm, SettingsForm
from privacy.models import PatientExport, RightsRequest

PAGE_SIZE = 25
CAP = "privacy.manage"


def _detail(request_obj: RightsRequest) -> HttpResponse:
    return redirect("privacy_request_detail", request_id=request_obj.pk)


@require_GET
@capability_required(CAP)
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    kind = request.GET.get("kind", "")
    overdue = request.GET.get("overdue") == "1"
    if status not in ("", "open", *RightsRequest.Status.values):
        status = "open"
    if kind not in ("", *RightsRequest.Kind.values):
        kind = ""
    requests = selectors.rights_request_list(user=request.user, status=status, kind=kind, overdue=overdue)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/request_list.html",
        {
            "tab": "privacy",
            "page": page,
            "status": status,
            "kind": kind,
            "overdue": overdue,
            "statuses": RightsRequest.Status.choices,
            "kinds": RightsRequest.Kind.choices,
            "now": timezone.now(),
        },
    )


@require_http_methods(["GET", "POST"])
@capability_required(CAP)
def request_new(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None, user=staff_user(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = None
        mrn = data["patient_mrn"].strip().upper()
        if mrn:
            patient = visible_patients(request.user).filter(mrn=mrn, merged_into__isnull=True).first()
            if patient is None:
                form.add_error("patient_mrn", "No patient with this MRN that you may open.")
        if not form.errors:
            received = data.get("received_on")
            received_at = (
                timezone.make_aware(dt.datetime.combine(received, dt.time(10, 0)))
                if received and received != timezone.localdate()
                else None
            )
            try:
                created = services.rights_request_create(
                    actor=staff_user(request),
                    kind=data["kind"],
                    location=data["location"],
                    requester_name=data["requester_name"],
                    requester_relation=data["requester_relation"],
                    requester_contact=data["requester_contact"],
                    verification=data["verification"],
                    patient=patient,
                    details=data["details"],
                    received_at=received_at,
                    context=audit_context(request),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form)
            else:
                messages.success(request, f"Request {created.reference} recorded.")
                return _detail(created)
    return render(request, "privacy/request_form.html", {"tab": "privacy", "form": form})


@require_GET
@capability_required(CAP)
def request_detail(request: HttpRequest, request_id: Any) -> HttpResponse:
    rights = selectors.rights_request_access(user=request.user, request_id=request_id)
    exports = list(rights.exports.all())
    events = Paginator(selectors.rights_request_events(rights), 50).get_page(request.GET.get("page"))
    building = any(e.status in (PatientExport.Status.QUEUED, PatientExport.Status.RUNNING) for e in exports)
    return render(
        request,
        "privacy/request_detail.html",
        {
            "tab": "privacy",
            "rq": rights,
            "exports": exports,
            "building": building,
            "events": events,
            "close_form": CloseForm(),
            "hold_form": LegalHoldForm(),
            "now": timezone.now(),
            "can_export": rights.kind in services.EXPORT_KINDS
            and rights.patient_id
            and rights.is_open
            and selectors.answers_for_every_branch(request.user),
            "whole_record": selectors.answers_for_every_branch(request.user),
        },
    )


def _act(request: HttpRequest, request_id: Any, action: Any, success: str) -> HttpResponse:
    rights = selectors.rights_request_access(user=request.user, request_id=request_id)
    try:
        action(rights)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return _detail(rights)


@require_POST
@capability_required(CAP)
def request_acknowledge(request: HttpRequest, request_id: Any) -> HttpResponse:
    return _act(
        request,
        request_id,
        lambda r: services.rights_request_acknowledge(
            request=r, actor=staff_user(request), context=audit_context(request)
        ),
        "Acknowledged.",
    )


@require_POST
@capability_required(CAP)
def request_close(request: HttpRequest, request_id: Any) -> HttpResponse:
    selectors.rights_request_access(user=request.user, request_id=request_id)  # the same 404 before anything
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the outcome.")
        return redirect("privacy_request_detail", request_id=request_id)
    return _act(
        request,
        request_id,
        lambda r: services.rights_request_close(
            request=r, actor=staff_user(request), outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
            context=audit_context(request),
        ),
        "Request closed.",
    )  # fmt: skip


@require_POST
@capability_required(CAP)
def request_erase(request: HttpRequest, request_id: Any) -> HttpResponse:
    rights = selectors.rights_request_access(user=request.user, request_id=request_id)
    try:
        done = services.rights_request_erase(request=rights, actor=staff_user(request), context=audit_context(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _detail(rights)
    if done.outcome == RightsRequest.Outcome.RESTRICTED:
        messages.warning(request, f"Restricted instead of erased. {done.outcome_note}")
    else:
        messages.success(request, "The patient's records, messages and files were erased.")
    return _detail(done)


@require_http_methods(["GET", "POST"])
@capability_required(CAP)
def request_correct(request: HttpRequest, request_id: Any) -> HttpResponse:
    rights = selectors.rights_request_access(user=request.user, request_id=request_id)
    if rights.kind != RightsRequest.Kind.CORRECTION or rights.patient is None or not rights.is_open:
        raise Http404("No correction to make")
    form = CorrectionForm(request.POST or None, patient=rights.patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.rights_request_correct(
                request=rights,
                actor=staff_user(request),
                reason=form.cleaned_data["reason"],
                fields=form.changes(rights.patient),
                context=audit_context(request),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(request, "Details corrected; the previous values are kept as a version.")
            return _detail(rights)
    return render(request, "privacy/correct.html", {"tab": "privacy", "rq": rights, "form": form})


@require_POST
@capability_required(CAP)
def legal_hold(request: HttpRequest, request_id: Any) -> HttpResponse:
    rights = selectors.rights_request_access(user=request.user, request_id=request_id)
    form = LegalHoldForm(request.POST)
    if rights.patient is None or not form.is_valid():
        raise Http404("No patient")
    try:
        patient_set_legal_hold(
            patient=rights.patient, actor=staff_user(request), hold=form.cleaned_data["hold"],
            reason=form.cleaned_data["reason"], context=audit_context(request),
        )  # fmt: skip
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Legal hold set." if form.cleaned_data["hold"] else "Legal hold released.")
    return _detail(rights)


@require_POST
@capability_required(CAP)
def export_start(request: HttpRequest, request_id: Any) -> HttpResponse:
    return _act(
        request,
        request_id,
        lambda r: services.export_start(request=r, actor=staff_user(request), context=audit_context(request)),
        "The archive is being built; this page shows its progress.",
    )


@require_GET
@capability_required(CAP)
def export_progress(request: HttpRequest, export_id: Any) -> JsonResponse:
    export = selectors.export_access(user=request.user, export_id=export_id)
    return JsonResponse({"status": export.status, "progress": export.progress, "step": export.step})


@require_GET
@capability_required(CAP)
def export_download(request: HttpRequest, export_id: Any) -> HttpResponseBase:
    export = selectors.export_access(user=request.user, export_id=export_id)
    rights = export.request
    if export.status != PatientExport.Status.READY or export.is_expired():
        raise Http404("This download link has expired or the archive is not ready")
    try:
        data = read_verified(request.tenant, name=export.storage_name, sha256=export.sha256)  # type: ignore[attr-defined]
    except FileUnavailable as exc:
        messages.error(request, str(exc))
        return _detail(rights)
    services.export_download_record(export=export, actor=staff_user(request), context=audit_context(request))
    return attachment_response(data, filename=f"{rights.reference}-health-record.zip", content_type="application/zip")


@require_http_methods(["GET", "POST"])
@capability_required(CAP)
def privacy_settings(request: HttpRequest) -> HttpResponse:
    current = selectors.privacy_settings()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.privacy_settings_update(actor=staff_user(request), context=audit_context(request), **{
                name: form.cleaned_data[name] for name in form.Meta.fields
            })  # fmt: skip
        except ValidationError as exc:
            apply_service_errors(exc, form)  # type: ignore[arg-type]
        else:
            messages.success(request, "Privacy settings saved.")
            return redirect("privacy_settings")
    return render(request, "privacy/settings.html", {"tab": "privacy", "form": form})
