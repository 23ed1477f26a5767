"""Tenant plumbing every app may use: typed access to django-tenants' connection state (django-stubs
only knows the base wrapper), a clinic's host and URL, and the time-zone rule clinics and locations share."""

import zoneinfo
from typing import Any, Protocol, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection


class HasSlug(Protocol):
    """What staff mail and links need of a clinic (clinics.Clinic is one)."""

    @property
    def slug(self) -> str: ...

    @property
    def name(self) -> str: ...


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value} is not a known time zone (e.g. Asia/Kolkata).", code="timezone")


def clinic_host(slug: str) -> str:
    return f"{slug}.{settings.DOCOS_BASE_DOMAIN}"


def clinic_url(clinic: HasSlug, path: str = "/") -> str:
    port = f":{settings.DOCOS_PUBLIC_PORT}" if settings.DOCOS_PUBLIC_PORT else ""
    return f"{settings.DOCOS_PUBLIC_URL_SCHEME}://{clinic_host(clinic.slug)}{port}{path}"


def tenant_connection() -> Any:
    return cast(Any, connection)


def current_schema() -> str:
    return str(tenant_connection().schema_name)


def use_public_schema() -> None:
    tenant_connection().set_schema_to_public()
