"""Rate limits per partner: a fixed-window counter in the cache (Redis when REDIS_URL is set).

The counter is one atomic increment per request, so every web process shares the same count; if the
cache is unreachable the request is let through and logged, because a rate limiter must not take the
API down with it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from lending.api.permissions import request_partner

logger = logging.getLogger(__name__)
PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """ "600/minute" -> (600, 60); a malformed rate is a configuration error, named."""
    try:
        count, period = rate.split("/")
        return int(count), PERIODS[period.strip().lower().removesuffix("s")]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"API_RATE_LIMIT must look like 600/minute, not {rate!r}.") from None


class PartnerRateThrottle(BaseThrottle):
    """`settings.API_RATE_LIMIT` requests per window for each partner (or staff user, or address); a partner
    with a rate limit of its own (`Partner.rate_limit`) gets that instead."""

    def allow_request(self, request: Request, view: Any) -> bool:
        partner = request_partner(request)
        own = partner.rate_limit if partner is not None else ""
        limit, period = rate_parse(own or settings.API_RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        self.wait_seconds = (window + 1) * period - now
        key = f"api-throttle:{self._caller(request, partner)}:{period}:{window}"
        try:
            cache.add(key, 0, timeout=period + 1)
            count = cache.incr(key)
        except ValueError:  # the window's key expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        except Exception:
            logger.exception("rate limit cache unavailable; request allowed")
            return True
        return count <= limit

    def wait(self) -> float:
        return self.wait_seconds

    def _caller(self, request: Request, partner: Any) -> str:
        if partner is not None:
            return f"partner:{partner.pk}"
        if getattr(request.user, "is_authenticated", False):
            return f"user:{request.user.pk}"
        return f"address:{self.get_ident(request)}"
