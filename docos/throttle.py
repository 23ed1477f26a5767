"""Fixed-window budgets in the cache (Redis), for anything that must not be repeated too fast."""

from __future__ import annotations

from django.core.cache import cache


def within_budget(key: str, limit: int, window: int) -> bool:
    """Count one event against a fixed window's budget; False once the budget is spent."""
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return True
    return int(count) <= limit
