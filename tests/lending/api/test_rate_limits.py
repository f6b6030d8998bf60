"""Rate limits per partner, counted in the cache (Redis when REDIS_URL is set), 429 with Retry-After."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.api.throttling import rate_parse
from lending.models import Partner
from tests.lending.api.helpers import bearer

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


def test_a_partner_with_its_own_rate_limit_gets_it_and_others_keep_the_setting(client, acme, globex, settings):
    from lending.services.partners import partner_rate_limit_set

    settings.API_RATE_LIMIT = "2/hour"
    partner_rate_limit_set(partner=acme[0], rate="4/hour")
    acme_statuses = [client.get("/api/v1/applications/", **bearer(acme[1])).status_code for _ in range(5)]
    globex_statuses = [client.get("/api/v1/applications/", **bearer(globex[1])).status_code for _ in range(3)]

    assert acme_statuses == [200, 200, 200, 200, 429]
    assert globex_statuses == [200, 200, 429]
    assert AuditEvent.objects.filter(action="partner.rate_limit_set", object_id=str(acme[0].pk)).exists()


@pytest.mark.parametrize("rate", ["600", "0/minute", "5/fortnight", "many/hour"])
def test_a_malformed_partner_rate_limit_is_refused_by_name_and_nothing_changes(acme, rate):
    from lending.services.partners import partner_rate_limit_set

    with pytest.raises(ApplicationError) as refused:
        partner_rate_limit_set(partner=acme[0], rate=rate)

    assert set(refused.value.details) == {"rate_limit"}
    assert Partner.objects.get(pk=acme[0].pk).rate_limit == ""


def test_create_partner_sets_a_rate_limit_and_names_a_bad_one(db):
    call_command(
        "create_partner", "--name", "Initech", "--rate-limit", "6000/minute", stdout=StringIO(), stderr=StringIO()
    )
    assert Partner.objects.get(name="Initech").rate_limit == "6000/minute"

    with pytest.raises(CommandError, match="rate_limit"):
        call_command(
            "create_partner", "--name", "Umbrella", "--rate-limit", "lots", stdout=StringIO(), stderr=StringIO()
        )
    assert not Partner.objects.filter(name="Umbrella").exists()


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
