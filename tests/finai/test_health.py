"""Operators' probes: /healthz says the process is up, /readyz names the dependency that is down."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from django.db import OperationalError, connection
from django.test import Client

from finai.celery import app as celery_app

# Longest a probe may take when a dependency is down: each part gives up after about two seconds.
PROBE_BUDGET_SECONDS = 6


@pytest.fixture
def broker_at(monkeypatch: pytest.MonkeyPatch):
    """Point the Celery app at another broker for one test; monkeypatch restores the real one."""

    def point(url: str) -> None:
        monkeypatch.setattr(celery_app.conf, "broker_url", url)

    return point


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers, like a hung broker."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def hang_guard() -> Iterator[None]:
    """Fail the test instead of hanging the suite if a probe never returns."""

    def give_up(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("/readyz hung")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(PROBE_BUDGET_SECONDS * 3)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@contextmanager
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every new cursor fails as a lost database would, with an address and password in the message.

    Undone before the test's own transaction is rolled back, which needs a working cursor.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError('connection to server at "10.9.8.7" failed: password=hunter2-db-password')

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        yield


def _timed_get(client: Client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_healthz_says_ok(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_needs_no_database(client: Client) -> None:
    """Without the `db` fixture any query would raise: liveness must not depend on the database."""
    assert client.get("/healthz").status_code == 200


def test_readyz_is_ready_when_database_and_broker_answer(client: Client, db: None) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_names_the_broker_when_it_is_unreachable(client: Client, db: None, broker_at, hang_guard) -> None:
    broker_at("redis://:hunter2-broker-password@127.0.0.1:1/0")

    response, elapsed = _timed_get(client, "/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert elapsed < PROBE_BUDGET_SECONDS


def test_readyz_gives_up_on_a_broker_that_never_answers(
    client: Client, db: None, broker_at, silent_server: int, hang_guard
) -> None:
    broker_at(f"redis://127.0.0.1:{silent_server}/0")

    response, elapsed = _timed_get(client, "/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert elapsed < PROBE_BUDGET_SECONDS


def test_readyz_names_the_database_when_it_is_unreachable(
    client: Client, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_down(monkeypatch):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"] == {"database": "OperationalError", "broker": "ok"}


def test_readyz_reveals_no_address_or_credential(client: Client, db: None, broker_at, monkeypatch) -> None:
    broker_at("redis://finai:hunter2-broker-password@127.0.0.1:1/0")

    with database_down(monkeypatch):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert sorted(response.json()["failing"]) == ["broker", "database"]
    body = response.content.decode()
    for secret in ("hunter2", "10.9.8.7", "127.0.0.1", "redis://", "finai:"):
        assert secret not in body
