"""The platform console on the public (bare) domain, /platform/: DocOS's operators see clinics, plans,
subscription states, payments (failed ones with Razorpay's reason) and DocOS's invoices.

Platform staff only (`docos.permissions.platform_staff_required`); the URLs exist only in the public
URLconf, so a clinic's host answers 404. Sign-in is the clinic sign-in's machinery (accounts.login:
throttling, lockout, audit in the public schema's own log) with a TOTP step that is always required.
No patient data is read here: clinics and money only (clinics.platform_selectors).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import login as auth
from accounts.forms_auth import CodeForm
from accounts.models import User
from audit.services import audit_record
from clinics import platform_selectors as selectors
from clinics.forms import PlatformLoginForm, PlatformSearchForm
from docos.http import local_next
from docos.permissions import PLATFORM_LOGIN_URL, platform_staff_required, public

HOME = "/platform/"
DEFAULT_FAILED_DAYS = 30
NOT_PLATFORM_STAFF = "This sign-in is for DocOS platform staff only."
TOTP_REQUIRED = (
    "Platform staff must use two-factor authentication, and this account has none. Ask another operator "
    "to run `manage.py platform_staff_create --reset-totp <email>`."
)


def _on_public_site(request: HttpRequest) -> None:
    from django_tenants.utils import get_public_schema_name

    if getattr(getattr(request, "tenant", None), "schema_name", None) != get_public_schema_name():
        raise Http404


def _next(request: HttpRequest, candidate: str | None) -> str:
    target = local_next(request, candidate)
    return target if target and target.startswith(HOME) and not target.startswith(PLATFORM_LOGIN_URL) else HOME


def _refuse(request: HttpRequest, user: User, reason: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=None,
            action="auth.login_failed",
            obj=user,
            request=request,
            metadata={"method": "password", "reason": reason, "site": "platform"},
        )


# --- sign-in ---------------------------------------------------------------------------------------


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: email and password of a platform staff account."""
    _on_public_site(request)
    if request.user.is_authenticated and getattr(request.user, "is_platform_staff", False):
        return redirect(_next(request, request.GET.get("next")))
    form = PlatformLoginForm(request.POST or None)
    error: str | None = None
    if request.method == "POST" and form.is_valid():
        try:
            user = auth.login_password_check(
                request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except auth.AuthError as exc:
            error = exc.message
        else:
            if not user.is_platform_staff:
                _refuse(request, user, "not_platform_staff")
                error = NOT_PLATFORM_STAFF
            elif not user.totp_enabled:
                _refuse(request, user, "no_totp")
                error = TOTP_REQUIRED
            else:
                auth.login_begin_second_factor(request=request, user=user, method="password")
                request.session[auth.SESSION_LOGIN_NEXT] = _next(request, request.POST.get("next"))
                return redirect("platform-login-two-factor")
        form = PlatformLoginForm(initial={"email": form.cleaned_data.get("email", "")})
    return render(
        request,
        "clinics/platform/login.html",
        {"form": form, "error": error, "next": request.GET.get("next", "")},
        status=400 if error or form.errors else 200,
    )


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_two_factor(request: HttpRequest) -> HttpResponse:
    """Step 2: the current code of the authenticator app (always asked of platform staff)."""
    _on_public_site(request)
    pending = auth.login_pending_user(request)
    if pending is None or not pending[0].is_platform_staff:
        request.session.pop(auth.SESSION_PENDING, None)
        messages.error(request, auth.PENDING_EXPIRED)
        return redirect("platform-login")
    user, method = pending
    form = CodeForm(request.POST or None)
    error: str | None = None
    if request.method == "POST" and form.is_valid():
        try:
            auth.login_totp_check(request=request, user=user, code=form.cleaned_data["code"])
        except auth.AuthError as exc:
            error = exc.message
            form = CodeForm()
            if exc.locked:
                request.session.pop(auth.SESSION_PENDING, None)
        else:
            target = _next(request, request.session.pop(auth.SESSION_LOGIN_NEXT, None))
            auth.login_complete(request=request, user=user, method=method, second_factor="totp")
            response = redirect(target)
            auth.device_cookie_apply(request, response)
            return response
    return render(
        request,
        "clinics/platform/login_two_factor.html",
        {"form": form, "error": error},
        status=400 if error is not None or form.errors else 200,
    )


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    _on_public_site(request)
    auth.logout_user(request=request)
    return redirect("platform-login")


# --- console ---------------------------------------------------------------------------------------


def _search(request: HttpRequest) -> PlatformSearchForm:
    form = PlatformSearchForm(request.GET or None)
    form.is_valid()
    return form


def _page(request: HttpRequest, rows: Any) -> Any:
    return Paginator(rows, selectors.PAGE_SIZE).get_page(request.GET.get("page"))


@platform_staff_required
@never_cache
@require_GET
def clinic_list(request: HttpRequest) -> HttpResponse:
    form = _search(request)
    query = form.cleaned_data.get("q", "") if form.is_bound and form.is_valid() else ""
    page = _page(request, selectors.platform_clinics(search=query))
    rows = selectors.clinic_rows(page.object_list)
    return render(
        request,
        "clinics/platform/clinics.html",
        {"tab": "clinics", "form": form, "query": query, "page": page, "rows": rows},
    )


@platform_staff_required
@never_cache
@require_GET
def clinic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = selectors.platform_clinic(slug)
    if clinic is None:
        raise Http404
    row = selectors.clinic_row(clinic)
    return render(
        request,
        "clinics/platform/clinic.html",
        {
            "tab": "clinics",
            "row": row,
            "clinic_obj": clinic,
            "history": selectors.subscription_history(clinic, row["subscription"]),
            "payments": _page(request, selectors.clinic_payments(clinic)),
            "invoices": list(selectors.clinic_invoices(clinic)[: selectors.PAGE_SIZE]),
        },
    )


@platform_staff_required
@never_cache
@require_GET
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    from clinics.platform_invoices import platform_invoice_pdf

    invoice = selectors.platform_invoice(number)
    if invoice is None:
        raise Http404
    response = HttpResponse(platform_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="DocOS-{invoice.number}.pdf"'
    return response


@platform_staff_required
@never_cache
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "clinics/platform/plans.html", {"tab": "plans", "page": _page(request, selectors.plan_rows())}
    )


@platform_staff_required
@never_cache
@require_GET
def failed_payment_list(request: HttpRequest) -> HttpResponse:
    form = _search(request)
    valid = form.is_bound and form.is_valid()
    days = (form.cleaned_data.get("days") if valid else None) or DEFAULT_FAILED_DAYS
    query = form.cleaned_data.get("q", "") if valid else ""
    since = timezone.now() - dt.timedelta(days=days)
    page = _page(request, selectors.failed_payments(since=since, search=query))
    return render(
        request,
        "clinics/platform/failed_payments.html",
        {"tab": "failed", "form": form, "days": days, "query": query, "page": page},
    )
