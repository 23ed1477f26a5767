"""The staff WhatsApp inbox (/inbox/): conversations, one conversation, reply, template, mark read,
link to a patient.

Thin: parse, check the capability, call one selector or service, render. Every conversation id goes
through `selectors.conversation_access` (the patient's branch rules; the same 404 for missing and
forbidden)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.guards import require_capability, staff_user
from accounts.selectors import locations_for
from audit.context import audit_context
from docos.http import file_unavailable_response
from docos.permissions import capability_required
from docos.storage import FileUnavailable
from documents.views import attachment_response
from messaging import inbox, media, selectors
from messaging.forms import InboxFilterForm, ReplyForm, TemplateForm
from messaging.models import Contact, MediaStatus
from messaging.services import whatsapp_account, whatsapp_ready
from patients.access import patient_access
from patients.selectors import patient_search

PAGE_SIZE = 25


@require_GET
@capability_required("messaging.view")
def conversation_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    filters = InboxFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    show = data.get("show", "")
    location = data.get("location")
    conversations = selectors.conversation_list(
        user=user,
        location_id=location,
        unread=show == "unread",
        opted_out=True if show == "opted_out" else None,
    )
    page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.note_conversation_reads(user=user, contacts=page.object_list)
    rows = [
        {
            "contact": c,
            "label": selectors.conversation_label(c),
            "opted_out": inbox.contact_opted_out(c),
            "unread": c.unread_count,  # type: ignore[attr-defined]
        }
        for c in page.object_list
    ]
    return render(
        request,
        "messaging/inbox.html",
        {
            "page": page,
            "rows": rows,
            "locations": locations_for(user),
            "location": str(location or ""),
            "show": show,
            "filtered": bool(location or show),
            "ready": whatsapp_ready(whatsapp_account()),
        },
    )


def _conversation_page(
    request: HttpRequest,
    contact: Contact,
    *,
    reply_form: ReplyForm | None = None,
    template_form: TemplateForm | None = None,
    link_error: str = "",
    retain_error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = staff_user(request)
    closes_at = selectors.window_closes_at(contact)
    can_link = user.has_capability("messaging.send") and user.has_capability("patients.view")
    key = str(uuid.uuid4())
    return render(
        request,
        "messaging/conversation.html",
        {
            "contact": contact,
            "label": selectors.conversation_label(contact),
            "lines_page": selectors.conversation_page(contact=contact),
            "lines_url": f"/inbox/{contact.pk}/lines/",
            "unread": selectors.unread_count(contact),
            "opted_out": inbox.contact_opted_out(contact),
            "opted_out_message": inbox.OPTED_OUT_MESSAGE,
            "window_closes_at": closes_at,
            "window_closed_message": inbox.WINDOW_CLOSED_MESSAGE,
            "no_patient_message": inbox.NO_PATIENT_MESSAGE,
            "can_send": user.has_capability("messaging.send"),
            "can_open_patient": contact.patient is not None and user.has_capability("patients.view"),
            "reply_form": reply_form or ReplyForm(initial={"key": key}),
            "template_form": template_form or TemplateForm(initial={"key": key}),
            "templates": inbox.INBOX_TEMPLATES,
            "ready": whatsapp_ready(whatsapp_account()),
            "can_link": can_link,
            "can_register": can_link and user.has_capability("patients.edit"),
            **(_link_candidates(request, user, contact) if can_link and contact.patient_id is None else {}),
            "link_error": link_error,
            "retain_error": retain_error,
            "retention_days": settings.RETENTION_WHATSAPP_BODY_DAYS,
            "can_lift_retain": user.has_capability("settings.manage"),
        },
        status=status,
    )


LINK_CANDIDATES = 10


def _link_candidates(request: HttpRequest, user: Any, contact: Contact) -> dict[str, Any]:
    """Patients to link an unlinked conversation to: those found by `?find=` (a name, phone or MRN;
    the contact's own phone by default), or the one just registered from here (`?patient=`)."""
    find = request.GET.get("find", "").strip()[:100] or contact.phone
    candidates: list[Any] = []
    just_registered = request.GET.get("patient", "").strip()
    if just_registered:
        try:
            candidates = [patient_access(user=user, patient_id=just_registered)]
        except Http404:
            candidates = []
    elif find:
        candidates = patient_search(user=user, query=find).rows(0, LINK_CANDIDATES)
    register = f"/patients/new?{urlencode({'q': contact.phone, 'next': request.path})}"
    return {"link_find": find, "link_candidates": candidates, "register_url": register}


@require_GET
@capability_required("messaging.view")
def conversation_detail(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    contact = selectors.conversation_access(user=staff_user(request), conversation_id=conversation_id)
    return _conversation_page(request, contact)


def _apply_errors(exc: ValidationError, form: Any) -> None:
    for field, errors in (exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@require_POST
@capability_required("messaging.send")
def conversation_reply(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    user = staff_user(request)
    contact = selectors.conversation_access(user=user, conversation_id=conversation_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            inbox.conversation_reply(
                actor=user,
                contact=contact,
                body=form.cleaned_data["body"],
                idempotency_key=str(form.cleaned_data["key"]),
                context=audit_context(request),
            )
        except ValidationError as exc:
            _apply_errors(exc, form)
        else:
            messages.success(request, "Reply queued for sending.")
            return redirect("inbox:detail", conversation_id=contact.pk)
    return _conversation_page(request, contact, reply_form=form, status=400)


@require_POST
@capability_required("messaging.send")
def conversation_template(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    user = staff_user(request)
    contact = selectors.conversation_access(user=user, conversation_id=conversation_id)
    form = TemplateForm(request.POST)
    if form.is_valid():
        template = inbox.inbox_template(form.cleaned_data["template"])
        assert template is not None  # the form's choices are the templates
        try:
            message = inbox.conversation_send_template(
                actor=user,
                contact=contact,
                template=template,
                idempotency_key=str(form.cleaned_data["key"]),
                context=audit_context(request),
            )
        except ValidationError as exc:
            _apply_errors(exc, form)
        else:
            if message.status == message.Status.FAILED:
                messages.error(
                    request,
                    f"The template was not sent: {selectors.failure_sentence(message.error, message.error_title)}",
                )
            else:
                messages.success(request, "Template message queued for sending.")
            return redirect("inbox:detail", conversation_id=contact.pk)
    return _conversation_page(request, contact, template_form=form, status=400)


@require_POST
@capability_required("messaging.view")
def conversation_read(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    user = staff_user(request)
    contact = selectors.conversation_access(user=user, conversation_id=conversation_id)
    inbox.conversation_mark_read(actor=user, contact=contact, context=audit_context(request))
    messages.success(request, "Conversation marked as read.")
    return redirect("inbox:list")


@require_GET
@capability_required("messaging.view")
def media_download(request: HttpRequest, message_id: UUID) -> HttpResponseBase:
    """An inbound photo, document or voice note, decrypted and checked, as a download (audited)."""
    user = staff_user(request)
    message = selectors.inbound_message_access(user=user, message_id=message_id)
    back = reverse("inbox:detail", kwargs={"conversation_id": message.contact_id})
    if message.media_status != MediaStatus.STORED:
        raise Http404("No stored media")
    try:
        data = media.inbound_media_read(message=message, actor=user, context=audit_context(request))
    except FileUnavailable as exc:
        return file_unavailable_response(request, exc, back=back)
    return attachment_response(data, filename=media.download_name(message), content_type=message.media_content_type)


@require_POST
@capability_required("messaging.send")
def conversation_link(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    user = staff_user(request)
    contact = selectors.conversation_access(user=user, conversation_id=conversation_id)
    # Linking names the patient (and puts the conversation on their chart): like the page's
    # link form, only for staff who may also see patients. Checked before the id is looked up.
    require_capability(user, "patients.view", "link WhatsApp conversations to patients")
    try:
        patient = patient_access(user=user, patient_id=request.POST.get("patient", ""))
        inbox.conversation_link_patient(actor=user, contact=contact, patient=patient, context=audit_context(request))
    except Http404:
        return _conversation_page(request, contact, link_error="No such patient.", status=400)
    except ValidationError as exc:
        return _conversation_page(request, contact, link_error=" ".join(exc.messages), status=400)
    messages.success(request, f"Conversation linked to {patient.full_name} ({patient.mrn}).")
    return redirect("inbox:detail", conversation_id=contact.pk)


@require_POST
@capability_required("messaging.send")
def conversation_unlink(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    user = staff_user(request)
    contact = selectors.conversation_access(user=user, conversation_id=conversation_id)
    inbox.conversation_unlink_patient(actor=user, contact=contact, context=audit_context(request))
    messages.success(request, "Conversation unlinked; it is no longer on the patient's chart.")
    return redirect("inbox:detail", conversation_id=contact.pk)


@require_POST
@capability_required("messaging.send")
def conversation_retain(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    user = staff_user(request)
    contact = selectors.conversation_access(user=user, conversation_id=conversation_id)
    retain = request.POST.get("retain") == "1"
    try:
        inbox.conversation_retain(
            actor=user,
            contact=contact,
            retain=retain,
            reason=request.POST.get("reason", ""),
            context=audit_context(request),
        )
    except ValidationError as exc:
        return _conversation_page(request, contact, retain_error=" ".join(exc.messages), status=400)
    messages.success(
        request, "The conversation will be kept past the retention period." if retain else "Keeping lifted."
    )
    return redirect("inbox:detail", conversation_id=contact.pk)
