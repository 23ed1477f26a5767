"""Typed access to django-tenants' connection state (django-stubs only knows the base wrapper)."""

from typing import Any, cast

from django.db import connection


def tenant_connection() -> Any:
    return cast(Any, connection)


def current_schema() -> str:
    return str(tenant_connection().schema_name)


def use_public_schema() -> None:
    tenant_connection().set_schema_to_public()
