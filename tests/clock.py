"""A pinned clock for tests whose expectation depends on the time of day (or on "today").

Reminders wait out the clinic's quiet hours (21:00-08:00 in the location's zone), patients check
in only on the day of their appointment, and the walk-in queue is per local day: a test of these
that read the wall clock would pass by day and fail at night. Such a test requests `clock`, which
pins this process's clock (time-machine) to CLINIC_MORNING and lets it tick from there;
`clock.move_to(moment)` moves it. Any time a test needs is then derived from the pinned clock or
written out, never read from the real one.

Only this process is pinned: PostgreSQL's now(), Redis TTLs and a Celery worker subprocess keep
the real clock, so a pinned test must not compare its times with theirs. A worker test instead
removes the time-of-day dependence (see tests/appointments/test_tasks.py).

CI runs the time-sensitive tests a second time under night-time clocks (`make test-night`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

import pytest
import time_machine

IST = zoneinfo.ZoneInfo("Asia/Kolkata")
# A Wednesday, 10:00 in India: inside clinic hours, outside quiet hours, far from midnight.
CLINIC_MORNING = dt.datetime(2026, 12, 9, 10, 0, tzinfo=IST)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(CLINIC_MORNING, tick=True) as traveller:
        yield traveller
