"""Concurrent writers keep one linear chain.

Each writer thread has its own database connection, outside the test's rolled-back transaction,
so its events really commit. They go to a scratch schema cloned from the clinic template (never
to the seeded clinics) that is dropped afterwards; the main connection never touches it, so its
open transaction holds no lock that would block the DROP.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from audit.chain import audit_chain_verify
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, audit_record
from clinics.services import clone_template_into

SCRATCH_SCHEMA = "t_audit_concurrency"
WRITERS = 4
EVENTS_PER_WRITER = 40


def _in_own_connection(fn: Callable[[], Any]) -> Any:
    """Run fn in a fresh thread (hence its own autocommit connection) and return its result."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _drop_scratch() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SCRATCH_SCHEMA}" CASCADE')


@pytest.fixture
def scratch_schema(clinic_a) -> Iterator[str]:  # clinic_a: the template schema exists
    _in_own_connection(_drop_scratch)
    _in_own_connection(lambda: clone_template_into(SCRATCH_SCHEMA))
    yield SCRATCH_SCHEMA
    _in_own_connection(_drop_scratch)


def test_concurrent_writers_keep_a_linear_chain(scratch_schema):
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            connection.set_schema(scratch_schema)
            start.wait()
            for i in range(EVENTS_PER_WRITER):
                audit_record(actor=None, action="test.concurrent", metadata={"writer": number, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    def inspect() -> tuple[Any, list[tuple[int, str, str, int]]]:
        connection.set_schema(scratch_schema)
        report = audit_chain_verify(batch_size=25)  # outside any transaction: its own snapshot
        rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "row_hash", "metadata__writer"))
        return report, rows

    report, rows = _in_own_connection(inspect)
    assert report.ok, report.problem
    assert report.rows_checked == WRITERS * EVENTS_PER_WRITER
    # Linear: each row links to the one before it; no two rows share a predecessor.
    assert rows[0][1] == GENESIS_HASH
    assert all(row[1] == previous[2] for previous, row in itertools.pairwise(rows))
    assert len({row[1] for row in rows}) == len(rows)
    # The writers really did interleave (otherwise this test would prove nothing about the lock).
    switches = sum(1 for previous, row in itertools.pairwise(rows) if previous[3] != row[3])
    assert switches >= WRITERS
