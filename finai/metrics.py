"""Operator metrics in the Prometheus text format: the instruments every process shares and the `/metrics` view.

Counters and histograms live in prometheus-client's default registry. Under gunicorn with several workers, or
with Celery workers on the same host, set PROMETHEUS_MULTIPROC_DIR: each process then writes its samples to
files there and a scrape sums them (`MultiProcessCollector`), whichever worker answers it.

Values that belong to no process (queue depths, open alerts) are read at scrape time by collectors. An app
adds its own with `scrape_collector_register` from its `AppConfig.ready()`, so this module imports no app.
The endpoint is for scrapers and never answers 5xx: a collector whose source is down says so in a metric
(`finai_broker_up 0`) or leaves its metric out, and logs the reason.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from celery.signals import task_failure, task_retry
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from finai.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2
# Request methods outside this set share one label value, so a client cannot mint new series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request that matched no URL pattern (a 404, or a redirect before routing) is labelled by this, never its path.
UNMATCHED_VIEW = "unmatched"

REQUEST_DURATION = Histogram(
    "finai_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL name (or route), method and status class.",
    ["view", "method", "status_class"],
)
TASK_FAILURES = Counter("finai_celery_task_failures_total", "Celery tasks that raised, by task name.", ["task"])
TASK_RETRIES = Counter(
    "finai_celery_task_retries_total", "Celery tasks that asked to be retried, by task name.", ["task"]
)

_scrape_collectors: dict[str, Collector] = {}


def scrape_collector_register(name: str, collector: Collector) -> None:
    """Add a collector read at every scrape (registering a name again replaces it, so `ready()` may rerun)."""
    _scrape_collectors[name] = collector


# --- HTTP requests ---------------------------------------------------------------------------------------


def _view_label(request: HttpRequest) -> str:
    """The URL's name (`monitoring:fairness_dashboard`), else its route pattern; never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_VIEW
    return match.view_name or match.route or UNMATCHED_VIEW


class RequestMetricsMiddleware:
    """Times every request; first in MIDDLEWARE so the time includes the other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUEST_DURATION.labels(
            view=_view_label(request), method=method, status_class=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response


# --- Celery tasks: counted in whichever process runs them ---------------------------------------------------


def _task_name(sender: Any) -> str:
    return getattr(sender, "name", None) or "unknown"


@task_failure.connect(weak=False, dispatch_uid="finai_metrics_task_failure")
def _count_task_failure(sender: Any = None, **kwargs: Any) -> None:
    TASK_FAILURES.labels(task=_task_name(sender)).inc()


@task_retry.connect(weak=False, dispatch_uid="finai_metrics_task_retry")
def _count_task_retry(sender: Any = None, **kwargs: Any) -> None:
    TASK_RETRIES.labels(task=_task_name(sender)).inc()


# --- The broker's queues, read at scrape time -------------------------------------------------------------


def celery_queue_names() -> list[str]:
    return [queue.name for queue in celery_app.conf.task_queues]


def celery_queue_depths() -> dict[str, int]:
    """Messages waiting in each queue, from the broker itself: Redis list lengths (every priority), or the
    embedded broker's message files. Connects once, without retries; raises when the broker does not answer."""
    timeouts = {"socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    with celery_app.connection_for_read(connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=timeouts) as broker:
        broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        channel = broker.default_channel
        return {name: channel.queue_declare(queue=name).message_count for name in celery_queue_names()}


class CeleryQueueCollector:
    """`finai_celery_queue_messages` per queue and `finai_broker_up`; a broker that is down gives 0, not an error."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("finai_broker_up", "1 when the Celery broker answered this scrape, else 0.")
        try:
            depths = celery_queue_depths()
        except Exception:
            logger.warning("Metrics: the broker is unreachable.", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        waiting = GaugeMetricFamily(
            "finai_celery_queue_messages", "Messages waiting in a Celery queue for a worker.", labels=["queue"]
        )
        for name, count in depths.items():
            waiting.add_metric([name], count)
        up.add_metric([], 1)
        yield waiting
        yield up


scrape_collector_register("celery_queues", CeleryQueueCollector())


# --- The endpoint ------------------------------------------------------------------------------------------


def scrape_registry() -> CollectorRegistry:
    """What one scrape reads: every process's files in multi-process mode, else this process's registry;
    then the scrape-time collectors."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)
    for collector in _scrape_collectors.values():
        registry.register(collector)
    return registry


def _scrape_refusal(request: HttpRequest) -> HttpResponse | None:
    """With METRICS_TOKEN set, only `Authorization: Bearer <token>`; without it, only in DEBUG (development)."""
    token = settings.METRICS_TOKEN
    if not token:
        if settings.DEBUG:
            return None
        return HttpResponse("Metrics are off: set METRICS_TOKEN.\n", status=403, content_type="text/plain")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secrets.compare_digest(presented.strip().encode(), token.encode()):
        return None
    refusal = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
    refusal["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return refusal


@require_GET
@never_cache
def scrape(request: HttpRequest) -> HttpResponse:
    """Every metric in the Prometheus text format, for operators' scrapers."""
    refusal = _scrape_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
