"""Settings -> WhatsApp templates (/settings/whatsapp/templates/): the clinic's message templates,
their review status at Meta, editing drafts, submitting, syncing, and a preview with a patient's
data. Thin: each view parses, calls one service of `messaging.templates`, renders."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.console_views import console_actor
from accounts.forms_console import add_service_errors
from audit.context import audit_context
from docos.permissions import capability_required
from messaging import templates
from messaging.models import MessageTemplate
from messaging.selectors import template_preview_patient
from messaging.services import whatsapp_account


class TemplateForm(forms.Form):
    name = forms.CharField(
        max_length=512, help_text="Lowercase letters, digits and underscores, e.g. lab_report_ready."
    )
    language = forms.ChoiceField(choices=sorted(templates.LANGUAGES.items()))
    category = forms.ChoiceField(choices=MessageTemplate.Category.choices)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1024,
        help_text="Write {{1}}, {{2}}, ... where the patient's details go.",
    )
    variables = forms.CharField(
        required=False,
        help_text="What each variable is, in order, separated by commas: " + ", ".join(templates.VARIABLE_LABELS) + ".",
    )
    examples = forms.CharField(
        required=False, help_text="An example for each variable, separated by | (Meta's reviewers read them)."
    )
    buttons = forms.CharField(
        required=False, help_text="Up to 3 quick replies, separated by |, e.g. Confirm | Cancel | Reschedule."
    )
    footer = forms.CharField(max_length=60, required=False)

    @staticmethod
    def initial_for(template: MessageTemplate) -> dict[str, Any]:
        return {
            "name": template.name, "language": template.language, "category": template.category,
            "body": template.body, "variables": ", ".join(template.variables),
            "examples": " | ".join(template.examples), "buttons": " | ".join(template.buttons),
            "footer": template.footer,
        }  # fmt: skip

    def fields_for_service(self) -> dict[str, Any]:
        data = self.cleaned_data

        def split(value: str, sep: str) -> list[str]:
            return [part.strip() for part in value.split(sep) if part.strip()]

        return {
            **{key: data[key] for key in ("name", "language", "category", "body", "footer")},
            "variables": split(data["variables"], ","),
            "examples": split(data["examples"], "|"),
            "buttons": split(data["buttons"], "|"),
        }


@require_http_methods(["GET"])
@capability_required("settings.manage")
def template_list(request: HttpRequest) -> HttpResponse:
    rows = MessageTemplate.objects.all()
    return render(
        request,
        "messaging/console_templates.html",
        {"tab": "whatsapp", "rows": rows, "account": whatsapp_account()},
    )


def _edit_page(
    request: HttpRequest, form: TemplateForm, template: MessageTemplate | None, status: int = 200
) -> HttpResponse:
    user = console_actor(request)
    find = request.GET.get("patient", "").strip()[:100]
    preview_patient = template_preview_patient(user=user, query=find) if template is not None else None
    return render(
        request,
        "messaging/console_template_edit.html",
        {
            "tab": "whatsapp",
            "form": form,
            "template": template,
            "editable": template is None or template.status in templates.EDITABLE,
            "preview": templates.template_preview(template, patient=preview_patient) if template else "",
            "preview_patient": preview_patient,
            "find": find,
            "variable_labels": templates.VARIABLE_LABELS,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@capability_required("settings.manage")
def template_edit(request: HttpRequest, template_id: UUID | None = None) -> HttpResponse:
    template = templates.template_access(template_id) if template_id else None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                saved = templates.template_save(
                    actor=console_actor(request),
                    template=template,
                    fields=form.fields_for_service(),
                    context=audit_context(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Template {saved.name} ({saved.language}) saved as a draft.")
                return redirect("console_whatsapp_template", template_id=saved.pk)
        return _edit_page(request, form, template, status=400)
    form = TemplateForm(initial=TemplateForm.initial_for(template) if template else {"category": "UTILITY"})
    return _edit_page(request, form, template)


@require_POST
@capability_required("settings.manage")
def template_submit(request: HttpRequest, template_id: UUID) -> HttpResponse:
    template = templates.template_access(template_id)
    try:
        templates.template_submit(actor=console_actor(request), template=template, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Submitted to WhatsApp for review. Sync later to see the result.")
    return redirect("console_whatsapp_template", template_id=template.pk)


@require_POST
@capability_required("settings.manage")
def templates_sync(request: HttpRequest) -> HttpResponse:
    try:
        result = templates.templates_sync(actor=console_actor(request), context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Synced with WhatsApp: {result.updated} changed, {result.imported} added from WhatsApp Manager, "
            f"{result.unchanged} unchanged.",
        )
    return redirect("console_whatsapp_templates")
