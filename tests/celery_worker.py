"""A real Celery worker for tests, and a committed throwaway clinic for it to work in.

`celery_worker` (session scope, started on first use, after the fake vendors of
tests/fake_vendors.py) runs `celery -A docos worker` as a subprocess against the test database
(the name pytest-django created) and the test Redis. Tasks queued with `.delay()` inside a
clinic's context carry the clinic's schema, so the worker runs them in that schema, as in production.

The worker cannot see data inside a test's rolled-back transaction, so a worker test does not use
the `db` fixture: `throwaway_clinic` creates a clinic with `clinic_create` (committed, inside
`django_db_blocker.unblock()`), and drops its schema, files and row afterwards. Wrap the test's
own ORM work in `django_db_blocker.unblock()` as well; everything it writes is committed.

    def test_something(celery_worker, throwaway_clinic, django_db_blocker):
        with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
            ...  # write, then queue a task with .delay() (or transaction.on_commit)
        celery_worker.wait_until(lambda: ..., timeout=60)

Import the fixtures from a conftest (tests/conftest.py does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for the database pytest-django created (test_<name>)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(settings_dict.get("HOST") or ""), safe="")  # a socket directory is percent-encoded
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(str(settings_dict['NAME']), safe='')}"


@dataclass
class CeleryWorker:
    process: subprocess.Popen[bytes]
    nodename: str
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_until(self, condition: Callable[[], bool], *, timeout: float = 60.0, interval: float = 0.25) -> None:
        """Poll `condition` until it is true; fail with the worker's log if time runs out or it dies."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return
            if not self.alive():
                pytest.fail(f"The Celery worker exited (code {self.process.returncode}).\n{self.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Timed out after {timeout:.0f}s waiting for the Celery worker.\n{self.log()}")
            time.sleep(interval)


def _ping(app: Any, nodename: str) -> bool:
    try:
        replies = app.control.ping(destination=[nodename], timeout=0.5)
    except Exception:  # the broker connection may not be ready yet
        return False
    return any(nodename in reply for reply in replies or [])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the worker and anything it started
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def committed_test_database(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The test database, also when no other collected test uses `db`.

    pytest-django creates it only for tests that use the `db` fixture or the `django_db` mark, and
    both wrap the test in a transaction that a worker cannot see into. So a worker test alone in
    a run creates the database here (and drops it at the end of the session)."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        if str(connection.settings_dict["NAME"]).startswith("test_"):
            created = None
        else:
            created = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    if created is not None:
        with django_db_blocker.unblock():
            teardown_databases(created, verbosity=0)


@pytest.fixture(scope="session")
def celery_worker(committed_test_database: None, django_db_blocker: Any, fake_graph: Any) -> Iterator[CeleryWorker]:
    from docos.celery import app

    with django_db_blocker.unblock():
        db_url = database_url(connection.settings_dict)
    nodename = f"pytest-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "docos.settings.test"),
        "DATABASE_URL": db_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
        "WHATSAPP_GRAPH_BASE_URL": fake_graph.base_url,  # the fake WhatsApp Cloud API (tests/fake_vendors.py)
    }
    app.control.purge()  # messages left in the test broker by earlier runs
    log_file = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "docos",
        "worker",
        "--pool",
        "solo",
        "--queues",
        "default,messaging,pdf,imaging,maintenance",
        "--hostname",
        nodename,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    worker = CeleryWorker(process=process, nodename=nodename, log_path=Path(log_file.name), env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(app, nodename):
            if not worker.alive():
                pytest.fail(f"The Celery worker did not start (code {process.returncode}).\n{worker.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not answer a ping within {START_TIMEOUT:.0f}s.\n{worker.log()}")
            time.sleep(0.5)
        yield worker
    finally:
        _stop(process)
        log_file.close()
        Path(log_file.name).unlink(missing_ok=True)


@dataclass
class ThrowawayClinic:
    clinic: Any
    owner: Any
    locations: list[Any]


@pytest.fixture
def throwaway_clinic(committed_test_database: None, django_db_blocker: Any) -> Iterator[ThrowawayClinic]:
    """A committed clinic (own schema, two locations, an owner) that is dropped after the test."""
    from accounts.models import Location
    from clinics.models import Clinic
    from clinics.services import clinic_create
    from docos.celery import app

    # Tasks that tests without a worker queued since it started (for clinics long rolled back) would
    # otherwise run first on the one-process worker and hold this test's task past its timeout.
    app.control.purge()
    slug = f"worker-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        created = clinic_create(
            slug=slug,
            name="Worker Test Clinic",
            owner_email=f"owner@{slug}.example.in",
            owner_name="Worker Owner",
            owner_password="correct-horse-battery-42",
            locations=("Main branch", "East branch"),
        )
        with tenant_context(created.clinic):
            locations = list(Location.objects.order_by("name"))
        connection.set_schema_to_public()
    try:
        yield ThrowawayClinic(clinic=created.clinic, owner=created.owner, locations=locations)
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            clinic = Clinic.objects.filter(pk=created.clinic.pk).first()
            if clinic is not None:
                _delete_files(clinic)
                connection.set_schema_to_public()
                clinic.delete(force_drop=True)  # DROP SCHEMA ... CASCADE, then the row (domains cascade)
            connection.set_schema_to_public()


@contextmanager
def in_committed_clinic(clinic: Any, django_db_blocker: Any) -> Iterator[None]:
    """Read or write a committed clinic's schema (what a worker sees) from a worker test, then leave
    the test's connection on the public schema again."""
    try:
        with django_db_blocker.unblock(), tenant_context(clinic.clinic):
            yield
    finally:
        connection.set_schema_to_public()


def committed_row(clinic: Any, django_db_blocker: Any, model: Any, pk: Any) -> Any:
    """The row as committed now (a worker's progress), read in the clinic's schema."""
    with in_committed_clinic(clinic, django_db_blocker):
        return model.objects.get(pk=pk)


def _delete_files(clinic: Any) -> None:
    """Remove the clinic's encrypted files from storage (they live outside the database)."""
    from docos.storage import file_storage

    storage = file_storage()
    pending = [clinic.schema_name]
    visited: list[str] = []
    while pending:
        folder = pending.pop()
        try:
            folders, files = storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue
        visited.append(folder)
        pending.extend(f"{folder}/{name}" for name in folders)
        for name in files:
            storage.delete(f"{folder}/{name}")
    for folder in reversed(visited):  # a local folder keeps empty directories; remove them too
        try:
            Path(storage.path(folder)).rmdir()
        except (NotImplementedError, OSError):
            pass
