"""The interface language of a request: the signed-in user's choice, else the clinic's default, else
English (settings.LANGUAGE_CODE).

Not the browser's Accept-Language: a front-desk PC is shared, so the language follows who is signed
in, and the sign-in screens follow the clinic. The API stays in English (its messages are part of
the published contract; clients localise by error code). The languages on offer are
settings.LANGUAGES, which lists every catalogue in locale/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import translation

API_PREFIX = "/api/"


def language_codes() -> tuple[str, ...]:
    return tuple(code for code, _name in settings.LANGUAGES)


def validate_language(code: str) -> None:
    if code and code not in language_codes():
        names = ", ".join(f"{name} ({c})" for c, name in language_choices())
        raise ValidationError(f"Choose one of the languages on offer: {names}.", code="invalid_language")


def language_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def language_for(user: Any, tenant: Any) -> str:
    """The first of the user's choice and the clinic's default that is still on offer."""
    codes = language_codes()
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    for code in (getattr(user, "language", "") if signed_in else "", getattr(tenant, "default_language", "")):
        if code and code in codes:
            return str(code)
    return str(settings.LANGUAGE_CODE)


class LanguageMiddleware:
    """Activates the request's language (above). Sits after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            language = str(settings.LANGUAGE_CODE)
        else:
            language = language_for(getattr(request, "user", None), getattr(request, "tenant", None))
        # For this request only: the thread goes back to its previous language afterwards (a worker
        # thread's next request, or code run after a test client's request, starts from English).
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language() or language
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
