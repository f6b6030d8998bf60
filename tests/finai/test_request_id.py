"""The request id: taken from X-Request-ID when safe or made, returned, on every log line, carried into tasks."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from kombu import Connection

from finai.celery import TaskLogContextStep
from finai.logs import json_formatter
from finai.request_id import REQUEST_ID_HEADER, RequestIdMiddleware
from finai.tasks import verify_audit_chain

ROOT = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT_SECONDS = 60
app_logger = logging.getLogger("lending.services.decisions")


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the production formatter writes while the test runs, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        structlog.contextvars.clear_contextvars()


def _through_middleware(view: Callable[[HttpRequest], HttpResponse], **headers: str) -> HttpResponse:
    request = RequestFactory().get("/lending/applications/?search=Jane+Doe", headers=headers)
    return RequestIdMiddleware(view)(request)


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def test_a_request_without_an_id_gets_a_new_one_in_the_response(client) -> None:
    response = client.get("/healthz")

    assert uuid.UUID(response[REQUEST_ID_HEADER]).version == 4


def test_each_request_gets_its_own_id(client) -> None:
    assert client.get("/healthz")[REQUEST_ID_HEADER] != client.get("/healthz")[REQUEST_ID_HEADER]


def test_a_valid_incoming_id_is_returned_as_it_came(client) -> None:
    response = client.get("/healthz", headers={REQUEST_ID_HEADER: "lb-7f3a:0042/req=9"})

    assert response[REQUEST_ID_HEADER] == "lb-7f3a:0042/req=9"


@pytest.mark.parametrize(
    "presented",
    [
        "forged\nlevel=critical event=payout",
        "with space",
        "tab\there",
        "caf\u00e9",
        "x" * 101,
        "",
    ],
    ids=["line break", "space", "tab", "non-ascii", "too long", "empty"],
)
def test_an_unsafe_incoming_id_is_replaced_by_a_new_one(presented: str) -> None:
    response = _through_middleware(_ok, **{REQUEST_ID_HEADER: presented})

    assert uuid.UUID(response[REQUEST_ID_HEADER]).version == 4


def test_an_id_of_exactly_100_characters_is_accepted() -> None:
    assert _through_middleware(_ok, **{REQUEST_ID_HEADER: "a" * 100})[REQUEST_ID_HEADER] == "a" * 100


def test_a_line_logged_during_a_request_carries_its_id(log_lines) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        app_logger.info("Deciding application %s.", 17)
        return HttpResponse("ok")

    response = _through_middleware(view)

    [line] = [line for line in log_lines() if line["logger"] == "lending.services.decisions"]
    assert line["event"] == "Deciding application 17."
    assert line["level"] == "info"
    assert line["request_id"] == response[REQUEST_ID_HEADER]
    assert line["timestamp"]


def test_the_request_is_logged_once_finished_with_status_duration_and_id_but_no_query(client, log_lines) -> None:
    response = client.get("/healthz?search=Jane+Doe", headers={REQUEST_ID_HEADER: "req-1"})

    [line] = [line for line in log_lines() if line["event"] == "request_finished"]
    assert line["request_id"] == "req-1" == response[REQUEST_ID_HEADER]
    assert line["code"] == response.status_code
    assert line["request"] == "GET /healthz"
    assert line["duration_ms"] >= 0
    assert "Jane" not in json.dumps(log_lines())


def test_no_header_or_credential_is_logged(client, db, log_lines) -> None:
    client.get("/metrics", headers={"Authorization": "Bearer s3cret-token", "Cookie": "sessionid=s3cret-session"})

    written = json.dumps(log_lines())
    assert "request_finished" in written
    assert "s3cret" not in written


def test_the_context_is_cleared_after_the_request(log_lines) -> None:
    _through_middleware(_ok)

    app_logger.warning("After the request.")

    [line] = [line for line in log_lines() if line["event"] == "After the request."]
    assert "request_id" not in line


def test_a_task_queued_during_a_request_carries_the_id_in_its_headers() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        verify_audit_chain.apply_async(connection=broker)  # in memory: nothing reaches the run's broker
        return HttpResponse("queued")

    with Connection("memory://") as broker:
        response = _through_middleware(view)
        queue = broker.SimpleQueue("analytics")
        try:
            message = queue.get(timeout=5)
        finally:
            queue.close()

    assert message.headers["task"] == "finai.tasks.verify_audit_chain"
    assert message.headers["__django_structlog__"]["request_id"] == response[REQUEST_ID_HEADER]


def test_a_task_queued_inside_a_worker_is_logged_once_with_the_context(log_lines) -> None:
    step = TaskLogContextStep(None)  # what a worker adds at start; its receivers live as long as it does
    structlog.contextvars.bind_contextvars(request_id="req-of-the-parent", task_id="parent-task")

    with Connection("memory://") as broker:
        verify_audit_chain.apply_async(connection=broker)
        queue = broker.SimpleQueue("analytics")
        try:
            message = queue.get(timeout=5)
        finally:
            queue.close()
    del step

    assert [line["event"] for line in log_lines()].count("task_enqueued") == 1
    context = message.headers["__django_structlog__"]
    assert (context["request_id"], context["parent_task_id"]) == ("req-of-the-parent", "parent-task")


def _worker_log() -> Path:
    # The celery_worker_process fixture writes one log per test database.
    return ROOT / "var" / f"test-worker-{Path(connection.settings_dict['NAME']).stem}.log"


def _worker_lines_with(request_id: str) -> list[dict[str, Any]]:
    lines = []
    for text in _worker_log().read_text().splitlines():
        if request_id in text and text.startswith("{"):
            lines.append(json.loads(text))
    return lines


@pytest.mark.integration
def test_a_real_worker_logs_the_task_with_the_id_of_the_request_that_queued_it(
    celery_worker_process, transactional_db
) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        verify_audit_chain.delay()
        return HttpResponse("queued")

    request_id = f"it-{uuid.uuid4().hex}"
    _through_middleware(view, **{REQUEST_ID_HEADER: request_id})

    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while not any(line["event"] == "task_succeeded" for line in _worker_lines_with(request_id)):
        if time.monotonic() > deadline:
            pytest.fail(f"No task_succeeded line with {request_id} in {_worker_log()}")
        time.sleep(0.2)
    lines = _worker_lines_with(request_id)
    started = next(line for line in lines if line["event"] == "task_started")
    assert started["task"] == "finai.tasks.verify_audit_chain"
    assert {line["task_id"] for line in lines} == {started["task_id"]}
