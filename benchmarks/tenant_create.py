"""Seconds per new clinic with N clinics already present: cloning the template vs running migrations.

    python -m benchmarks.tenant_create [N] [SAMPLES]     (N default 200, SAMPLES default 5)

Both paths go through the real `clinic_create` (Clinic row, domain, schema, roles, a location, the
owner, the audit event) in the same database and the same run; the migration path swaps the
clone for what django-tenants does without a base schema: CREATE SCHEMA + migrate_schemas for it.
Target: under 1 s per clinic at 1,000 clinics.
"""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Any
from unittest import mock

from benchmarks._support import bench_database, make_existing_clinics, positive_int, say, summary, timed

TARGET_SECONDS = 1.0


def _create(slug: str) -> None:
    from clinics.services import clinic_create

    clinic_create(slug=slug, name=f"New {slug}", owner_email=f"owner@{slug}.example.in", owner_password=None)


def _clone_path(samples: int) -> tuple[list[float], list[float]]:
    """Whole clinic_create times, and the clone step's share of each."""
    import clinics.services as services

    clone_times: list[float] = []
    methods: set[str] = set()
    real_clone = services.clone_template_into

    def clone_and_time(schema_name: str) -> str:
        clone_times.append(timed(lambda: methods.add(real_clone(schema_name))))
        return next(iter(methods))

    totals = []
    with mock.patch.object(services, "clone_template_into", clone_and_time):
        for i in range(samples):
            totals.append(timed(lambda i=i: _create(f"new-clone-{i}")))
    say(f"[tenant_create] clone method used: {', '.join(sorted(methods))}")
    return totals, clone_times


def _migrate_path(samples: int) -> list[float]:
    from django.test import override_settings
    from django_tenants.models import TenantMixin

    from clinics.models import Clinic

    stock: Any = TenantMixin.create_schema
    totals = []
    with (
        mock.patch.object(Clinic, "create_schema", stock),
        override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False),
        contextlib.redirect_stdout(io.StringIO()),  # migrate's progress lines
    ):
        for i in range(samples):
            totals.append(timed(lambda i=i: _create(f"new-migrate-{i}")))
    return totals


def _pg_clone_schema_path(samples: int) -> list[float]:
    """clinic_create with the fast replay switched off: django-tenants' pg-clone-schema does the copy."""
    import clinics.schema_clone as schema_clone

    totals = []
    with mock.patch.object(schema_clone, "clone_schema_fast", lambda template, target: False):
        for i in range(samples):
            totals.append(timed(lambda i=i: _create(f"new-pgclone-{i}")))
    return totals


def _installer_cost(rounds: int = 3) -> tuple[float, float]:
    """What re-running django-tenants' clone-function installer costs per clone, vs our tag check."""
    from django.db import transaction
    from django_tenants.clone import CloneSchema

    from clinics.services import _installed_clone_function_tag, ensure_clone_function

    installer = sum(timed(CloneSchema()._create_clone_schema_function) for _ in range(rounds)) / rounds
    with transaction.atomic():
        ensure_clone_function()  # put our tagged version back
    check = sum(timed(_installed_clone_function_tag) for _ in range(20)) / 20
    return installer, check


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    existing = positive_int(argv, 0, 200)
    samples = max(1, positive_int(argv, 1, 5))
    with bench_database("tenant_create"):
        say(f"[tenant_create] creating {existing} existing clinics (template clones) ...")
        setup = make_existing_clinics(existing)
        if setup:
            say(f"[tenant_create] setup clones: {summary(setup)}")

        # Warm up once (imports, first clone-function check), not counted.
        _create("warm-up")
        clone_totals, clone_steps = _clone_path(samples)
        migrate_totals = _migrate_path(max(1, min(samples, 3)))
        pg_clone_totals = _pg_clone_schema_path(max(1, min(samples, 3)))
        installer, check = _installer_cost()

        from statistics import fmean

        clone_mean, migrate_mean = fmean(clone_totals), fmean(migrate_totals)
        say(f"[tenant_create] existing clinics: {existing}")
        say(f"[tenant_create] clinic_create by cloning   : {summary(clone_totals)}")
        say(f"[tenant_create]   of which the schema clone : {summary(clone_steps)}")
        say(f"[tenant_create] clinic_create by migrations: {summary(migrate_totals)}")
        say(f"[tenant_create] ratio migrations/cloning   : {migrate_mean / clone_mean:.1f}x")
        say(
            "[tenant_create] (for reference) clinic_create with django-tenants' pg-clone-schema: "
            f"{summary(pg_clone_totals)}"
        )
        say(
            f"[tenant_create] clone-function installer re-run per clone (stock django-tenants): "
            f"{installer * 1000:.0f} ms; our installed-version check: {check * 1000:.1f} ms"
        )
        verdict = "meets" if clone_mean < TARGET_SECONDS else "MISSES"
        say(f"[tenant_create] {verdict} the target of < {TARGET_SECONDS:.0f} s per clinic (at {existing} clinics)")


if __name__ == "__main__":
    main()
