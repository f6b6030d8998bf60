"""Twenty simultaneous identical requests with one Idempotency-Key: one application, one answer.

Real threads, each with its own database connection, against committed data (transactional_db), so
the race is decided by the database exactly as between web processes.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from finai.models import AuditEvent
from lending.models import Decision, IdempotencyRecord, LoanApplication
from tests.lending.api.helpers import application_body, submit

CALLERS = 20


def race(key: str, *, mode: str) -> list[tuple[int, dict, str]]:
    barrier = threading.Barrier(CALLERS)
    answers: list[tuple[int, dict, str]] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait(timeout=30)
            response = submit(Client(), key, application_body(), idempotency_key="one-key", mode=mode)
            answers.append((response.status_code, response.json(), response["Location"]))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return answers


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("mode", "status"), [("sync", 201), ("async", 202)])
def test_simultaneous_retries_create_one_application_and_all_get_the_same_answer(
    acme, champion, eager_celery, mode, status
):
    answers = race(acme[1], mode=mode)

    assert len(answers) == CALLERS
    assert {answer[0] for answer in answers} == {status}
    assert all(answer[1] == answers[0][1] for answer in answers)
    assert len({answer[2] for answer in answers}) == 1
    assert LoanApplication.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert AuditEvent.objects.filter(action="application.submitted").count() == 1
    assert Decision.objects.filter(is_shadow=False).count() == 1
