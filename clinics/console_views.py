"""The clinic's own settings in the console (/settings/profile, logo, security)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.console_views import console_actor, render_console
from accounts.forms_console import add_service_errors
from audit.context import audit_context
from clinics.forms import ClinicProfileForm, SeatsForm, SecurityForm, SubscribeForm, SubscriptionCancelForm
from clinics.logo import CONTENT_TYPES, LOGO_MAX_BYTES, sniff_image_type
from clinics.models import Clinic
from clinics.services import clinic_profile_update, clinic_security_update
from docos.permissions import capability_required, login_only
from docos.webhooks import VendorError


def _clinic(request: HttpRequest) -> Clinic:
    tenant = getattr(request, "tenant", None)
    if not isinstance(tenant, Clinic):
        raise Http404
    return tenant


@capability_required("settings.manage")
def profile(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    if request.method == "POST":
        form = ClinicProfileForm(request.POST, request.FILES, current_state=clinic.billing_state)
        if form.is_valid():
            data = form.cleaned_data
            logo: dict[str, Any] = {}
            if data.get("logo"):
                logo["logo"] = data["logo"]
            elif data.get("remove_logo"):
                logo["logo"] = None
            try:
                changed = clinic_profile_update(
                    clinic=clinic,
                    actor=console_actor(request),
                    context=audit_context(request),
                    name=data["name"],
                    contact_email=data["contact_email"],
                    billing_address=data["billing_address"],
                    billing_state=data["billing_state"],
                    gstin=data["gstin"],
                    timezone=data["timezone"],
                    default_language=data["default_language"] or clinic.default_language,
                    **logo,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Clinic profile saved." if changed else "Nothing to change.")
                return redirect("console_profile")
    else:
        form = ClinicProfileForm(
            initial={
                "name": clinic.name,
                "contact_email": clinic.contact_email,
                "billing_address": clinic.billing_address,
                "billing_state": clinic.billing_state,
                "gstin": clinic.gstin,
                "timezone": clinic.timezone,
                "default_language": clinic.default_language,
            },
            current_state=clinic.billing_state,
        )
    return render_console(request, "profile.html", {"form": form, "has_logo": bool(clinic.logo)}, tab="profile")


@login_only
def logo(request: HttpRequest) -> HttpResponse:
    """The clinic's logo, for staff pages. Its type is sniffed again from the stored bytes."""
    clinic = _clinic(request)
    if not clinic.logo:
        raise Http404
    try:
        with clinic.logo.open("rb") as handle:
            content = handle.read(LOGO_MAX_BYTES + 1)
    except FileNotFoundError:
        raise Http404 from None
    ext = sniff_image_type(content[:16])
    if ext is None or len(content) > LOGO_MAX_BYTES:
        raise Http404
    response = HttpResponse(content, content_type=CONTENT_TYPES[ext])
    response["Cache-Control"] = "private, max-age=300"
    return response


@capability_required("settings.manage")
def security(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    if request.method == "POST":
        form = SecurityForm(request.POST)
        if form.is_valid():
            try:
                changed = clinic_security_update(
                    clinic=clinic, actor=console_actor(request), context=audit_context(request), **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Security settings saved." if changed else "Nothing to change.")
                return redirect("console_security")
    else:
        form = SecurityForm(
            initial={
                "idle_timeout_minutes": clinic.idle_timeout_minutes,
                "require_2fa_for_admins": clinic.require_2fa_for_admins,
            }
        )
    return render_console(request, "security.html", {"form": form}, tab="security")


# --- DocOS subscription (clinics.subscriptions) ----------------------------------------------------


def _subscription_page(request: HttpRequest, **forms: Any) -> HttpResponse:
    from django.utils import timezone

    from clinics.models import PlatformPayment
    from clinics.subscriptions import access_at, seats_in_use, subscription_for_clinic, trial_days_left

    clinic = _clinic(request)
    sub = subscription_for_clinic(clinic)
    context: dict[str, Any] = {"subscription": sub, "clinic": clinic}
    if sub is not None:
        context["access"] = access_at(sub, timezone.now())
        context["trial_days_left"] = trial_days_left(sub, timezone.now())
        context["in_use"] = seats_in_use(clinic, sub.plan)
        context["payments"] = list(PlatformPayment.objects.filter(subscription=sub).select_related("invoice")[:12])
        context["amount"] = sub.plan.unit_price * sub.seats
    context["subscribe_form"] = forms.get("subscribe_form") or SubscribeForm(
        initial={"seats": context.get("in_use") or 1}
    )
    context["seats_form"] = forms.get("seats_form") or SeatsForm(initial={"seats": sub.seats if sub else 1})
    context["cancel_form"] = forms.get("cancel_form") or SubscriptionCancelForm()
    status = 400 if forms else 200
    return render(request, "clinics/subscription.html", {"tab": "subscription", **context}, status=status)


@capability_required("settings.manage")
def subscription(request: HttpRequest) -> HttpResponse:
    return _subscription_page(request)


def _vendor_failed(request: HttpRequest, exc: VendorError) -> None:
    if exc.permanent:
        messages.error(request, f"Razorpay refused this: {exc.message}")
    else:
        messages.error(request, "Razorpay could not be reached; nothing was changed. Try again in a minute.")


@capability_required("settings.manage")
@require_POST
def subscription_start_view(request: HttpRequest) -> HttpResponse:
    from clinics.subscriptions import subscription_start

    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return _subscription_page(request, subscribe_form=form)
    try:
        sub = subscription_start(
            clinic=_clinic(request),
            plan=form.cleaned_data["plan"],
            seats=form.cleaned_data["seats"],
            actor=console_actor(request),
            context=audit_context(request),
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _subscription_page(request, subscribe_form=form)
    except VendorError as exc:
        _vendor_failed(request, exc)
        return redirect("console_subscription")
    messages.success(request, "Subscription created. Complete the checkout to authorise the payments.")
    return (
        redirect(sub.short_url)
        if sub.short_url.startswith(("https://", "http://"))
        else redirect("console_subscription")
    )


def _current(request: HttpRequest) -> Any:
    from clinics.subscriptions import subscription_for_clinic

    sub = subscription_for_clinic(_clinic(request))
    if sub is None or not sub.razorpay_subscription_id:
        raise Http404
    return sub


@capability_required("settings.manage")
@require_POST
def subscription_seats_view(request: HttpRequest) -> HttpResponse:
    from clinics.subscriptions import subscription_change_seats

    sub = _current(request)
    form = SeatsForm(request.POST)
    if not form.is_valid():
        return _subscription_page(request, seats_form=form)
    try:
        subscription_change_seats(
            subscription=sub,
            seats=form.cleaned_data["seats"],
            actor=console_actor(request),
            context=audit_context(request),
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _subscription_page(request, seats_form=form)
    except VendorError as exc:
        _vendor_failed(request, exc)
    else:
        messages.success(request, "Seats changed; Razorpay prorates the difference on the next charge.")
    return redirect("console_subscription")


@capability_required("settings.manage")
@require_POST
def subscription_cancel_view(request: HttpRequest) -> HttpResponse:
    from clinics.subscriptions import subscription_cancel

    sub = _current(request)
    form = SubscriptionCancelForm(request.POST)
    if not form.is_valid():
        return _subscription_page(request, cancel_form=form)
    try:
        subscription_cancel(
            subscription=sub,
            actor=console_actor(request),
            at_cycle_end=form.cleaned_data["when"] == "cycle_end",
            context=audit_context(request),
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _subscription_page(request, cancel_form=form)
    except VendorError as exc:
        _vendor_failed(request, exc)
    else:
        messages.success(request, "Subscription cancelled.")
    return redirect("console_subscription")


@capability_required("settings.manage")
@require_POST
def subscription_refresh_view(request: HttpRequest) -> HttpResponse:
    from clinics.subscriptions import subscription_refresh

    try:
        subscription_refresh(subscription=_current(request))
    except VendorError as exc:
        _vendor_failed(request, exc)
    else:
        messages.success(request, "Subscription status refreshed from Razorpay.")
    return redirect("console_subscription")


@capability_required("settings.manage")
def subscription_invoice_pdf(request: HttpRequest, invoice_number: str) -> HttpResponse:
    """DocOS's tax invoice to this clinic (the same 404 for another clinic's number and a missing one)."""
    from clinics.models import PlatformInvoice
    from clinics.platform_invoices import platform_invoice_pdf

    clinic = _clinic(request)
    invoice = (
        PlatformInvoice.objects.select_related("payment")
        .filter(number=invoice_number, payment__subscription__clinic=clinic)
        .first()
    )
    if invoice is None:
        raise Http404
    response = HttpResponse(platform_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="DocOS-{invoice.number}.pdf"'
    return response
