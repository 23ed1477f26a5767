"""The WhatsApp conversation panel on the patient chart (/inbox/patient/<id>/...): its refresh and
"older" pages, a reply, an approved template, and a signed PDF as a document.

Thin: the patient id goes through `patients.access.patient_access` (the same 404 for missing and
forbidden); sending needs `messaging.send` and `patients.view`. After a send the browser returns to
the chart, with the outcome (or the reason it was refused) as a message at the top."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.guards import require_capability, staff_user
from audit.context import audit_context
from docos.permissions import capability_required
from messaging import chart, inbox, selectors
from messaging.forms import DocumentForm, ReplyForm, TemplateForm
from patients.access import patient_access


def _number(request: HttpRequest, name: str) -> int:
    try:
        return max(1, min(int(request.GET.get(name, "1")), selectors.CHART_PAGES_MAX))
    except ValueError:
        return 1


def _lines_response(request: HttpRequest, *, contact: Any, patient: Any, url: str) -> HttpResponse:
    """`?page=n`: the n-th page (1: the newest); `?pages=k`: the newest k pages as one (what the
    polling panel asks for when it shows k pages, so lines moving down a page never vanish)."""
    if "pages" in request.GET:
        pages = _number(request, "pages")
        size = selectors.CHART_PAGE_SIZE * pages
        lines = selectors.conversation_page(contact=contact, patient=patient, page=1, size=size)
        next_page = pages + 1
    else:
        lines = selectors.conversation_page(contact=contact, patient=patient, page=_number(request, "page"))
        next_page = lines.page + 1
    response = render(request, "messaging/_lines.html", {"lines_page": lines, "lines_url": url, "next_page": next_page})
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@capability_required("messaging.view")
def patient_lines(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """One page of the patient's conversation as an HTML fragment: page 1 is what the panel polls
    for new messages, later pages are "older messages"."""
    user = staff_user(request)
    require_capability(user, "patients.view", "see patients")
    patient = patient_access(user=user, patient_id=patient_id)
    contact = selectors.patient_contact(patient)
    return _lines_response(request, contact=contact, patient=patient, url=f"/inbox/patient/{patient.pk}/lines/")


@require_GET
@capability_required("messaging.view")
def conversation_lines(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    """The same fragment for a conversation of the inbox (its page polls it too)."""
    contact = selectors.conversation_access(user=staff_user(request), conversation_id=conversation_id)
    return _lines_response(request, contact=contact, patient=None, url=f"/inbox/{contact.pk}/lines/")


def _back(patient_id: Any) -> HttpResponse:
    return redirect(f"/patients/{patient_id}/#whatsapp")


def _refused(request: HttpRequest, exc: ValidationError | str) -> None:
    text = exc if isinstance(exc, str) else " ".join(exc.messages)
    messages.error(request, f"Not sent: {text}")


def _patient_for_send(request: HttpRequest, patient_id: UUID) -> Any:
    user = staff_user(request)
    require_capability(user, "patients.view", "send WhatsApp messages from the chart")
    return user, patient_access(user=user, patient_id=patient_id)


@require_POST
@capability_required("messaging.send")
def patient_reply(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user, patient = _patient_for_send(request, patient_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        _refused(request, "write a message of at most 4096 characters.")
        return _back(patient.pk)
    try:
        inbox.patient_reply(
            actor=user,
            patient=patient,
            body=form.cleaned_data["body"],
            idempotency_key=str(form.cleaned_data["key"]),
            context=audit_context(request),
        )
    except ValidationError as exc:
        _refused(request, exc)
    else:
        messages.success(request, "WhatsApp reply queued for sending.")
    return _back(patient.pk)


@require_POST
@capability_required("messaging.send")
def patient_template(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user, patient = _patient_for_send(request, patient_id)
    form = TemplateForm(request.POST)
    template = inbox.inbox_template(form.cleaned_data["template"]) if form.is_valid() else None
    if template is None:
        _refused(request, "choose one of the approved templates.")
        return _back(patient.pk)
    try:
        message = inbox.patient_send_template(
            actor=user,
            patient=patient,
            template=template,
            idempotency_key=str(form.cleaned_data["key"]),
            context=audit_context(request),
        )
    except ValidationError as exc:
        _refused(request, exc)
    else:
        if message.status == message.Status.FAILED:
            _refused(request, selectors.failure_sentence(message.error, message.error_title))
        else:
            messages.success(request, "WhatsApp template message queued for sending.")
    return _back(patient.pk)


@require_POST
@capability_required("messaging.send")
def patient_document(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user, patient = _patient_for_send(request, patient_id)
    form = DocumentForm(request.POST)
    if not form.is_valid():
        _refused(request, "choose the prescription or certificate to send.")
        return _back(patient.pk)
    sendable = chart.sendable_document(user=user, patient=patient, document_id=str(form.cleaned_data["document"]))
    if sendable is None:  # not this patient's, not signed, or not one this user may open
        _refused(request, "that document is not one of this patient's signed prescriptions, certificates or invoices.")
        return _back(patient.pk)
    try:
        message = inbox.patient_send_document(
            actor=user,
            patient=patient,
            document=sendable.document,
            filename=sendable.filename,
            caption=sendable.caption,
            idempotency_key=str(form.cleaned_data["key"]),
            context=audit_context(request),
            source=sendable.source,
            kind=sendable.kind,
        )
    except ValidationError as exc:
        _refused(request, exc)
    else:
        if message.status == message.Status.FAILED:
            _refused(request, selectors.failure_sentence(message.error, message.error_title))
        else:
            messages.success(request, f"{sendable.label} queued for sending on WhatsApp.")
    return _back(patient.pk)
