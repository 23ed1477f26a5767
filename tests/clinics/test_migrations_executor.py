"""Deploy-time migrations skip current schemas with one query and migrate only the stale ones."""

from __future__ import annotations

import multiprocessing
import os
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.migration_executors.standard import StandardExecutor

from clinics import migrations_executor
from clinics.migrations_executor import SkipCurrentExecutor, expected_migrations, get_executor, stale_schemas
from clinics.models import Clinic
from clinics.template_schema import template_schema_name
from tests.clinics.helpers import applied


def _all_schemas() -> list[str]:
    return [template_schema_name(), *Clinic.objects.exclude(schema_name="public").values_list("schema_name", flat=True)]


def _table_exists(schema: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".{table}'])
        return bool(cursor.fetchone()[0])


def _make_sessions_stale(schema: str) -> None:
    """Undo sessions.0001_initial by hand in one schema: a real table dropped, its record deleted.
    (django_session has no dependants, so this is safe to do and to redo.)"""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{schema}".django_session')
        cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'sessions'")


@pytest.fixture
def record_runs(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Record which schemas each stock executor would migrate, without migrating."""
    runs: dict[str, list[list[str]]] = {"standard": [], "multiprocessing": []}

    def recorder(name: str) -> Any:
        def run(self: Any, tenants: list[str] | None = None) -> None:
            runs[name].append(list(tenants or []))

        return run

    def pool(self: Any, schemas: list[str]) -> list[Any]:
        runs["multiprocessing"].append(list(schemas))
        return []

    monkeypatch.setattr(StandardExecutor, "run_migrations", recorder("standard"))
    monkeypatch.setattr(SkipCurrentExecutor, "run_in_pool", pool)
    return runs


def _executor(**options: Any) -> SkipCurrentExecutor:
    return SkipCurrentExecutor([], {"verbosity": 0, "schema_name": None, **options})


def test_current_schemas_are_not_stale(clinic_a, clinic_b):
    schemas = _all_schemas()
    assert {template_schema_name(), clinic_a.schema, clinic_b.schema} <= set(schemas)
    assert stale_schemas(schemas) == []
    assert stale_schemas(["public"], expected=expected_migrations("shared")) == []


def test_tenant_expectation_covers_tenant_apps_only():
    expected = expected_migrations("tenant")
    apps_seen = {app for app, _ in expected}
    assert {"accounts", "auth", "contenttypes", "sessions"} <= apps_seen
    assert "clinics" not in apps_seen  # a shared-only app's migrations do not touch clinic schemas
    assert ("sessions", "0001_initial") in expected


def test_schema_missing_a_migration_is_the_only_stale_one(clinic_a, clinic_b):
    _make_sessions_stale(clinic_a.schema)
    assert stale_schemas(_all_schemas()) == [clinic_a.schema]


def test_schema_without_migrations_table_is_stale(clinic_a):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "t_empty"')
    assert stale_schemas([clinic_a.schema, "t_empty"]) == ["t_empty"]


def test_migrate_schemas_repairs_exactly_the_stale_schema(clinic_a, clinic_b, capsys):
    _make_sessions_stale(clinic_a.schema)
    assert not _table_exists(clinic_a.schema, "django_session")
    before_b = applied(clinic_b.schema)
    call_command("migrate_schemas", interactive=False, verbosity=1)
    output = capsys.readouterr().out
    assert "[skip-current] public: up to date" in output
    assert re.search(r"\[skip-current\] \d+ schema\(s\) already up to date; 1 to migrate", output)
    assert f"standard:{clinic_a.schema}]" in output
    assert f":{clinic_b.schema}]" not in output
    assert _table_exists(clinic_a.schema, "django_session")
    assert ("sessions", "0001_initial") in applied(clinic_a.schema)
    assert applied(clinic_b.schema) == before_b
    assert stale_schemas(_all_schemas()) == []


def test_up_to_date_deploy_runs_no_migrate_anywhere(clinic_a, clinic_b, record_runs):
    call_command("migrate_schemas", interactive=False, verbosity=0)
    assert record_runs == {"standard": [], "multiprocessing": []}


def test_several_stale_schemas_go_to_the_process_pool(clinic_a, clinic_b, record_runs):
    _make_sessions_stale(clinic_a.schema)
    _make_sessions_stale(clinic_b.schema)
    _executor().run_migrations(tenants=[clinic_a.schema, clinic_b.schema])
    assert record_runs["standard"] == []
    assert record_runs["multiprocessing"] == [[clinic_a.schema, clinic_b.schema]]


def test_stale_template_is_migrated_first_and_alone(clinic_a, clinic_b, record_runs):
    _make_sessions_stale(template_schema_name())
    _make_sessions_stale(clinic_b.schema)
    _executor().run_migrations(tenants=[clinic_a.schema, clinic_b.schema])
    assert record_runs["standard"] == [[template_schema_name()], [clinic_b.schema]]
    assert record_runs["multiprocessing"] == []


def test_stale_public_schema_is_migrated(clinic_a, record_runs):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.django_migrations WHERE app = 'clinics' AND name = '0001_initial'")
    _executor().run_migrations(tenants=["public"])
    assert record_runs["standard"] == [["public"]]


def test_explicit_operations_run_on_every_schema(clinic_a, clinic_b, record_runs):
    _executor(fake=True).run_migrations(tenants=[clinic_a.schema, clinic_b.schema])
    assert record_runs["standard"] == [[template_schema_name()]]
    assert record_runs["multiprocessing"] == [[clinic_a.schema, clinic_b.schema]]


def test_single_schema_option_does_not_pull_in_the_template(clinic_a, record_runs):
    _make_sessions_stale(clinic_a.schema)
    _executor(schema_name=clinic_a.schema).run_migrations(tenants=[clinic_a.schema])
    assert record_runs["standard"] == [[clinic_a.schema]]


def test_executor_selection(monkeypatch):
    monkeypatch.delenv("EXECUTOR", raising=False)
    assert get_executor() is SkipCurrentExecutor
    assert get_executor("standard") is StandardExecutor
    monkeypatch.setenv("EXECUTOR", "multiprocessing")
    assert get_executor() is MultiprocessingExecutor
    assert get_executor("skip-current") is SkipCurrentExecutor


def test_stale_check_reads_all_schemas_in_one_query(clinic_a, clinic_b):
    schemas = _all_schemas()
    expected = migrations_executor.expected_migrations("tenant")
    with CaptureQueriesContext(connection) as captured:
        assert stale_schemas(schemas, expected=expected) == []
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 2  # which schemas have the table, then one UNION ALL over all of them
    assert all(f'"{schema}".django_migrations' in reads[1] for schema in schemas)


def _fake_migrate_one(args: Any, options: Any, codename: str, count: int, idx_schema: tuple[int, str]) -> str:
    return f"{idx_schema[0] + 1}/{count} {idx_schema[1]} in {os.getpid()}"


def test_pool_runs_every_schema_in_workers_and_shuts_down(monkeypatch):
    monkeypatch.setattr(migrations_executor, "_migrate_one", _fake_migrate_one)
    results = _executor().run_in_pool(["t_one", "t_two", "t_three"])
    assert [r.split(" in ")[0] for r in results] == ["1/3 t_one", "2/3 t_two", "3/3 t_three"]
    assert all(int(r.split(" in ")[1]) != os.getpid() for r in results)  # ran in forked workers
    assert multiprocessing.active_children() == []  # closed and joined: nothing left to hang on
