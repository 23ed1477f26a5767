"""Settings -> WhatsApp in the clinic console (/settings/whatsapp/): connect the clinic's number,
send a test message, and see the month's messages per pricing category. Thin: each view calls one service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.console_views import console_actor
from accounts.forms_console import add_service_errors
from audit.context import audit_context
from docos.permissions import capability_required
from messaging.forms import TestMessageForm, WhatsAppSettingsForm
from messaging.models import OutboundMessage
from messaging.selectors import whatsapp_usage
from messaging.services import whatsapp_account, whatsapp_send_test, whatsapp_settings_update


def _page(
    request: HttpRequest, form: WhatsAppSettingsForm, test_form: TestMessageForm, status: int = 200
) -> HttpResponse:
    account = whatsapp_account()
    return render(
        request,
        "messaging/console_whatsapp.html",
        {
            "tab": "whatsapp",
            "form": form,
            "test_form": test_form,
            "account": account,
            "has_token": bool(account and account.access_token),
            "platform_enabled": settings.WHATSAPP_ENABLED,
            "webhook_path": "/webhooks/whatsapp/",
            "usage": whatsapp_usage(),
        },
        status=status,
    )


@capability_required("settings.manage")
def whatsapp_settings(request: HttpRequest) -> HttpResponse:
    account = whatsapp_account()
    if request.method == "POST":
        form = WhatsAppSettingsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                whatsapp_settings_update(
                    actor=console_actor(request),
                    context=audit_context(request),
                    waba_id=data["waba_id"],
                    phone_number_id=data["phone_number_id"],
                    display_number=data["display_number"],
                    access_token=data["access_token"] or None,
                    is_enabled=data["is_enabled"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "WhatsApp settings saved.")
                return redirect("console_whatsapp")
        return _page(request, form, TestMessageForm(), status=400 if form.errors else 200)
    initial = {}
    if account is not None:
        initial = {
            "waba_id": account.waba_id,
            "phone_number_id": account.phone_number_id,
            "display_number": account.display_number,
            "is_enabled": account.is_enabled,
        }
    return _page(request, WhatsAppSettingsForm(initial=initial), TestMessageForm())


@capability_required("settings.manage")
@require_POST
def whatsapp_test(request: HttpRequest) -> HttpResponse:
    test_form = TestMessageForm(request.POST)
    if test_form.is_valid():
        try:
            message = whatsapp_send_test(
                actor=console_actor(request),
                context=audit_context(request),
                to_number=test_form.cleaned_data["to_number"],
            )
        except ValidationError as exc:
            add_service_errors(test_form, exc)
        else:
            if message.status == OutboundMessage.Status.SENT:
                messages.success(request, f"Test message sent. WhatsApp message id: {message.vendor_message_id}")
            else:
                messages.error(request, f"The test message failed: {message.error} {message.error_title}".strip())
            return redirect("console_whatsapp")
    account = whatsapp_account()
    form = WhatsAppSettingsForm(
        initial={
            "phone_number_id": account.phone_number_id if account else "",
            "is_enabled": bool(account and account.is_enabled),
        }
    )
    return _page(request, form, test_form, status=400)
