"""Small HTTP answers every app's views share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def file_unavailable_response(request: HttpRequest, exc: Any, *, back: str) -> HttpResponse:
    """410 with the reason a stored file cannot be opened (key destroyed, missing, or altered)."""
    return render(request, "docos/file_unavailable.html", {"message": str(exc), "back": back}, status=410)


def local_next(request: HttpRequest, candidate: str | None) -> str | None:
    """`candidate` when it is a path on this site (a safe `next`), else None: never another host,
    a scheme-relative `//host` or a browser-normalised `/\\host`."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None
