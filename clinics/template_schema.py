"""The migrated template schema that new clinics are cloned from (TENANT_BASE_SCHEMA)."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from docos.tenancy import use_public_schema


def template_schema_name() -> str:
    return str(settings.TENANT_BASE_SCHEMA)


def ensure_template_schema(verbosity: int = 0) -> None:
    """Create and migrate the template schema if it is missing. Deploys keep it current via
    `migrate_schemas`, whose executor (clinics.migrations_executor) includes it."""
    name = template_schema_name()
    if not schema_exists(name):
        use_public_schema()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", schema_name=name, tenant=True, interactive=False, verbosity=verbosity)
    use_public_schema()
