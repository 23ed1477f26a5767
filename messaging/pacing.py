"""Outbound pacing: one token bucket per business phone number, in Redis, shared by every worker.

Meta's documented default throughput for a business phone number is 80 messages per second
(WHATSAPP_MESSAGES_PER_SECOND); above it the Cloud API answers error 130429 and we would retry.
Every send first reserves a slot: slots of one number are 1/rate apart (a token bucket holding at
most one token, kept as GCRA: the time of the next free slot), so the sends of all workers together
stay at or under the rate over any window (a larger burst would let a quiet number send 2x the rate
in its first second, which Meta counts against it). A worker reserves the next free slot if it is
within a few seconds, sleeps until it and sends; reserving ahead (rather than polling for a token)
means a worker that wakes a little late does not waste the slot of the next one, so a busy number
is sent at the full rate.

Meta also limits each pair (business number, user) to about one message every 6 seconds (error
131056): `pair_wait` keeps a second GCRA key per pair (the user's id hashed, so no phone number is
written to Redis) with that interval and no patience, so a second message to the same patient
within 6 seconds goes back to the queue for the rest of the interval instead of being refused.

The reservation is one Lua script (atomic in Redis) and reads Redis's own clock (`TIME`), so
workers on hosts with skewed clocks share one notion of time.
If Redis is unreachable we do not block sends (the outbox already needs Redis to be dispatched at
all, and Meta's 130429 is retried): `acquire` answers 0 and logs once.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

KEY = "docos:whatsapp:pace:{}"
PAIR_KEY = "docos:whatsapp:pair:{}:{}"
# Slots are spaced for 98% of the cap: the margin absorbs the jitter between a slot and the moment
# the request reaches Meta (a thread woken late, a slow connection), so no one-second window there
# sees more than the cap.
HEADROOM = 0.98
# GCRA ("virtual scheduling"): the key holds the next free send slot of the number (microseconds,
# Redis's clock). Taking a slot moves it on by one interval (1/rate). A caller is given the slot
# only if it is no further away than its patience (ARGV[2]); otherwise nothing is reserved.
# Returns {reserved (0/1), microseconds until the slot}.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local patience = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then
  slot = now
end
local wait = slot - now
if wait > patience then
  return {0, wait}
end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', math.ceil((wait + interval) / 1000) + 1000)
return {1, wait}
"""


def rate() -> float:
    return max(0.001, float(settings.WHATSAPP_MESSAGES_PER_SECOND))


def _reserve(key: str, *, interval: float, patience: float) -> tuple[bool, float]:
    try:
        client = get_redis_connection("default")
        reserved, wait_us = client.eval(_RESERVE, 1, key, int(interval * 1e6), int(patience * 1e6))
    except Exception:
        logger.warning("whatsapp pacing unavailable (Redis); sending unpaced", exc_info=True)
        return True, 0.0
    return bool(int(reserved)), int(wait_us) / 1_000_000


def reserve(phone_number_id: str, *, per_second: float | None = None, patience: float = 5.0) -> tuple[bool, float]:
    """Reserve this number's next send slot if it is at most `patience` seconds away:
    (True, seconds until it) — sleep that long, then send — or (False, seconds until the next slot)."""
    per_second = per_second or rate()
    return _reserve(KEY.format(phone_number_id), interval=1 / (per_second * HEADROOM), patience=patience)


def pair_wait(phone_number_id: str, recipient: str) -> float:
    """Take the (number, recipient) pair's send slot if it is free now (0.0), else the seconds until
    it is: the caller hands the message back to the queue for that long."""
    interval = float(settings.WHATSAPP_PAIR_INTERVAL_SECONDS)
    if interval <= 0 or not recipient:
        return 0.0
    pair = hashlib.sha256(recipient.encode()).hexdigest()[:24]
    reserved, wait = _reserve(PAIR_KEY.format(phone_number_id, pair), interval=interval, patience=0.0)
    return 0.0 if reserved else max(wait, 1e-3)


def acquire(phone_number_id: str, *, per_second: float | None = None) -> float:
    """Take a slot only if it is free now: 0.0 when taken, else the seconds until the next one."""
    reserved, wait = reserve(phone_number_id, per_second=per_second, patience=0.0)
    return 0.0 if reserved else max(wait, 1e-6)


def wait_for_token(phone_number_id: str, *, max_wait: float = 5.0, per_second: float | None = None) -> bool:
    """Reserve a slot at most `max_wait` seconds away and sleep until it (True), or reserve nothing
    (False: the caller requeues the message)."""
    reserved, wait = reserve(phone_number_id, per_second=per_second, patience=max_wait)
    if not reserved:
        return False
    if wait > 0:
        time.sleep(wait)
    return True
