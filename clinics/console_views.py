"""The clinic's own settings in the console (/settings/profile, logo, security)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.console_views import console_actor, render_console
from accounts.forms_console import add_service_errors
from audit.context import audit_context
from clinics.forms import ClinicProfileForm, SecurityForm
from clinics.logo import CONTENT_TYPES, LOGO_MAX_BYTES, sniff_image_type
from clinics.models import Clinic
from clinics.services import clinic_profile_update, clinic_security_update
from docos.permissions import capability_required, login_only


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
