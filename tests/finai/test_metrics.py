"""Operators' /metrics: who may scrape, request latency by view, Celery task failures and retries, queue depths read
from the broker, and one scrape summing every process's samples in multi-process mode."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.test import Client
from kombu import Queue

from finai.celery import app as celery_app
from tests.finai.scraping import SCRAPER_TOKEN, scrape

pytestmark = pytest.mark.django_db

ISOLATED_REDIS_DB = 9  # never the database other runs' brokers use; flushed before and after


@celery_app.task(name="tests.finai.test_metrics.always_fails")
def always_fails() -> None:
    raise RuntimeError("the task failed")


@celery_app.task(bind=True, name="tests.finai.test_metrics.retries_once", max_retries=1, default_retry_delay=0)
def retries_once(self) -> str:
    if self.request.retries == 0:
        raise self.retry()
    return "done"


@pytest.fixture
def broker_at(monkeypatch: pytest.MonkeyPatch):
    """Point the Celery app at another broker for one test; monkeypatch restores the real one."""

    def point(url: str, **transport_options: str) -> None:
        monkeypatch.setattr(celery_app.conf, "broker_url", url)
        if transport_options:
            monkeypatch.setitem(celery_app.conf, "broker_transport_options", transport_options)

    return point


@pytest.fixture
def isolated_redis(broker_at) -> Iterator[redis.Redis]:
    """The broker moved to a Redis database of its own, empty, so the test may fill its queues."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis (REDIS_URL); CI always sets it")
    url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{ISOLATED_REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    broker_at(url)
    yield client
    client.flushdb()
    client.close()


def test_a_scrape_is_in_the_prometheus_text_format(client: Client) -> None:
    metrics = scrape(client)

    assert metrics.families["finai_http_request_duration_seconds"] == "histogram"
    assert metrics.families["finai_celery_task_failures"] == "counter"
    assert metrics.families["finai_broker_up"] == "gauge"


def test_a_scrape_without_the_token_is_refused(client: Client, settings) -> None:
    settings.METRICS_TOKEN = SCRAPER_TOKEN

    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"finai_" not in response.content


def test_a_scrape_with_a_wrong_token_is_refused(client: Client, settings) -> None:
    settings.METRICS_TOKEN = SCRAPER_TOKEN

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert response.status_code == 401


def test_without_a_token_metrics_are_refused_when_debug_is_off(client: Client, settings) -> None:
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False

    response = client.get("/metrics")

    assert response.status_code == 403


def test_without_a_token_metrics_are_served_in_development(client: Client, settings) -> None:
    settings.METRICS_TOKEN = ""
    settings.DEBUG = True

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_a_request_to_a_named_view_is_timed_under_the_views_name(client: Client) -> None:
    labels = {"view": "healthz", "method": "GET", "status_class": "2xx"}
    before = scrape(client).value("finai_http_request_duration_seconds_count", **labels)

    client.get("/healthz")

    assert scrape(client).value("finai_http_request_duration_seconds_count", **labels) == before + 1


def test_a_request_that_matches_no_url_is_labelled_unmatched_never_by_its_path(client: Client) -> None:
    labels = {"view": "unmatched", "method": "GET", "status_class": "4xx"}
    before = scrape(client).value("finai_http_request_duration_seconds_count", **labels)

    assert client.get("/no-such-page-8731/").status_code == 404

    after = scrape(client)
    assert after.value("finai_http_request_duration_seconds_count", **labels) == before + 1
    assert not any("8731" in view for view in after.label_values("view"))


def test_a_failing_task_is_counted_by_its_name(client: Client) -> None:
    before = scrape(client).value("finai_celery_task_failures_total", task=always_fails.name)

    always_fails.apply()

    assert scrape(client).value("finai_celery_task_failures_total", task=always_fails.name) == before + 1


def test_a_retried_task_is_counted_by_its_name(client: Client) -> None:
    before = scrape(client).value("finai_celery_task_retries_total", task=retries_once.name)

    assert retries_once.apply().get() == "done"

    assert scrape(client).value("finai_celery_task_retries_total", task=retries_once.name) == before + 1


def test_queue_depth_is_the_number_of_messages_waiting_in_redis(client: Client, isolated_redis: redis.Redis) -> None:
    isolated_redis.rpush("training", *[b"{}"] * 3)
    isolated_redis.rpush("analytics", b"{}")

    metrics = scrape(client)

    assert metrics.value("finai_broker_up") == 1
    assert metrics.value("finai_celery_queue_messages", queue="training") == 3
    assert metrics.value("finai_celery_queue_messages", queue="analytics") == 1
    assert ("finai_celery_queue_messages", frozenset({("queue", "scoring")})) in metrics.samples
    assert metrics.value("finai_celery_queue_messages", queue="scoring") == 0


def test_queue_depth_counts_the_embedded_brokers_waiting_messages(client: Client, broker_at, tmp_path: Path) -> None:
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    broker_at(
        "filesystem://localhost//",
        data_folder_in=str(folders["queue"]),
        data_folder_out=str(folders["queue"]),
        processed_folder=str(folders["processed"]),
        control_folder=str(folders["control"]),
    )
    scoring = Queue("scoring", routing_key="scoring")
    with celery_app.connection_for_write() as broker:
        producer = broker.Producer()
        for number in range(2):
            producer.publish({"number": number}, routing_key="scoring", declare=[scoring])

    metrics = scrape(client)

    assert metrics.value("finai_broker_up") == 1
    assert metrics.value("finai_celery_queue_messages", queue="scoring") == 2
    assert metrics.value("finai_celery_queue_messages", queue="training") == 0


def test_an_unreachable_broker_gives_broker_up_0_and_the_scrape_still_answers(client: Client, broker_at) -> None:
    broker_at("redis://:hunter2-broker-password@127.0.0.1:1/0")

    metrics = scrape(client)  # asserts the 200

    assert metrics.value("finai_broker_up") == 0
    assert "finai_celery_queue_messages" not in metrics.families
    assert "finai_http_request_duration_seconds" in metrics.families


def test_in_multiprocess_mode_a_scrape_sums_every_processs_samples(client: Client, settings, tmp_path: Path) -> None:
    """Two other processes (two gunicorn workers, say) count into the shared folder; the scrape adds them up."""
    count = (
        "from prometheus_client import Counter; "
        "Counter('finai_probe_total', 'Counted by a probe process.', ['queue']).labels(queue='scoring').inc({})"
    )
    for amount in (2, 3):
        subprocess.run(
            [sys.executable, "-c", count.format(amount)],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
            check=True,
            timeout=60,
        )
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)

    metrics = scrape(client)

    assert metrics.value("finai_probe_total", queue="scoring") == 5
    assert "finai_broker_up" in metrics.families  # scrape-time collectors are read in this mode too
