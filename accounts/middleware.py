"""Session policy for staff: idle timeout (clinic-configurable), absolute lifetime, required 2FA setup.

- Idle: no request (other than the passive status poll) for `Clinic.idle_timeout_minutes` ends the
  session. static/js/docos.js warns two minutes before and POSTs /session/keepalive.
- Absolute: a session lives at most DOCOS_SESSION_ABSOLUTE_SECONDS (12 h) from sign-in.
- A clinic that requires 2FA for staff with administrative access (accounts.login.two_factor_required)
  sends such a user without a confirmed TOTP to the setup page; nothing else answers until it is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from docos.permissions import PLATFORM_LOGIN_URL

SESSION_STARTED = "docos_started"
SESSION_LAST_SEEN = "docos_last_seen"
SESSION_SIGNED_OUT_REASON = "docos_signed_out_reason"
# Requests that must not count as activity (the idle-warning script's status poll).
PASSIVE_PATHS = ("/session/status",)
# Answered with JSON rather than a redirect to the sign-in page.
JSON_PREFIXES = ("/api/", "/session/")
TWO_FACTOR_SETUP_PATH = "/account/two-factor"
# Reachable while a required 2FA setup is pending.
SETUP_ALLOWED_PREFIXES = (TWO_FACTOR_SETUP_PATH, "/logout", "/session/", "/static/", "/favicon.ico")
# The API's answer while required 2FA is not set up, for sessions (below) and tokens (accounts.api_auth).
TWO_FACTOR_SETUP_CODE = "two_factor_setup_required"
TWO_FACTOR_SETUP_MESSAGE = (
    "This clinic requires two-factor authentication for staff with administrative access. "
    "Set it up in the web app first (Account, Two-factor authentication)."
)


def idle_timeout_seconds(request: HttpRequest) -> int:
    tenant = getattr(request, "tenant", None)
    minutes = getattr(tenant, "idle_timeout_minutes", None) or settings.DOCOS_IDLE_TIMEOUT_DEFAULT_MINUTES
    return int(minutes) * 60


def _json_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") and request.session.session_key:
            now = time.time()
            started = float(request.session.get(SESSION_STARTED, now))
            last_seen = float(request.session.get(SESSION_LAST_SEEN, now))
            reason = None
            if now - started > settings.DOCOS_SESSION_ABSOLUTE_SECONDS:
                reason = "absolute"
            elif now - last_seen > idle_timeout_seconds(request):
                reason = "idle"
            if reason is not None:
                return self._end_session(request, reason)
            request.session.setdefault(SESSION_STARTED, now)
            if request.path not in PASSIVE_PATHS:
                request.session[SESSION_LAST_SEEN] = now
            from accounts.login import two_factor_setup_required

            if two_factor_setup_required(user, getattr(request, "tenant", None)) and not request.path.startswith(
                SETUP_ALLOWED_PREFIXES
            ):
                if request.path.startswith(JSON_PREFIXES):
                    return _json_error(TWO_FACTOR_SETUP_CODE, TWO_FACTOR_SETUP_MESSAGE, 403)
                return redirect(TWO_FACTOR_SETUP_PATH)
        return self.get_response(request)

    def _end_session(self, request: HttpRequest, reason: str) -> HttpResponse:
        from audit.services import audit_record

        with transaction.atomic():
            audit_record(
                actor=request.user,
                action="auth.session_expired",
                obj=cast(Model, request.user),
                request=request,
                metadata={"reason": reason},
            )
        logout(request)
        if request.path.startswith(JSON_PREFIXES):
            return _json_error("session_expired", "Your session has ended. Please sign in again.", 401)
        # The message middleware runs after this one, so the reason travels in the new (anonymous) session.
        request.session[SESSION_SIGNED_OUT_REASON] = reason
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        # The platform console (public domain) has its own sign-in page.
        login_path = PLATFORM_LOGIN_URL if request.path.startswith("/platform/") else settings.LOGIN_URL_PATH
        return redirect(f"{login_path}?{query}" if query else login_path)
