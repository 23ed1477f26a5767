"""Settings -> Razorpay in the clinic console (/settings/razorpay/): connect the clinic's own Razorpay
account for payment links. Thin: the view calls one service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.console_views import console_actor
from accounts.forms_console import add_service_errors
from audit.context import audit_context
from billing import razorpay
from billing.forms import RazorpaySettingsForm
from billing.payment_links import razorpay_account, razorpay_settings_update
from docos.permissions import capability_required


def _page(request: HttpRequest, form: RazorpaySettingsForm, status: int = 200) -> HttpResponse:
    account = razorpay_account()
    webhook_url = ""
    if account is not None and account.webhook_secret:
        scheme = "http" if settings.DEBUG else "https"
        webhook_url = f"{scheme}://{settings.DOCOS_BASE_DOMAIN}/webhooks/razorpay/{account.route_key}/"
    return render(
        request,
        "billing/console_razorpay.html",
        {
            "tab": "razorpay",
            "form": form,
            "account": account,
            "has_key_secret": bool(account and account.key_secret),
            "has_webhook_secret": bool(account and account.webhook_secret),
            "platform_enabled": settings.RAZORPAY_ENABLED,
            "webhook_url": webhook_url,
            "events": razorpay.EVENTS,
        },
        status=status,
    )


@capability_required("settings.manage")
def razorpay_settings(request: HttpRequest) -> HttpResponse:
    account = razorpay_account()
    if request.method == "POST":
        form = RazorpaySettingsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                razorpay_settings_update(
                    actor=console_actor(request),
                    context=audit_context(request),
                    key_id=data["key_id"],
                    key_secret=data["key_secret"] or None,
                    webhook_secret=data["webhook_secret"] or None,
                    is_enabled=data["is_enabled"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Razorpay settings saved.")
                return redirect("console_razorpay")
        return _page(request, form, status=400 if form.errors else 200)
    initial = {"key_id": account.key_id, "is_enabled": account.is_enabled} if account is not None else {}
    return _page(request, RazorpaySettingsForm(initial=initial))
