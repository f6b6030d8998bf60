"""The synchronous decision path (issue 19): few statements, and an audit chain that stays whole under load.

A partner's customer waits on `POST /api/v1/applications/?mode=sync`, so each statement it issues is
latency. The ceiling below fails the build when a change adds lookups back (the path issued 40 before).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from finai.models import AuditChainHead, AuditEvent
from finai.services import audit_event_record, audit_trail_verify
from lending.models import Decision, IdempotencyRecord, LoanApplication
from tests.lending.api.helpers import application_body, submit

# API key, idempotency look-up, champion (twice: the request's rules, the submission), BEGIN, applicant,
# application, 3 per audit event (lock the head, insert, advance the head) for two events, decision, status,
# the response's application, decision and overrides, the idempotency record, COMMIT.
STATEMENTS_CEILING = 21
WRITERS = 8
DECISIONS_PER_WRITER = 6


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_decision_issues_at_most_the_ceiling_of_statements(acme, champion):
    client = Client()
    assert submit(client, acme[1], application_body()).status_code == 201  # loads the model, warms caches

    with CaptureQueriesContext(connection) as queries:
        response = submit(client, acme[1], application_body())

    assert response.status_code == 201, response.content
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= STATEMENTS_CEILING, "\n".join(statements)
    assert not [sql for sql in statements if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    decision = Decision.objects.get(application_id=response.json()["id"], is_shadow=False)
    assert response.json()["decision"]["outcome"] == decision.outcome
    assert AuditEvent.objects.filter(object_id=str(decision.application_id)).count() == 2


class _Failed(Exception):
    pass


def _append_then_roll_back() -> None:
    """A state change that fails after appending its event: the event and the head's advance roll back."""
    try:
        with transaction.atomic():
            audit_event_record(action="test.rolled_back")
            raise _Failed
    except _Failed:
        pass


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_keep_the_audit_chain_gap_free_and_verifiable(acme, champion):
    """Each thread has its own connection and races the others for the chain head: sync decisions (two events
    each, in one transaction) and, between them, a transaction that appends an event and then rolls back."""
    client_key = acme[1]
    submit(Client(), client_key, application_body())  # the first load of the model is not the race
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            client = Client()
            start.wait(timeout=30)
            for _ in range(DECISIONS_PER_WRITER):
                response = submit(client, client_key, application_body())
                assert response.status_code == 201, response.content
                _append_then_roll_back()
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert not failures, failures
    decided = 1 + WRITERS * DECISIONS_PER_WRITER
    assert Decision.objects.filter(is_shadow=False).count() == decided
    assert IdempotencyRecord.objects.count() == decided
    assert LoanApplication.objects.filter(status=LoanApplication.Status.DECIDED).count() == decided
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert AuditChainHead.objects.get().sequence == len(sequences)
    assert AuditEvent.objects.filter(action="decision.made").count() == decided
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    verification = audit_trail_verify()
    assert verification.intact, verification.as_dict()
    assert verification.events_checked == len(sequences)
