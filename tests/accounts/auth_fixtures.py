"""Fixtures for the sign-in tests. Load with `pytest_plugins = ["tests.accounts.auth_fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_redis import get_redis_connection

from accounts.login import KEY_PREFIX


@pytest.fixture
def auth_state_clean() -> Iterator[None]:
    """Failure counters, locks and used-TOTP markers live in Redis (not rolled back): clear them."""

    def clear() -> None:
        redis = get_redis_connection("default")
        keys = list(redis.scan_iter(f"{KEY_PREFIX}:*"))
        if keys:
            redis.delete(*keys)

    clear()
    yield
    clear()
