"""Rate limits per partner, counted in the cache (Redis when REDIS_URL is set), 429 with Retry-After."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from lending.api.throttling import rate_parse
from tests.api.helpers import bearer

pytestmark = pytest.mark.django_db


def test_beyond_the_limit_a_partner_gets_429_with_retry_after(client, acme, settings):
    settings.API_RATE_LIMIT = "3/hour"
    statuses = [client.get("/api/v1/applications/", **bearer(acme[1])).status_code for _ in range(4)]
    refused = client.get("/api/v1/applications/", **bearer(acme[1]))

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 3600


def test_each_partner_has_its_own_allowance(client, acme, globex, settings):
    settings.API_RATE_LIMIT = "2/hour"
    for _ in range(3):
        client.get("/api/v1/applications/", **bearer(acme[1]))

    assert client.get("/api/v1/applications/", **bearer(globex[1])).status_code == 200


def test_every_key_of_a_partner_shares_the_partners_allowance(client, acme, settings):
    from lending.services.partners import partner_api_key_issue

    settings.API_RATE_LIMIT = "2/hour"
    second = partner_api_key_issue(partner=acme[0]).secret
    client.get("/api/v1/applications/", **bearer(acme[1]))
    client.get("/api/v1/applications/", **bearer(second))

    assert client.get("/api/v1/applications/", **bearer(second)).status_code == 429


def test_an_unreachable_cache_lets_requests_through(client, acme, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    assert client.get("/api/v1/applications/", **bearer(acme[1])).status_code == 200


@pytest.mark.parametrize(("rate", "parsed"), [("600/minute", (600, 60)), ("5/seconds", (5, 1)), ("1/day", (1, 86400))])
def test_rates_are_read_from_the_setting(rate, parsed):
    assert rate_parse(rate) == parsed


@pytest.mark.parametrize("rate", ["600", "many/minute", "5/fortnight"])
def test_a_malformed_rate_is_a_configuration_error(rate):
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT"):
        rate_parse(rate)
