"""One error shape for the whole API: {"error": {"code", "message", "fields"}}.

Everything under /api/v1/ answers errors in this shape: DRF exceptions (400/401/403/404/405/...),
Django's Http404/PermissionDenied/ValidationError raised by selectors and services, unexpected
exceptions (500) and URLs that match no endpoint (`not_found`, the API catch-all).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from docos.permissions import public

logger = logging.getLogger("django.request")

NOT_FOUND_MESSAGE = exceptions.NotFound.default_detail


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _django_validation_fields(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def flat_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as one level: `{"items.0.drug_name": ["This field is required."]}`.

    Nested serializers give dicts, lists of them give lists (or dicts keyed by index), and a field's
    own messages are a list of strings; every message ends up under its dotted path."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            fields.update(flat_fields(value, f"{prefix}.{key}" if prefix else str(key)))
        return fields
    if isinstance(detail, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]} if detail else {}
        fields = {}
        for index, item in enumerate(detail):
            fields.update(flat_fields(item, f"{prefix}.{index}" if prefix else str(index)))
        return fields
    return {prefix or "non_field_errors": [str(detail)]}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):  # Django's limits: not a 500
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_fields(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        # In development, let Django show its debug page; otherwise answer in the API's shape.
        return None if settings.DEBUG else _server_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", "The request has invalid fields.", flat_fields(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, str(exc.detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    return response


def _server_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An unexpected exception: report it like Django would (log + signal for Sentry and the test
    client), but answer in the API's shape. The log line carries the path only, never the body."""
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    logger.error(
        "Internal Server Error: %s",
        getattr(django_request, "path", "?"),
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"status_code": 500},
    )
    got_request_exception.send(sender=None, request=django_request)
    return Response(
        error_body("server_error", "Something went wrong on our side. Please try again."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


@public
@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """The API's catch-all: a URL under /api/v1/ that names no endpoint gets the JSON 404."""
    return JsonResponse(error_body("not_found", str(NOT_FOUND_MESSAGE)), status=status.HTTP_404_NOT_FOUND)


# --- OpenAPI documentation of the error shape ---------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Machine-readable code, e.g. `not_found`, `invalid`.")
    message = serializers.CharField(help_text="A sentence for people.")
    # DRF's metaclass moves declared fields out of the class, so this does not shadow `Serializer.fields`.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages for `invalid` (400); empty otherwise. Nested fields are named by their "
        "dotted path, e.g. `items.0.drug_name`; errors of the whole request are under `non_field_errors`.",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input (`invalid`, with per-field messages), or a body that is not valid JSON (`parse_error`).",
    401: "Not signed in, or the token is unknown, expired or revoked.",
    403: "Signed in, but lacking the capability this endpoint requires (`permission_denied`), the clinic "
    "requires two-factor authentication of this user and it is not set up (`two_factor_setup_required`), "
    "or the clinic's account is suspended (`clinic_suspended`).",
    404: "No such object (also for objects of another clinic or location).",
    405: "Method not allowed.",
    413: "A body larger than the API takes (`request_too_large`; JSON bodies up to 2.5 MB).",
    415: "A body in another format than `application/json` (`unsupported_media_type`).",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`responses={200: Out, **error_responses(401, 403)}` in `extend_schema`."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


class FileGone(exceptions.APIException):
    """A stored file cannot be given back (docos.storage.FileUnavailable): 410 `file_unavailable`."""

    status_code = status.HTTP_410_GONE
    default_code = "file_unavailable"
    default_detail = "The stored file cannot be given back."


GONE = OpenApiResponse(
    ErrorSerializer,
    description="`file_unavailable`: the stored file cannot be given back (the clinic's data key was "
    "destroyed, or the file is missing or failed its integrity check).",
)
