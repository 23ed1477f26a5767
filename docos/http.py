"""Small HTTP answers every app's views share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def file_unavailable_response(request: HttpRequest, exc: Any, *, back: str) -> HttpResponse:
    """410 with the reason a stored file cannot be opened (key destroyed, missing, or altered)."""
    return render(request, "docos/file_unavailable.html", {"message": str(exc), "back": back}, status=410)
