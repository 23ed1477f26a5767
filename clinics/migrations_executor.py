"""Deploy-time migrations: skip schemas that are already current, migrate the rest in parallel.

With 1,000 clinics and nothing pending, the stock executors still run Django's migrate command
once per schema (about a second each). Here one query reads every schema's applied migrations,
so a no-op deploy costs a round trip per 500 schemas, and only stale schemas reach Django's
migrate: one in-process, several in a multiprocessing pool (TENANT_MULTIPROCESSING_MAX_PROCESSES).

`manage.py migrate_schemas --executor=standard` (or EXECUTOR=multiprocessing) selects a stock executor.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Literal

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.utils import ProgrammingError
from django_tenants.migration_executors.base import MigrationExecutor
from django_tenants.migration_executors.multiproc import get_pool, run_migrations_percent
from django_tenants.migration_executors.standard import StandardExecutor
from django_tenants.utils import get_public_schema_name, schema_exists

Migration = tuple[str, str]
SchemaKind = Literal["tenant", "shared"]

# Options that ask migrate for something other than "bring every schema up to date": honour them
# on every schema, exactly as the stock executors would.
_EXPLICIT_OPTIONS = ("fake", "migration_name", "run_syncdb", "prune", "plan", "check_unapplied")
_CHUNK = 500  # schemas per UNION ALL statement


def _app_labels(kind: SchemaKind) -> set[str]:
    names = set(settings.TENANT_APPS if kind == "tenant" else settings.SHARED_APPS)
    return {config.label for config in apps.get_app_configs() if config.name in names}


def _expected(kind: SchemaKind) -> frozenset[Migration]:
    labels = _app_labels(kind)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(key for key in loader.graph.nodes if key[0] in labels)


_expected_cached = functools.cache(_expected)


def expected_migrations(kind: SchemaKind = "tenant", *, cached: bool = False) -> frozenset[Migration]:
    """Every migration a schema of this kind must have applied (from the migration files on disk).

    Only apps the router lets into that kind of schema count: a shared-only app's migration is a
    no-op in a clinic schema, so it does not make 1,000 clinics "stale". `cached` reuses the answer
    for the life of the process (migration files do not change under a running web process)."""
    return _expected_cached(kind) if cached else _expected(kind)


def applied_migrations(schemas: list[str]) -> dict[str, set[Migration]]:
    """Applied migrations per schema, read with one UNION ALL query per 500 schemas.

    Schemas without a django_migrations table are left out of the answer."""
    if not schemas:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [list(schemas)],
        )
        ordered = sorted(row[0] for row in cursor.fetchall())
        applied: dict[str, set[Migration]] = {schema: set() for schema in ordered}
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            union = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {connection.ops.quote_name(schema)}.django_migrations" for schema in chunk
            )
            with transaction.atomic():  # a savepoint, so a schema dropped meanwhile cannot poison the caller
                cursor.execute(union, chunk)
                for schema, app, name in cursor.fetchall():
                    applied[schema].add((app, name))
    return applied


def stale_schemas(schemas: list[str], *, expected: frozenset[Migration] | None = None) -> list[str]:
    """The schemas (in the given order) missing at least one expected migration, or the table itself."""
    if not schemas:
        return []
    expected = expected_migrations("tenant") if expected is None else expected
    try:
        applied = applied_migrations(schemas)
    except ProgrammingError:  # a schema vanished between the two queries: let migrate sort it out
        return list(schemas)
    return [schema for schema in schemas if schema not in applied or not expected <= applied[schema]]


class SkipCurrentExecutor(MigrationExecutor):
    codename = "skip-current"

    def run_migrations(self, tenants: Any = None) -> None:
        tenants = list(tenants or [])
        public = get_public_schema_name()
        explicit = any(self.options.get(option) for option in _EXPLICIT_OPTIONS)
        if public in tenants:
            tenants.remove(public)
            if explicit or stale_schemas([public], expected=expected_migrations("shared")):
                StandardExecutor(self.args, self.options).run_migrations(tenants=[public])
            else:
                self.say(f"{public}: up to date")
        if not tenants:
            return
        template = str(settings.TENANT_BASE_SCHEMA)
        if self.options.get("schema_name") is None and template not in tenants and schema_exists(template):
            tenants.insert(0, template)  # keep the clone source current
        if explicit:
            todo = tenants  # do exactly what was asked, everywhere
        else:
            todo = stale_schemas(tenants, expected=expected_migrations("tenant"))
            self.say(f"{len(tenants) - len(todo)} schema(s) already up to date; {len(todo)} to migrate")
        if template in todo and len(todo) > 1:
            # Migrate the template first and alone: a clinic created during the deploy clones it.
            StandardExecutor(self.args, self.options).run_migrations(tenants=[template])
            todo.remove(template)
        if len(todo) > 1:
            self.run_in_pool(todo)
        elif todo:
            StandardExecutor(self.args, self.options).run_migrations(tenants=todo)

    def run_in_pool(self, schemas: list[str]) -> list[Any]:
        """Migrate schemas in TENANT_MULTIPROCESSING_MAX_PROCESSES forked workers.

        django-tenants' MultiprocessingExecutor never closes its pool; when the pool is garbage
        collected its finaliser terminates the workers, and a worker killed while holding the task
        queue's lock leaves the other blocked forever -- the deploy hangs after the work is done.
        Here the pool is closed and joined, so idle workers exit on their own."""
        chunks = int(getattr(settings, "TENANT_MULTIPROCESSING_CHUNKS", 2))
        connection.close()  # forked workers must not share the parent's socket
        work = functools.partial(_migrate_one, self.args, self.options, self.codename, len(schemas))
        pool = get_pool()
        try:
            results = pool.map(work, enumerate(schemas), chunks)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
        return results

    def run_multi_type_migrations(self, tenants: Any) -> None:
        raise NotImplementedError("DocOS has one tenant type.")

    def say(self, message: str) -> None:
        if int(self.options.get("verbosity", 1)) >= 1:
            sys.stdout.write(f"[{self.codename}] {message}\n")


def _migrate_one(args: Any, options: Any, codename: str, count: int, idx_schema: tuple[int, str]) -> Any:
    """Runs in a pool worker: django-tenants' per-schema migrate with progress prefix."""
    return run_migrations_percent(args, options, codename, count, idx_schema)


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """`--executor` wins, then the EXECUTOR environment variable (as in django-tenants), then ours."""
    codename = codename or os.environ.get("EXECUTOR") or None
    if codename in (None, SkipCurrentExecutor.codename):
        return SkipCurrentExecutor
    from django_tenants.migration_executors import get_executor as stock

    return stock(codename)
