"""Deploy-time tenant migrations: skip schemas that are already current, migrate the rest in parallel.

With 1,000 clinics and nothing pending, the stock executors still run Django's migrate command
once per schema. Here one query reads every schema's applied migrations, so a no-op deploy costs
one round trip, and only stale schemas go to the multiprocessing pool.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.utils import ProgrammingError
from django_tenants.migration_executors.base import MigrationExecutor
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.migration_executors.standard import StandardExecutor
from django_tenants.utils import get_public_schema_name, schema_exists


def expected_tenant_migrations() -> set[tuple[str, str]]:
    tenant_labels = {apps.get_app_config(name.rsplit(".", 1)[-1]).label for name in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key for key in loader.graph.nodes if key[0] in tenant_labels}


def stale_schemas(schemas: list[str]) -> list[str]:
    """The schemas missing at least one expected migration (or lacking the migrations table)."""
    if not schemas:
        return []
    expected = expected_tenant_migrations()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE c.relname = 'django_migrations' AND n.nspname = ANY(%s)",
            [schemas],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        applied: dict[str, set[tuple[str, str]]] = {s: set() for s in with_table}
        ordered = sorted(with_table)
        for start in range(0, len(ordered), 500):  # bounded statement size
            chunk = ordered[start : start + 500]
            union = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {connection.ops.quote_name(s)}.django_migrations" for s in chunk
            )
            try:
                cursor.execute(union, chunk)
            except ProgrammingError:
                return schemas
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return [s for s in schemas if s not in with_table or not expected <= applied[s]]


class SkipCurrentExecutor(MigrationExecutor):
    codename = "skip-current"

    def run_migrations(self, tenants: list[str] | None = None) -> None:
        tenants = list(tenants or [])
        public = get_public_schema_name()
        if public in tenants:
            StandardExecutor(self.args, self.options).run_migrations(tenants=[public])
            tenants.remove(public)
        if not tenants:
            return
        template = str(settings.TENANT_BASE_SCHEMA)
        if self.options.get("schema_name") is None and template not in tenants and schema_exists(template):
            tenants.insert(0, template)  # keep the clone source current
        if self.options.get("fake") or self.options.get("migration_name") or self.options.get("app_label"):
            todo = tenants  # explicit operations: do exactly what was asked
        else:
            todo = stale_schemas(tenants)
            skipped = len(tenants) - len(todo)
            if skipped and int(self.options.get("verbosity", 1)) >= 1:
                self.logger_stdout(f"{skipped} schema(s) already up to date; {len(todo)} to migrate")
        if len(todo) > 1:
            MultiprocessingExecutor(self.args, self.options).run_migrations(tenants=todo)
        elif todo:
            StandardExecutor(self.args, self.options).run_migrations(tenants=todo)

    def run_multi_type_migrations(self, tenants: Any) -> None:
        raise NotImplementedError("DocOS has one tenant type.")

    def logger_stdout(self, message: str) -> None:
        import sys

        sys.stdout.write(f"[{self.codename}] {message}\n")


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    if codename in (None, SkipCurrentExecutor.codename):
        return SkipCurrentExecutor
    from django_tenants.migration_executors import get_executor as stock

    return stock(codename)
