"""A deploy with no pending migrations over N clinics: our skip-current executor vs the stock ones.

    python -m benchmarks.migrate_noop [N] [SAMPLE]     (N default 200, SAMPLE default 20)

Ours runs the real `manage.py migrate_schemas` over public, the template and all N clinics. The
stock executors (django-tenants' standard and multiprocessing, i.e. EXECUTOR=standard|multiprocessing)
run Django's migrate once per schema even when nothing is pending, so they are timed on SAMPLE
clinics plus the public schema and extrapolated to N (printed as such). Finally a few schemas are
made stale for real and our executor repairs them in its process pool, as a correctness check.
Target: < 30 s at 1,000 clinics.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from typing import Any

from benchmarks._support import bench_database, make_existing_clinics, positive_int, say, timed

TARGET_SECONDS = 30.0
STALE_SCHEMAS = 4


def _command_options(*extra: str) -> tuple[list[Any], dict[str, Any]]:
    """The options `manage.py migrate_schemas --noinput -v 0` hands to an executor."""
    from django_tenants.management.commands.migrate_schemas import Command

    command = Command()
    parser = command.create_parser("manage.py", "migrate_schemas")
    options = vars(parser.parse_args(["--noinput", "-v", "0", *extra]))
    args = options.pop("args", [])
    options["skip_checks"] = True
    return list(args), options


def _stock(codename: str, schemas: list[str]) -> float:
    from unittest import mock

    from django.db import connections
    from django_tenants.migration_executors import get_executor, multiproc

    args, options = _command_options("--executor", codename)
    executor = get_executor(codename)(args, options)
    pools: list[Any] = []
    real_get_pool = multiproc.get_pool

    def tracked_pool() -> Any:
        pools.append(real_get_pool())
        return pools[-1]

    def run() -> None:
        executor.run_migrations(tenants=list(schemas))
        # The stock executor leaves its pool open; its garbage-collection finaliser can then hang
        # on a terminated worker (see SkipCurrentExecutor.run_in_pool). Shut it down cleanly.
        for pool in pools:
            pool.close()
            pool.join()

    with contextlib.redirect_stdout(io.StringIO()), mock.patch.object(multiproc, "get_pool", tracked_pool):
        seconds = timed(run)
    connections.close_all()
    return seconds


def _ours() -> tuple[float, str]:
    from django.core.management import call_command

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        seconds = timed(lambda: call_command("migrate_schemas", interactive=False, verbosity=1))
    summary = " | ".join(line for line in out.getvalue().splitlines() if line.startswith("[skip-current]"))
    return seconds, summary


def _ours_as_a_process() -> float:
    """What a deploy step costs end to end: `manage.py migrate_schemas` in a fresh process
    (interpreter and Django start-up included) against the benchmark database."""
    import os
    import subprocess
    from pathlib import Path

    manage = Path(__file__).resolve().parent.parent / "manage.py"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(manage), "migrate_schemas", "--noinput", "-v", "0"],
        check=True,
        env=dict(os.environ),  # DATABASE_URL points at the benchmark database here
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _make_stale(schemas: list[str]) -> None:
    """Undo sessions.0001_initial for real in each schema (table dropped, record deleted)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'DROP TABLE "{schema}".django_session')
            cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'sessions'")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    count = positive_int(argv, 0, 200)
    sample = max(1, min(positive_int(argv, 1, 20), max(count, 1)))
    with bench_database("migrate_noop"):
        say(f"[migrate_noop] creating {count} clinics (template clones) ...")
        make_existing_clinics(count)
        from clinics.migrations_executor import stale_schemas
        from clinics.models import Clinic
        from clinics.template_schema import template_schema_name

        schemas = list(Clinic.objects.order_by("schema_name").values_list("schema_name", flat=True))
        assert stale_schemas([template_schema_name(), *schemas]) == [], "fresh clones must be current"

        ours, ours_log = _ours()  # warm: the first run pays for imports
        ours_runs = [_ours()[0] for _ in range(2)]
        ours_best = min([ours, *ours_runs])
        say(f"[migrate_noop] {ours_log}")
        as_process = _ours_as_a_process()

        picked = schemas[:sample]
        public_std = _stock("standard", ["public"])
        std = _stock("standard", picked)
        mp = _stock("multiprocessing", picked)
        per_std, per_mp = std / len(picked), mp / len(picked)
        total_schemas = count + 1  # clinics + template
        est_std = public_std + per_std * total_schemas
        est_mp = public_std + per_mp * total_schemas

        say(f"[migrate_noop] clinics: {count}; nothing pending")
        say(
            f"[migrate_noop] ours (skip-current), full migrate_schemas over public + template + {count} clinics: "
            f"{ours_best:.2f} s in-process (runs: {', '.join(f'{t:.2f}' for t in [ours, *ours_runs])}); "
            f"as `manage.py migrate_schemas` in a new process: {as_process:.1f} s"
        )
        say(
            f"[migrate_noop] stock standard       : measured {std:.1f} s on {len(picked)} clinics "
            f"({per_std:.2f} s each) + public {public_std:.1f} s -> EXTRAPOLATED {est_std:.0f} s for {count}"
        )
        say(
            f"[migrate_noop] stock multiprocessing: measured {mp:.1f} s on {len(picked)} clinics "
            f"({per_mp:.2f} s each, 2 processes) + public -> EXTRAPOLATED {est_mp:.0f} s for {count}"
        )
        say(
            f"[migrate_noop] speed-up vs standard: {est_std / ours_best:.0f}x, "
            f"vs multiprocessing: {est_mp / ours_best:.0f}x"
        )
        verdict = "meets" if max(ours_best, as_process) < TARGET_SECONDS else "MISSES"
        say(f"[migrate_noop] {verdict} the target of < {TARGET_SECONDS:.0f} s (at {count} clinics)")

        # Correctness under load: a few stale schemas among many get migrated, the rest skipped.
        stale = schemas[-STALE_SCHEMAS:] if len(schemas) >= STALE_SCHEMAS else schemas
        if stale:
            _make_stale(stale)
            found = stale_schemas([template_schema_name(), *schemas])
            started = time.perf_counter()
            _, log = _ours()
            repaired = time.perf_counter() - started
            left = stale_schemas([template_schema_name(), *schemas])
            ok = sorted(found) == sorted(stale) and left == []
            say(
                f"[migrate_noop] repair check: made {len(stale)} schemas stale, executor found {len(found)}, "
                f"migrated them in {repaired:.1f} s, stale afterwards: {len(left)} -> {'OK' if ok else 'FAILED'} "
                f"({log})"
            )
            if not ok:
                raise SystemExit(1)


if __name__ == "__main__":
    main()
