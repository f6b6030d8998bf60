"""The database restarted under load: /readyz answers 503 meanwhile, no response is a 500 or shows a stack trace
(the API answers problem+json), and the same web and worker processes recover without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.faults.conftest import wait_until
from tests.lending.api.helpers import application_body

ACCEPTED_UNDECIDED = """SELECT count(*) FROM lending_loanapplication a
    WHERE a.channel = 'api' AND NOT EXISTS (SELECT 1 FROM lending_decision d WHERE d.application_id = a.id)"""
# What a stack trace or a driver's message would show; /readyz naming the error's class is by design.
LEAKS = ("Traceback", 'File "', "psycopg2", "postgres://", "connection to server")


@dataclass(frozen=True)
class Response:
    kind: str
    status: int
    content_type: str
    body: str
    sent: float
    answered: float


class Load:
    """Partners submitting and an orchestrator probing /readyz, in a loop, every response kept."""

    def __init__(self, faulty) -> None:
        self.faulty = faulty
        self.responses: list[Response] = []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(call,)) for call in (self._submit, self._probe)]
        self.number = 0

    def _submit(self) -> tuple[str, int, dict, str]:
        self.number += 1
        body = application_body(applicant={"reference": f"load-{self.number}", "full_name": "Applicant"})
        return ("submit", *self.faulty.api("POST", "/api/v1/applications/?mode=async", body))

    def _probe(self) -> tuple[str, int, dict, str]:
        return ("readyz", *self.faulty.get("/readyz"))

    def _loop(self, call: Callable[[], tuple[str, int, dict, str]]) -> None:
        while not self.stopped.is_set():
            sent = time.monotonic()
            kind, status, headers, body = call()
            self.responses.append(Response(kind, status, headers.get("Content-Type", ""), body, sent, time.monotonic()))
            time.sleep(0.05)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def between(self, start: float, end: float = float("inf"), *, kind: str) -> list[Response]:
        """The responses of `kind` to requests sent after `start` and answered before `end`."""
        return [r for r in self.responses if r.kind == kind and r.sent >= start and r.answered <= end]


def _accepted(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.kind == "submit" and r.status == 202]


def _ready(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.status == 200]


@pytest.mark.integration
def test_a_database_restart_under_load_answers_503_then_web_and_worker_recover_without_a_restart(faulty) -> None:
    faulty.start_web()
    worker = faulty.start_worker()

    with Load(faulty) as load:
        wait_until(lambda: len(load.between(0, kind="submit")) >= 10, "submissions before the restart", 30)
        faulty.postgres.stop()
        stopped = time.monotonic()
        wait_until(lambda: len(load.between(stopped, kind="readyz")) >= 5, "probes during the outage", 30)
        restarting = time.monotonic()
        faulty.postgres.start()
        restarted = time.monotonic()
        wait_until(lambda: _accepted(load.between(restarted, kind="submit")), "a submission accepted", 60)
        wait_until(lambda: _ready(load.between(restarted, kind="readyz")), "/readyz to answer 200", 60)

    assert {r.status for r in load.between(stopped, restarting, kind="readyz")} == {503}
    assert [r.status for r in load.responses if r.status in (0, 500)] == [], "a request failed or answered 500"
    failed_submissions = [r for r in load.responses if r.kind == "submit" and r.status >= 500]
    assert failed_submissions, "no submission met the outage"
    assert {r.content_type for r in failed_submissions} == {"application/problem+json"}
    assert [r.body for r in load.responses if any(leak in r.body for leak in LEAKS)] == [], "internals shown"

    # Everything accepted, before, during or after the outage, is decided by the worker that lived through it.
    wait_until(lambda: faulty.sql(ACCEPTED_UNDECIDED) == [(0,)], "every accepted application to be decided", 60)
    accepted = len(_accepted(load.responses))
    assert faulty.sql("SELECT count(*) FROM lending_loanapplication WHERE channel = 'api'") == [(accepted,)]
    assert worker.poll() is None
    assert faulty.web.poll() is None
