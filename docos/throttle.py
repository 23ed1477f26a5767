"""Fixed-window budgets in the cache (Redis), for anything that must not be repeated too fast."""

from __future__ import annotations

import ipaddress

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


def address_bucket(ip: str | None) -> str:
    """What a per-client limit counts for an address: an IPv4 address, or the /64 network of an IPv6
    address (one subscriber holds at least a /64, so counting single IPv6 addresses would let a
    client take a fresh one per request). Text that is not an address is counted as it is."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
