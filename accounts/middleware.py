"""Idle timeout (clinic-configurable) and absolute session lifetime for staff sessions."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

SESSION_STARTED = "docos_started"
SESSION_LAST_SEEN = "docos_last_seen"
# Requests that must not count as activity (the idle-warning script's status poll).
PASSIVE_PATHS = ("/session/status",)


def idle_timeout_seconds(request: HttpRequest) -> int:
    tenant = getattr(request, "tenant", None)
    minutes = getattr(tenant, "idle_timeout_minutes", None) or settings.DOCOS_IDLE_TIMEOUT_DEFAULT_MINUTES
    return int(minutes) * 60


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") and request.session.session_key:
            now = time.time()
            started = request.session.get(SESSION_STARTED, now)
            last_seen = request.session.get(SESSION_LAST_SEEN, now)
            if (
                now - last_seen > idle_timeout_seconds(request)
                or now - started > settings.DOCOS_SESSION_ABSOLUTE_SECONDS
            ):
                reason = "inactivity" if now - last_seen > idle_timeout_seconds(request) else "the 12-hour limit"
                logout(request)
                if request.path.startswith("/api/"):
                    from django.http import JsonResponse

                    return JsonResponse(
                        {"error": {"code": "session_expired", "message": "Your session has ended.", "fields": {}}},
                        status=401,
                    )
                messages.info(request, f"You were signed out because of {reason}. Please sign in again.")
                return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
            request.session.setdefault(SESSION_STARTED, now)
            if request.path not in PASSIVE_PATHS:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)
