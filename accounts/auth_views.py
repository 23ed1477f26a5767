"""Sign-in, sign-out, session, password and account pages on clinic hosts. Logic lives in accounts.login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import login as auth
from accounts.forms_auth import (
    ChangePasswordForm,
    CodeForm,
    EmailForm,
    LanguageForm,
    NewPasswordForm,
    PasswordForm,
    ThemeForm,
)
from accounts.guards import staff_user
from accounts.middleware import SESSION_SIGNED_OUT_REASON
from accounts.models import LoginCode, User
from docos.http import local_next
from docos.permissions import login_only, public

SIGNED_OUT_REASONS = {
    "idle": gettext_noop("You were signed out because of inactivity. Please sign in again."),
    "absolute": gettext_noop("You were signed out because sessions last at most 12 hours. Please sign in again."),
}
TEMPLATE_DIR = "accounts/auth"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    return local_next(request, candidate) or str(settings.LOGIN_REDIRECT_URL)


def _login_email(request: HttpRequest) -> str | None:
    email = request.session.get(auth.SESSION_LOGIN_EMAIL)
    return str(email) if email else None


def _apply_errors(form: Form, exc: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form (its `password` key may be a differently named field)."""
    field_map = field_map or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field_map.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _signed_in(request: HttpRequest) -> HttpResponse:
    response = redirect(_safe_next(request, request.session.pop(auth.SESSION_LOGIN_NEXT, None)))
    auth.device_cookie_apply(request, response)  # this browser is now a trusted device of the user
    return response


def _after_first_factor(request: HttpRequest, user: User, method: str) -> HttpResponse:
    if auth.login_first_factor_done(request=request, user=user, method=method):
        return _signed_in(request)
    return redirect("login-two-factor")


# --- sign-in -----------------------------------------------------------------------------------------


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_email(request: HttpRequest) -> HttpResponse:
    """Step 1: the email address."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    reason = request.session.pop(SESSION_SIGNED_OUT_REASON, None)
    if reason in SIGNED_OUT_REASONS:
        messages.info(request, _(SIGNED_OUT_REASONS[reason]))
    form = EmailForm(request.POST or None, initial={"email": _login_email(request) or ""})
    if request.method == "POST" and form.is_valid():
        request.session[auth.SESSION_LOGIN_EMAIL] = auth.normalize_email(form.cleaned_data["email"])
        request.session[auth.SESSION_LOGIN_NEXT] = _safe_next(request, request.POST.get("next"))
        request.session.pop(auth.SESSION_PENDING, None)
        return redirect("login-verify")
    return render(request, f"{TEMPLATE_DIR}/login_email.html", {"form": form, "next": request.GET.get("next", "")})


def _step_two(request: HttpRequest, form: PasswordForm, error: auth.AuthError | None = None) -> HttpResponse:
    return render(
        request,
        f"{TEMPLATE_DIR}/login_verify.html",
        {"form": form, "email": _login_email(request), "error": error},
        status=200 if error is None else 400,
    )


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """Step 2: the password (or a link to have a code emailed). The same page for every email."""
    email = _login_email(request)
    if email is None:
        return redirect("login")
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = auth.login_password_check(request=request, email=email, password=form.cleaned_data["password"])
        except auth.AuthError as exc:
            return _step_two(request, PasswordForm(), exc)
        return _after_first_factor(request, user, "password")
    return _step_two(request, form)


@public
@never_cache
@require_POST
def login_code_send(request: HttpRequest) -> HttpResponse:
    """Email a sign-in code (purpose "login") or an unlock code (purpose "unlock")."""
    email = _login_email(request)
    if email is None:
        return redirect("login")
    unlock = request.POST.get("purpose") == LoginCode.Purpose.UNLOCK
    purpose = LoginCode.Purpose.UNLOCK if unlock else LoginCode.Purpose.LOGIN
    try:
        auth.login_code_send(request=request, email=email, purpose=purpose)
    except auth.AuthError as exc:
        return _step_two(request, PasswordForm(), exc)
    minutes = auth.code_lifetime_minutes()
    messages.info(
        request,
        _(
            "If %(email)s has an account here, we have emailed it a 6-digit code. "
            "The code works for %(minutes)s minutes."
        )
        % {"email": email, "minutes": minutes},
    )
    return redirect("login-unlock" if unlock else "login-code")


def _code_page(request: HttpRequest, purpose: str) -> HttpResponse:
    email = _login_email(request)
    if email is None:
        return redirect("login")
    form = CodeForm(request.POST or None)
    error: auth.AuthError | None = None
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if purpose == LoginCode.Purpose.UNLOCK:
                auth.login_unlock_verify(request=request, email=email, code=code)
            else:
                user = auth.login_code_verify(request=request, email=email, code=code)
        except auth.AuthError as exc:
            error = exc
            form = CodeForm()
        else:
            if purpose == LoginCode.Purpose.UNLOCK:
                # The unlock code lifts the lock only; signing in still takes the usual factors.
                messages.success(request, _("Your account is unlocked. Sign in with your password or a sign-in code."))
                return redirect("login-verify")
            return _after_first_factor(request, user, "code")
    return render(
        request,
        f"{TEMPLATE_DIR}/login_code.html",
        {
            "form": form,
            "email": email,
            "error": error,
            "unlock": purpose == LoginCode.Purpose.UNLOCK,
            "code_minutes": auth.code_lifetime_minutes(),
        },
        status=400 if error is not None or form.errors else 200,
    )


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    return _code_page(request, LoginCode.Purpose.LOGIN)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_unlock(request: HttpRequest) -> HttpResponse:
    return _code_page(request, LoginCode.Purpose.UNLOCK)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_two_factor(request: HttpRequest) -> HttpResponse:
    """After the first factor, for users with TOTP: the code from their authenticator app."""
    pending = auth.login_pending_user(request)
    if pending is None:
        request.session.pop(auth.SESSION_PENDING, None)
        messages.error(request, _(auth.PENDING_EXPIRED))
        return redirect("login")
    user, method = pending
    form = CodeForm(request.POST or None)
    error: auth.AuthError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            auth.login_totp_check(request=request, user=user, code=form.cleaned_data["code"])
        except auth.AuthError as exc:
            error = exc
            form = CodeForm()
            if exc.locked:
                request.session.pop(auth.SESSION_PENDING, None)
        else:
            auth.login_complete(request=request, user=user, method=method, second_factor="totp")
            return _signed_in(request)
    return render(
        request,
        f"{TEMPLATE_DIR}/login_two_factor.html",
        {"form": form, "error": error},
        status=400 if error is not None or form.errors else 200,
    )


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth.logout_user(request=request)
    messages.info(request, _("You have signed out."))
    return redirect("login")


# --- sessions ----------------------------------------------------------------------------------------


@login_only
@require_POST
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """Counts as activity (the middleware stamps it); the idle-warning banner calls it."""
    return JsonResponse(auth.session_status(request))


@public
@never_cache
@require_GET
def session_status(request: HttpRequest) -> HttpResponse:
    """Time left in this session; does not count as activity (see middleware.PASSIVE_PATHS)."""
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False})
    return JsonResponse(auth.session_status(request))


# --- passwords ---------------------------------------------------------------------------------------


@public
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None, initial={"email": _login_email(request) or ""})
    if request.method == "POST" and form.is_valid():
        email = auth.normalize_email(form.cleaned_data["email"])
        try:
            auth.password_reset_request(request=request, email=email)
        except auth.AuthError as exc:
            form.add_error(None, exc.message)
        else:
            return render(request, f"{TEMPLATE_DIR}/password_reset_sent.html", {"email": email})
    return render(request, f"{TEMPLATE_DIR}/password_reset.html", {"form": form}, status=400 if form.errors else 200)


@public
@never_cache
@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """A one-time link (invitation or reset): set a password, then sign in."""
    user = auth.password_set_user(uidb64, token)
    if user is None:
        return render(request, f"{TEMPLATE_DIR}/set_password_invalid.html", status=400)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            auth.password_set(request=request, user=user, password=form.cleaned_data["new_password"])
        except ValidationError as exc:
            _apply_errors(form, exc, {"password": "new_password"})
        else:
            if request.user.is_authenticated:
                auth.logout_user(request=request)
            request.session[auth.SESSION_LOGIN_EMAIL] = user.email
            messages.success(request, _("Your password is set. Sign in with it now."))
            return redirect("login-verify")
    return render(
        request,
        f"{TEMPLATE_DIR}/set_password.html",
        {"form": form, "email": user.email},
        status=400 if form.errors else 200,
    )


# --- the signed-in user's account ---------------------------------------------------------------------


def _account_page(request: HttpRequest, **context: Any) -> HttpResponse:
    user = staff_user(request)
    context.setdefault("password_form", ChangePasswordForm())
    context.setdefault("disable_form", CodeForm())
    context.setdefault("theme_form", ThemeForm(initial={"theme": user.theme}))
    context.setdefault("language_form", LanguageForm(initial={"language": user.language}))
    context["two_factor_required"] = auth.two_factor_required(user, getattr(request, "tenant", None))
    status = 400 if any(getattr(f, "errors", None) for f in context.values() if isinstance(f, Form)) else 200
    return render(request, f"{TEMPLATE_DIR}/account.html", context, status=status)


@login_only
@never_cache
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


@login_only
@require_POST
def account_password(request: HttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.POST)
    if form.is_valid():
        try:
            auth.password_change(
                request=request,
                user=staff_user(request),
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc, {"password": "new_password"})
        else:
            messages.success(request, _("Your password is changed. Your other sessions have been signed out."))
            return redirect("account")
    return _account_page(request, password_form=form)


@login_only
@never_cache
@require_http_methods(["GET", "POST"])
def account_two_factor(request: HttpRequest) -> HttpResponse:
    """Turn on TOTP: scan the QR code (or type the secret), then confirm with a code."""
    user = staff_user(request)
    if user.totp_enabled:
        messages.info(request, _("Two-factor authentication is already on."))
        return redirect("account")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            auth.totp_enable(request=request, user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("account")
    return render(
        request,
        f"{TEMPLATE_DIR}/two_factor_setup.html",
        {
            "form": form,
            "setup": auth.totp_setup_start(user=user),
            "required": auth.two_factor_setup_required(user, getattr(request, "tenant", None)),
        },
        status=400 if form.errors else 200,
    )


@login_only
@require_POST
def account_two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            auth.totp_disable(request=request, user=staff_user(request), code=form.cleaned_data["code"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("account")
    return _account_page(request, disable_form=form)


@login_only
@require_POST
def account_sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    auth.session_end_everywhere(request=request, user=staff_user(request))
    messages.success(request, _("You are signed out on every other device and browser. This one stays signed in."))
    return redirect("account")


@login_only
@require_POST
def account_theme(request: HttpRequest) -> HttpResponse:
    """Called by docos.js (204) or by the account page's form (redirect)."""
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown theme.")
    auth.theme_set(user=staff_user(request), theme=form.cleaned_data["theme"])
    if request.POST.get("from") == "account":
        return redirect("account")
    return HttpResponse(status=204)


@login_only
@require_POST
def account_language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    if form.is_valid():
        try:
            auth.language_set(user=staff_user(request), language=form.cleaned_data["language"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            # No flash message: the account page, now in the chosen language, is the confirmation.
            return redirect("account")
    return _account_page(request, language_form=form)
