"""The owner's off-boarding page, /settings/offboarding/ (clinics.offboarding).

Owner only: the `clinic.close` capability (only the built-in owner role has it) and the owner role
itself, and a re-authentication within the last five minutes (accounts.reauth) for every page and
action. A clinic only ever sees its own off-boarding (no ids in the URLs)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from accounts.console_views import console_actor, render_console
from accounts.forms_console import add_service_errors
from accounts.models import User
from accounts.reauth import REAUTH_MINUTES, reauth_fresh, reauth_verify
from audit.context import audit_context
from clinics.console_views import _clinic
from clinics.forms import CloseClinicForm, ReauthForm
from clinics.models import ClinicOffboarding
from clinics.offboarding import (
    archive_days,
    cooling_off_days,
    offboarding_cancel,
    offboarding_current,
    offboarding_download,
    offboarding_export_again,
    offboarding_request,
)
from docos.permissions import capability_required


def _owner(request: HttpRequest) -> User:
    user = console_actor(request)
    role = user.role
    if role is None or role.slug != "owner" or not role.is_builtin:
        raise PermissionDenied("clinic.close")
    return user


@capability_required("clinic.close")
def offboarding(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    user = _owner(request)
    if not reauth_fresh(request):
        posted = request.method == "POST" and request.POST.get("action") == "reauth"
        reauth = ReauthForm(request.POST if posted else None, needs_code=user.totp_enabled)
        if posted and reauth.is_valid():
            try:
                reauth_verify(
                    request=request,
                    user=user,
                    password=reauth.cleaned_data["password"],
                    code=reauth.cleaned_data.get("code", ""),
                )
            except ValidationError as exc:
                if not request.user.is_authenticated:  # too many attempts ended the session
                    return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
                add_service_errors(reauth, exc)
            else:
                return redirect("console_offboarding")
        status = 400 if posted else (403 if request.method == "POST" else 200)
        return render_console(
            request,
            "offboarding_reauth.html",
            {"form": reauth, "minutes": REAUTH_MINUTES},
            tab="offboarding",
            status=status,
        )
    form = CloseClinicForm()
    failed = False
    if request.method == "POST":
        action = request.POST.get("action")
        context = audit_context(request)
        try:
            if action == "request":
                form = CloseClinicForm(request.POST)
                if form.is_valid():
                    offboarding_request(
                        clinic=clinic, actor=user, confirm_address=form.cleaned_data["confirm_address"], context=context
                    )
                    messages.success(
                        request, "The export is being prepared. The clinic will be deleted on the date shown."
                    )
                    return redirect("console_offboarding")
            elif action == "cancel":
                offboarding_cancel(clinic=clinic, actor=user, context=context)
                messages.success(request, "The request was withdrawn; nothing will be deleted.")
                return redirect("console_offboarding")
            elif action == "export_again":
                offboarding_export_again(clinic=clinic, actor=user, context=context)
                messages.success(request, "A fresh export is being prepared.")
                return redirect("console_offboarding")
            else:
                return HttpResponse("Unknown action.", status=400)
        except ValidationError as exc:
            if action == "request":
                add_service_errors(form, exc)
            else:  # no form on the page for these: say it above the page
                for message in exc.messages:
                    messages.error(request, message)
                failed = True
    current = offboarding_current(clinic)
    return render_console(
        request,
        "offboarding.html",
        {
            "clinic": clinic,
            "form": form,
            "offboarding": current,
            "is_open": current is not None and current.status in ClinicOffboarding.OPEN,
            "cooling_off_days": cooling_off_days(),
            "archive_days": archive_days(),
            "periods": {"offboarding_cooling_off_days": cooling_off_days(), "offboarding_archive_days": archive_days()},
            "Status": ClinicOffboarding.Status,
        },
        tab="offboarding",
        status=400 if form.errors or failed else 200,
    )


@capability_required("clinic.close")
@require_GET
def offboarding_archive_download(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    user = _owner(request)
    if not reauth_fresh(request):
        return redirect("console_offboarding")
    try:
        found, data = offboarding_download(clinic=clinic, actor=user, context=audit_context(request))
    except ValidationError:
        raise Http404 from None
    response = HttpResponse(data, content_type="application/zip")
    stamp = found.archive_ready_at.strftime("%Y-%m-%d") if found.archive_ready_at else "export"
    response["Content-Disposition"] = f'attachment; filename="docos-{clinic.slug}-{stamp}.zip"'
    response["Cache-Control"] = "no-store"
    return response
