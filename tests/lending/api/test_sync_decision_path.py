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

from analytics.models import ModelVersion
from finai.models import AuditChainHead, AuditEvent
from finai.services import audit_event_record, audit_trail_verify
from lending.models import Decision, IdempotencyRecord, LoanApplication
from tests.lending.api.helpers import application_body, bearer, submit

# API key, champion (once, pinned for the request), BEGIN, applicant, application (stored decided) and its decision
# in one statement, the audit chain's head locked, then the head advanced, the idempotency record and both events
# inserted in one round trip, COMMIT. SQLite takes one statement at a time: the application and the decision are two
# there, and the chain's round trip three. The response is built from the rows just written. (The path issued 40,
# then 21, then 11, then 9.)
STATEMENTS_CEILING = 8
SQLITE_STATEMENTS_CEILING = STATEMENTS_CEILING + 3
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
    ceiling = STATEMENTS_CEILING if connection.vendor == "postgresql" else SQLITE_STATEMENTS_CEILING
    assert len(statements) <= ceiling, "\n".join(statements)
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_answer_built_from_the_rows_just_written_equals_the_stored_record_read_back(acme, champion, mode):
    """The submission's response is not read back from the database: it must say exactly what a later read says
    (amounts, times, reasons and statuses as stored), for decided and waiting applications alike."""
    client = Client()
    bodies = [
        application_body(),
        application_body(loan={"amount": "1169.5", "term_months": 6, "purpose": "radio/television"}),
        application_body(loan={"amount": "18424", "term_months": 48, "purpose": "business"}),
        application_body(applicant={"reference": "cust-7", "full_name": "Ana Ng", "email": "ana@example.com"}),
    ]
    for body in bodies:
        answered = submit(client, acme[1], body, mode=mode)
        assert answered.status_code == (201 if mode == "sync" else 202), answered.content
        read = client.get(answered["Location"], **bearer(acme[1]))
        assert read.status_code == 200
        assert answered.json() == read.json()


@pytest.mark.django_db(transaction=True)
def test_one_shared_output_serializer_renders_what_a_new_one_renders(acme, champion):
    """Answers are rendered by one serializer instance kept by the process; a new serializer per answer, DRF's
    usual way, is the reference, for decided and waiting applications alike."""
    from lending.api.representations import application_data
    from lending.api.selectors import api_application_get
    from lending.api.serializers import ApplicationOutput
    from lending.api.views import _application_body

    client = Client()
    for mode in ("sync", "async"):
        assert submit(client, acme[1], application_body(), mode=mode).status_code in (201, 202)
    applications = LoanApplication.objects.order_by("pk")
    assert {application.status for application in applications} == {"decided", "submitted"}
    for application in applications:
        data = application_data(api_application_get(partner=acme[0], application_id=application.pk))
        assert _application_body(data) == ApplicationOutput(data).data


@pytest.mark.django_db(transaction=True)
def test_a_retry_replays_its_answer_whatever_changed_since_and_a_reused_key_is_named(acme, champion):
    """The key is not looked up before the work: a retry redoes it, which is rolled back and the first answer
    replayed, even with no champion left; a body refused as invalid is checked against the key too."""
    client = Client()
    first = submit(client, acme[1], application_body(), idempotency_key="before-the-change")
    assert first.status_code == 201
    ModelVersion.objects.filter(pk=champion.pk).update(status=ModelVersion.Status.RETIRED)  # no champion now

    again = submit(client, acme[1], application_body(), idempotency_key="before-the-change")
    invalid_reuse = submit(client, acme[1], {"loan": {"amount": "-1"}}, idempotency_key="before-the-change")

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert invalid_reuse.status_code == 422
    assert invalid_reuse.json()["code"] == "idempotency_key_reused"
    assert LoanApplication.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_rules_are_built_once_per_champion_and_again_after_any_change_to_it(acme, champion):
    """A request reuses the rules (and their validator) its champion was read with; a new champion, or any update
    of the champion's row, gives new rules at the next request, with no time-out."""
    from lending.api.features import product_rules

    first = product_rules("consumer_loan")
    if connection.vendor != "postgresql":  # no row version tells a change there: built anew each time, never stale
        assert product_rules("consumer_loan") is not first
        assert product_rules("consumer_loan") == first
        return
    assert product_rules("consumer_loan") is first

    ModelVersion.objects.filter(pk=champion.pk).update(metrics={"changed": True})
    after_change = product_rules("consumer_loan")
    assert after_change is not first
    assert after_change == first  # same champion, same artifact: the same rules, rebuilt

    ModelVersion.objects.filter(pk=champion.pk).update(status=ModelVersion.Status.RETIRED)
    without_champion = product_rules("consumer_loan")  # from the data set's schema now, not kept
    assert without_champion is not product_rules("consumer_loan")
