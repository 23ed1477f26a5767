"""Shared plumbing for the benchmarks: a throwaway database, Django set-up, fast clinic fixtures.

Every benchmark runs in its own database (docos_bench_<pid>) on the server named by DATABASE_URL,
created at the start and dropped at the end (unless kept for reuse), so it never touches
development or test data.
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/docos"
BENCH_PREFIX = "docos_bench_"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(_with_database(url, "postgres"), autocommit=True)


@contextmanager
def bench_database(label: str = "", *, keep: bool = False, reuse: str = "") -> Iterator[str]:
    """Create docos_bench_<pid>, point Django at it (before or after django.setup()), migrate the
    public and template schemas, and drop it again on the way out.

    `keep`: leave the database in place at the end (its name is printed), to be reused.
    `reuse`: run in that database, made by an earlier run with `keep` (it must be a docos_bench_
    database and exist); migrations not yet applied are applied, and it is left in place."""
    # A `kill` must still drop the database: turn SIGTERM into SystemExit so `finally` runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if reuse:
        if not reuse.startswith(BENCH_PREFIX):
            raise SystemExit(f"--reuse-db takes a benchmark database ({BENCH_PREFIX}...), not {reuse!r}")
        name = reuse
        with _admin(server_url) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                raise SystemExit(f"no database {name!r} to reuse (make one with --keep)")
        keep = True
    else:
        name = f"{BENCH_PREFIX}{os.getpid()}"
        with _admin(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    bench_url = _with_database(server_url, name)
    previous_env = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG would keep every query in memory
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    previous_name = None
    try:
        import django
        from django.apps import apps
        from django.conf import settings

        if apps.ready:
            # Already set up by an earlier benchmark in this process: switch the connection over.
            from django.db import connections

            connections.close_all()
            previous_name = settings.DATABASES["default"]["NAME"]
            settings.DATABASES["default"]["NAME"] = name
            connections["default"].settings_dict["NAME"] = name
            from django.contrib.contenttypes.models import ContentType

            ContentType.objects.clear_cache()  # ids belong to the previous database
        else:
            django.setup()
        assert settings.DATABASES["default"]["NAME"] == name, "benchmarks must never run on a real database"
        _prepare(label)
        yield name
    finally:
        from django.db import connections

        connections.close_all()
        if previous_name is not None:
            from django.conf import settings

            settings.DATABASES["default"]["NAME"] = previous_name
            connections["default"].settings_dict["NAME"] = previous_name
        if previous_env is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous_env
        if keep:
            say(f"[{label}] database {name} kept: rerun with --reuse-db {name}")
        else:
            with _admin(server_url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_options(argv: list[str]) -> tuple[list[str], bool, str]:
    """Take `--keep` and `--reuse-db NAME` (or `--reuse-db=NAME`) out of argv: (the rest, keep, reuse)."""
    rest: list[str] = []
    keep, reuse = False, ""
    args = iter(argv)
    for arg in args:
        if arg == "--keep":
            keep = True
        elif arg == "--reuse-db":
            reuse = next(args, "")
        elif arg.startswith("--reuse-db="):
            reuse = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, keep, reuse


def _prepare(label: str) -> None:
    from django.core.management import call_command

    from clinics.template_schema import ensure_template_schema

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    ensure_template_schema()
    say(f"[{label}] fresh database migrated (public + template) in {time.perf_counter() - started:.1f} s")


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    spread = f", min {min(samples):.3f}, max {max(samples):.3f}" if len(samples) > 1 else ""
    return (
        f"mean {statistics.fmean(samples):.3f} s, median {statistics.median(samples):.3f} s{spread} (n={len(samples)})"
    )


def make_existing_clinics(count: int, *, prefix: str = "bench", report_every: int = 100) -> list[float]:
    """`count` clinics as cheaply as the real thing allows: a Clinic row, a Domain row and a schema
    cloned from the template (the same clone clinic_create does; the seed rows -- roles, owner,
    one location -- do not change what later clones or migrations cost). Returns the clone times."""
    from clinics.models import Clinic, Domain
    from clinics.services import clone_template_into
    from docos.tenancy import clinic_host

    clinics = [
        Clinic(
            slug=f"{prefix}-{i:05d}",
            name=f"Bench clinic {i}",
            schema_name=f"t_{prefix}_{i:05d}",
            contact_email=f"owner@{prefix}-{i:05d}.example.in",
        )
        for i in range(count)
    ]
    Clinic.objects.bulk_create(clinics, batch_size=500)  # bulk_create skips save(): no schema yet
    Domain.objects.bulk_create(
        [Domain(domain=clinic_host(c.slug), tenant=c, is_primary=True) for c in clinics], batch_size=500
    )
    times: list[float] = []
    started = time.perf_counter()
    for i, clinic in enumerate(clinics, 1):
        times.append(timed(lambda schema=clinic.schema_name: clone_template_into(schema)))
        if report_every and (i % report_every == 0 or i == count):
            window = times[-report_every:]
            say(
                f"  {i:>5} clinics cloned ({time.perf_counter() - started:.0f} s so far); "
                f"last {len(window)}: {statistics.fmean(window):.3f} s per clone"
            )
    return times


def positive_int(argv: list[str], index: int, default: int) -> int:
    try:
        value = int(argv[index])
    except (IndexError, ValueError):
        return default
    return value if value >= 0 else default


CLIENT_THREADS = 48


def open_loop_posts(
    url: str, posts: list[tuple[bytes, dict[str, str]]], rate: float | None, *, threads: int = CLIENT_THREADS
) -> tuple[list[float], dict[int, int], float]:
    """POST every (body, headers) over HTTP: open loop, the n-th due `n / rate` seconds after the start
    (back to back when `rate` is None), its latency counted from when it was due, so a slow server cannot
    hide its queueing (no coordinated omission). Returns latencies (s), counts per status (0: no answer)
    and the elapsed time."""
    import threading

    import urllib3

    pool = urllib3.PoolManager(maxsize=threads, retries=False)
    latencies: list[float] = [0.0] * len(posts)
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(len(posts)))
    start = time.perf_counter() + 0.5

    def worker() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            due = start + n / rate if rate else time.perf_counter()
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body, headers = posts[n]
            try:
                status = pool.request(
                    "POST", url, body=body, headers=headers, timeout=urllib3.Timeout(connect=5.0, read=10.0)
                ).status
            except urllib3.exceptions.HTTPError:
                status = 0
            latencies[n] = time.perf_counter() - due
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return latencies, statuses, time.perf_counter() - start


def latency_percentiles(latencies: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the worst, in milliseconds."""
    ms = sorted(latency * 1000 for latency in latencies)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))], ms[-1]
