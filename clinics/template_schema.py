"""The migrated template schema that new clinics are cloned from (TENANT_BASE_SCHEMA).

Deploys keep it current: `migrate_schemas` (clinics.migrations_executor) always includes it. It
must hold no data rows besides migration bookkeeping (django_migrations, django_content_type,
auth_permission): every row in it would be copied into every new clinic.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from docos.tenancy import use_public_schema

# Tables whose rows are bookkeeping that every clinic needs; all other template tables stay empty.
BOOKKEEPING_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})


def template_schema_name() -> str:
    return str(settings.TENANT_BASE_SCHEMA)


def ensure_template_schema(verbosity: int = 0) -> bool:
    """Create and/or migrate the template schema if it is missing or behind. Returns True if it
    ran migrations. A current template costs one query (the common case at clinic creation)."""
    from clinics.migrations_executor import expected_migrations, stale_schemas

    name = template_schema_name()
    use_public_schema()
    if schema_exists(name) and not stale_schemas([name], expected=expected_migrations("tenant", cached=True)):
        return False
    # Serialise concurrent first-time creation (two clinics created at once after a fresh install).
    # A session lock, not a transaction one: migrations must not all run in one transaction.
    lock = f"docos:template:{name}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock])
    try:
        if not schema_exists(name):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(name)}")
        call_command("migrate_schemas", schema_name=name, tenant=True, interactive=False, verbosity=verbosity)
    finally:
        use_public_schema()
        # The migrate run may close the connection, which releases the lock by itself.
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock])
    return True


def template_data_tables() -> dict[str, int]:
    """Tables of the template that hold rows although they should not (name -> row count)."""
    name = connection.ops.quote_name(template_schema_name())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [template_schema_name()],
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] not in BOOKKEEPING_TABLES]
        found: dict[str, int] = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {name}.{connection.ops.quote_name(table)}")
            count = cursor.fetchone()[0]
            if count:
                found[table] = count
    return found
