"""Rate limits per partner: a sliding-window log in the cache (Redis when REDIS_URL is set).

Each accepted request is logged with its time, and a request is accepted only while fewer than the limit
were accepted in the period before it; so no interval of the period's length ever holds more than the
limit, where a fixed window let up to twice the limit through across its boundary. Refused requests are
not logged: a client that keeps retrying is let in as soon as the oldest logged request leaves the window.

In Redis the log is a sorted set, trimmed, counted and appended by one Lua script: atomic however many web
processes share it. Other caches keep it as an array of times under a process lock: exact for local memory
(the demo's, one per process); for a cache shared by processes without Redis (files, a database) it is
best effort, as that cache has no atomic read-and-write. If the cache is unreachable the request is let
through and logged, because a rate limiter must not take the API down with it.
"""

from __future__ import annotations

import bisect
import logging
import math
import secrets
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from lending.api.permissions import request_partner

logger = logging.getLogger(__name__)
PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

# KEYS[1] the log; ARGV: now, period (seconds), limit, a unique member for this request.
# Returns {accepted (0/1), requests in the window (this one included if accepted), the oldest one's time}.
SLIDING_WINDOW_SCRIPT = """
local now, period, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local count = redis.call('ZCARD', KEYS[1])
local accepted = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  count = count + 1
  accepted = 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000) + 1000)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {accepted, count, oldest[2] or ARGV[1]}
"""

_local_lock = threading.Lock()


def rate_parse(rate: str) -> tuple[int, int]:
    """ "600/minute" -> (600, 60); a malformed rate is a configuration error, named."""
    try:
        count, period = rate.split("/")
        return int(count), PERIODS[period.strip().lower().removesuffix("s")]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"API_RATE_LIMIT must look like 600/minute, not {rate!r}.") from None


@dataclass(frozen=True)
class RateLimitDecision:
    """One request's answer from the limiter, and what its response tells the client."""

    accepted: bool
    limit: int
    period: int
    remaining: int
    reset_after: float  # seconds until the oldest logged request leaves the window (one more is allowed)

    def headers(self) -> dict[str, str]:
        """RateLimit-* headers (IETF httpapi draft): the policy, what is left, and when more is allowed."""
        return {
            "RateLimit-Policy": f"{self.limit};w={self.period}",
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(max(0, math.ceil(self.reset_after))),
        }


def rate_limit_hit(
    *, key: str, limit: int, period: int, now: float, store: BaseCache | None = None
) -> RateLimitDecision:
    """Log one request under `key` if fewer than `limit` were accepted in the `period` seconds before `now`."""
    store = caches["default"] if store is None else store
    if isinstance(store, RedisCache):
        accepted, count, oldest = _redis_hit(store, key=key, limit=limit, period=period, now=now)
    else:
        accepted, count, oldest = _local_hit(store, key=key, limit=limit, period=period, now=now)
    return RateLimitDecision(
        accepted=accepted,
        limit=limit,
        period=period,
        remaining=max(0, limit - count),
        reset_after=max(0.0, oldest + period - now) if count else 0.0,
    )


def _redis_hit(store: RedisCache, *, key: str, limit: int, period: int, now: float) -> tuple[bool, int, float]:
    full_key = store.make_and_validate_key(key)
    script = _sliding_window_script(store)
    member = f"{now!r}:{secrets.token_hex(8)}"  # unique, so two requests at the same instant are both logged
    accepted, count, oldest = script(keys=[full_key], args=[repr(now), period, limit, member])
    return bool(accepted), int(count), float(oldest)


# The script registered on one client per connection pool: Django's Redis cache builds a new client object on
# every call (a few hundred of Python's calls, on every API request); the pool, and so the connections, are its.
_window_scripts: dict[int, Any] = {}


def _sliding_window_script(store: RedisCache) -> Any:
    pool = store._cache._get_connection_pool(True)  # Django's Redis cache exposes no public client or pool
    script = _window_scripts.get(id(pool))
    if script is None or script.registered_client.connection_pool is not pool:
        script = store._cache.get_client(write=True).register_script(SLIDING_WINDOW_SCRIPT)
        _window_scripts[id(pool)] = script
    return script


def _local_hit(store: BaseCache, *, key: str, limit: int, period: int, now: float) -> tuple[bool, int, float]:
    """The same log as an array of times kept sorted; atomic within a process (a local-memory cache's reach)."""
    with _local_lock:
        times = array("d")
        times.frombytes(store.get(key, b""))
        del times[: bisect.bisect_right(times, now - period)]
        accepted = len(times) < limit
        if accepted:
            bisect.insort(times, now)
        store.set(key, times.tobytes(), timeout=period + 1)
    return accepted, len(times), times[0] if times else now


class PartnerRateThrottle(BaseThrottle):
    """`settings.API_RATE_LIMIT` requests in any period-long interval for each partner (or staff user, or
    address); a partner with a rate limit of its own (`Partner.rate_limit`) gets that instead.

    The decision is left on the request as `rate_limit`, for the view to add the RateLimit-* headers.
    """

    clock: Callable[[], float] = staticmethod(time.time)  # tests inject a fake clock here

    def allow_request(self, request: Request, view: Any) -> bool:
        partner = request_partner(request)
        own = partner.rate_limit if partner is not None else ""
        limit, period = rate_parse(own or settings.API_RATE_LIMIT)
        key = f"api-rate:{self._caller(request, partner)}:{period}"
        try:
            decision = rate_limit_hit(key=key, limit=limit, period=period, now=self.clock())
        except Exception:
            logger.exception("rate limit cache unavailable; request allowed")
            return True
        request.rate_limit = decision
        self.wait_seconds = decision.reset_after
        return decision.accepted

    def wait(self) -> float:
        return self.wait_seconds

    def _caller(self, request: Request, partner: Any) -> str:
        if partner is not None:
            return f"partner:{partner.pk}"
        if getattr(request.user, "is_authenticated", False):
            return f"user:{request.user.pk}"
        return f"address:{self.get_ident(request)}"
