"""The API's edges: unknown paths and wrong methods answer problem documents for every method, list parameters
are validated, and the rate limit is a sliding window that holds across window boundaries."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.urls import URLPattern, URLResolver, resolve

from finai import urls as project_urls
from lending.api.throttling import PartnerRateThrottle, rate_limit_hit
from lending.api.views import not_found
from tests.lending.api.helpers import bearer

METHODS = ["get", "head", "post", "put", "patch", "delete", "options"]
PROBLEM = "application/problem+json"


class FakeClock:
    """The throttle's time, moved by the test: no sleeps, and boundaries hit exactly."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(PartnerRateThrottle, "clock", staticmethod(fake))
    return fake


@pytest.fixture
def csrf_client() -> Client:
    """A browser-like client: Django's CSRF check on, as in production (the default test client skips it)."""
    return Client(enforce_csrf_checks=True)


def _max_in_any_window(times: Iterable[float], period: float) -> int:
    """The most of `times` in any half-open interval [t, t + period)."""
    ordered, most, start = sorted(times), 0, 0
    for end, time in enumerate(ordered):
        while ordered[start] <= time - period:
            start += 1
        most = max(most, end - start + 1)
    return most


# Unknown paths and wrong methods -------------------------------------------------------------------------

UNKNOWN_PATHS = [
    "/api/v1/nothing-here/",
    "/api/v1/applications",  # no trailing slash
    "/api/v1/applications/1/extra/",
    "/api/v1/screening/nothing-here/",
    "/api/v2/applications/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_api_path_answers_a_404_problem_for_every_method(csrf_client, method, path):
    response = getattr(csrf_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    if method != "head":
        assert response.json()["code"] == "not_found"
        assert response.json()["instance"] == path


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unknown_api_path_answers_404_not_a_csrf_page_to_a_signed_in_browser(csrf_client, loan_officer, method):
    csrf_client.force_login(loan_officer)

    response = getattr(csrf_client, method)("/api/v1/nothing-here/", {"a": 1}, content_type="application/json")

    assert (response.status_code, response["Content-Type"]) == (404, PROBLEM)
    assert b"<html" not in response.content.lower()


WRONG_METHODS = [
    ("/api/v1/applications/", "put", "GET, POST, HEAD, OPTIONS"),
    ("/api/v1/applications/", "patch", "GET, POST, HEAD, OPTIONS"),
    ("/api/v1/applications/", "delete", "GET, POST, HEAD, OPTIONS"),
    ("/api/v1/applications/1/", "post", "GET, HEAD, OPTIONS"),
    ("/api/v1/applications/1/", "put", "GET, HEAD, OPTIONS"),
    ("/api/v1/applications/1/", "delete", "GET, HEAD, OPTIONS"),
    ("/api/v1/batches/", "delete", "GET, POST, HEAD, OPTIONS"),
    ("/api/v1/batches/1/", "patch", "GET, HEAD, OPTIONS"),
    ("/api/v1/batches/1/results/", "post", "GET, HEAD, OPTIONS"),
    ("/api/v1/loans/1/outcomes/", "get", "POST, OPTIONS"),
    ("/api/v1/loans/1/outcomes/", "put", "POST, OPTIONS"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method", "allowed"), WRONG_METHODS)
def test_a_known_path_answers_a_wrong_method_with_a_405_problem_and_allow(csrf_client, acme, path, method, allowed):
    response = getattr(csrf_client, method)(path, **bearer(acme[1]))

    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == set(allowed.split(", "))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/docs.js", "/api/schema/"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_documentation_answers_a_wrong_method_with_a_405_problem_not_a_csrf_page(csrf_client, path, method):
    response = getattr(csrf_client, method)(path)

    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "method_not_allowed"
    assert {"GET", "HEAD"} <= set(response["Allow"].split(", "))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/docs.js", "/api/schema/"])
def test_the_documentation_still_reads_and_answers_options_with_what_it_allows(client, path):
    options = client.options(path)

    assert client.get(path).status_code == 200
    assert options.status_code in (200, 204)
    assert {"GET", "HEAD", "OPTIONS"} <= set(options["Allow"].split(", "))


def _routes(patterns: list, prefix: str = "") -> Iterable[tuple[str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route, pattern


def test_no_api_module_is_mounted_behind_the_catch_all():
    """The loan API's include ends in a catch-all for /api/...: another API module after it would never answer."""
    top_routes = [str(pattern.pattern) for pattern in project_urls.urlpatterns]
    after_catch_all = top_routes[top_routes.index("api/") + 1 :]

    assert [route for route in after_catch_all if route.startswith("api")] == []


def test_every_api_route_of_another_module_reaches_its_own_view():
    """Screening's operations (api/v1/screening/) are matched before the catch-all would answer 404."""
    others = [
        route
        for pattern in project_urls.urlpatterns
        if isinstance(pattern, URLResolver) and str(pattern.pattern).startswith("api/v1/")
        for route, _ in _routes(pattern.url_patterns, str(pattern.pattern))
        if "<" not in route and "^" not in route
    ]
    for route in others:
        assert resolve(f"/{route}").func is not not_found, route


# List parameters ------------------------------------------------------------------------------------------

LISTS = ["/api/v1/applications/", "/api/v1/batches/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("page_size", ["-1", "0", "abc", "101", "1.5", "", " 5", "1e2", "+5", "\u0663"])
def test_a_page_size_outside_1_to_100_is_refused_by_name(client, acme, url, page_size):
    response = client.get(url, {"page_size": page_size}, **bearer(acme[1]))

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == ["page_size"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("page_size", ["1", "50", "100"])
def test_a_page_size_from_1_to_100_is_accepted(client, acme, url, page_size):
    assert client.get(url, {"page_size": page_size}, **bearer(acme[1])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("cursor", ["", "abc", "cD0tMQ==", "bz0xMDA7cD1hYmM="])
def test_a_cursor_the_api_did_not_issue_is_refused_by_name(client, acme, url, cursor):
    response = client.get(url, {"cursor": cursor}, **bearer(acme[1]))

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["cursor"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("query", ["pagesize=-1", "limit=10", "page=2", "offset=5"])
def test_a_list_refuses_a_parameter_it_does_not_know_by_name(client, acme, url, query):
    response = client.get(f"{url}?{query}", **bearer(acme[1]))

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [query.split("=")[0]]


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_list_refuses_a_page_size_given_twice_rather_than_picking_one(client, acme, url):
    response = client.get(f"{url}?page_size=-1&page_size=5", **bearer(acme[1]))

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["page_size"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [("status=bogus", "status"), ("submitted_from=yesterday", "submitted_from"), ("outcome=1&outcome=2", "outcome")],
)
def test_an_invalid_application_filter_is_refused_by_name(client, acme, query, field):
    response = client.get(f"/api/v1/applications/?{query}", **bearer(acme[1]))

    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.django_db
def test_a_cursor_from_a_next_link_still_pages(client, acme):
    from tests.lending.api.helpers import application_body, submit

    for _ in range(3):
        submit(client, acme[1], application_body(), mode="async")

    first = client.get("/api/v1/applications/?page_size=2", **bearer(acme[1])).json()
    second = client.get(first["next"], **bearer(acme[1]))

    assert len(first["results"]) == 2
    assert second.status_code == 200
    assert len(second.json()["results"]) == 1


# Rate limit: a sliding window ------------------------------------------------------------------------------


def _locmem() -> LocMemCache:
    return LocMemCache(f"edges-{uuid.uuid4().hex}", {})


def _redis() -> RedisCache:
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis (REDIS_URL); CI always sets it")
    return RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": f"test-edges-{uuid.uuid4().hex}"})


STORES = {"local memory": _locmem, "redis": _redis}


def _boundary_bursts(limit: int, period: int, windows: int) -> list[float]:
    """Twice the limit around every fixed-window boundary (the fixed window's worst case), and a steady
    trickle at three times the limit between them."""
    times = []
    for window in range(1, windows + 1):
        boundary = window * period
        times += [boundary - 1 + index / limit for index in range(limit)]  # the second before the boundary
        times += [boundary + index / limit for index in range(limit)]  # the second after it
        times += [boundary - period + step * period / (3 * limit) for step in range(3 * limit)]
    return sorted(times)


@pytest.mark.parametrize("store", STORES.values(), ids=STORES.keys())
def test_the_limit_holds_in_every_window_long_interval_across_boundaries(store):
    cache, limit, period, start = store(), 20, 60, 1_000_000 * 60
    accepted = [
        start + offset
        for offset in _boundary_bursts(limit, period, windows=5)
        if rate_limit_hit(key="burst", limit=limit, period=period, now=start + offset, store=cache).accepted
    ]

    # Stricter than the 10% tolerance asked for: a sliding log never lets more than the limit through.
    assert _max_in_any_window(accepted, period) <= limit
    # ...and it is not refusing everything: over five overloaded windows about the limit gets through each.
    assert len(accepted) >= 5 * limit * 0.9


@pytest.mark.parametrize("store", STORES.values(), ids=STORES.keys())
def test_a_refused_client_is_let_in_as_soon_as_the_oldest_request_leaves_the_window(store):
    cache = store()
    for now in (0.0, 10.0, 20.0):
        assert rate_limit_hit(key="k", limit=3, period=60, now=now, store=cache).accepted

    refused = rate_limit_hit(key="k", limit=3, period=60, now=30.0, store=cache)
    assert (refused.accepted, refused.remaining, refused.reset_after) == (False, 0, 30.0)
    assert not rate_limit_hit(key="k", limit=3, period=60, now=59.9, store=cache).accepted
    assert rate_limit_hit(key="k", limit=3, period=60, now=60.0, store=cache).accepted
    assert not rate_limit_hit(key="k", limit=3, period=60, now=60.0, store=cache).accepted


@pytest.mark.parametrize("store", STORES.values(), ids=STORES.keys())
def test_concurrent_requests_from_many_threads_never_exceed_the_limit(store):
    cache, limit, threads, each = store(), 50, 8, 25
    start = threading.Barrier(threads)
    accepted: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        start.wait()
        for _ in range(each):
            decision = rate_limit_hit(key="shared", limit=limit, period=3600, now=1_000_000.0, store=cache)
            with lock:
                accepted.append(decision.accepted)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(accepted) == threads * each
    assert sum(accepted) == limit


@pytest.mark.django_db
def test_a_burst_over_http_across_a_window_boundary_gets_at_most_the_limit(client, acme, settings, clock):
    settings.API_RATE_LIMIT = "10/minute"
    boundary = (int(clock.now) // 60 + 1) * 60  # where a fixed window would reset its count
    accepted = []
    for offset in [-1 + index / 20 for index in range(20)] + [index / 20 for index in range(20)]:
        clock.now = boundary + offset
        if client.get("/api/v1/applications/", **bearer(acme[1])).status_code == 200:
            accepted.append(clock.now)

    assert len(accepted) == 10  # a fixed window let 20 through: 10 each side of the boundary
    assert _max_in_any_window(accepted, 60) <= 10


@pytest.mark.django_db
def test_every_answer_carries_the_rate_limit_headers(client, acme, settings, clock):
    settings.API_RATE_LIMIT = "3/minute"

    first = client.get("/api/v1/applications/", **bearer(acme[1]))
    clock.now += 15
    second = client.get("/api/v1/applications/", **bearer(acme[1]))

    assert first["RateLimit-Policy"] == "3;w=60"
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"], first["RateLimit-Reset"]) == ("3", "2", "60")
    assert (second["RateLimit-Remaining"], second["RateLimit-Reset"]) == ("1", "45")


@pytest.mark.django_db
def test_a_refusal_says_when_to_retry_and_the_retry_then_succeeds(client, acme, settings, clock):
    settings.API_RATE_LIMIT = "2/minute"
    client.get("/api/v1/applications/", **bearer(acme[1]))
    clock.now += 20
    client.get("/api/v1/applications/", **bearer(acme[1]))
    clock.now += 10

    refused = client.get("/api/v1/applications/", **bearer(acme[1]))
    clock.now += int(refused["Retry-After"])
    retried = client.get("/api/v1/applications/", **bearer(acme[1]))

    assert refused.status_code == 429
    assert refused["Content-Type"] == PROBLEM
    assert (refused["Retry-After"], refused["RateLimit-Remaining"]) == ("30", "0")
    assert retried.status_code == 200


@pytest.mark.django_db
def test_the_schema_documents_the_rate_limit_headers_on_every_operation(client):
    schema = client.get("/api/schema/?format=json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                assert "RateLimit-Remaining" in response.get("headers", {}), (method, path, status)
