"""A real Celery worker process takes tasks from every queue; the app is configured as the issue asks.

The worker runs against the test database (committed data: `transactional_db`) and the run's broker:
Redis in CI, the embedded file-system transport elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from finai.celery import app as celery_app
from finai.models import AuditEvent
from finai.services import audit_chain_verify, audit_event_record
from finai.tasks import verify_audit_chain

QUEUES = ("scoring", "training", "analytics")
WORKER_TIMEOUT_SECONDS = 60

Found = TypeVar("Found")


def _wait_for(condition: Callable[[], Found | None], what: str) -> Found:
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"Timed out after {WORKER_TIMEOUT_SECONDS} s waiting for {what}; see var/test-worker-*.log.")


def _verifications() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="audit.chain_verified").order_by("sequence"))


def _at_least_verifications(count: int) -> Callable[[], list[AuditEvent] | None]:
    def check() -> list[AuditEvent] | None:
        events = _verifications()
        return events if len(events) >= count else None

    return check


@pytest.mark.integration
def test_a_worker_verifies_the_audit_chain_and_records_the_outcome(celery_worker_process, transactional_db) -> None:
    for number in range(3):
        audit_event_record(action="test.seeded", object_type="test", object_id=number, payload={"number": number})
    assert audit_chain_verify().events_checked == 3

    verify_audit_chain.delay()

    [event] = _wait_for(_at_least_verifications(1), "the audit.chain_verified event")
    assert event.payload["intact"] is True
    assert event.payload["events_checked"] == 3
    assert event.actor_id is None
    assert event.sequence == 4
    after = audit_chain_verify()
    assert after.intact
    assert after.events_checked == 4


@pytest.mark.integration
def test_the_worker_consumes_each_of_the_three_queues(celery_worker_process, transactional_db) -> None:
    for count, queue in enumerate(QUEUES, start=1):
        verify_audit_chain.apply_async(queue=queue)

        events = _wait_for(_at_least_verifications(count), f"the task sent to queue {queue}")

        assert len(events) == count
    assert [event.payload["events_checked"] for event in _verifications()] == [0, 1, 2]


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("lending.tasks.decide_application", "scoring"),
        ("analytics.tasks.train_model_version", "training"),
        ("analytics.tasks.run_fairness_report", "analytics"),
        ("clustering.tasks.run_experiment", "analytics"),
        ("monitoring.tasks.compute_drift", "analytics"),
        ("finai.tasks.verify_audit_chain", "analytics"),
    ],
)
def test_tasks_are_routed_to_their_workload_queue(task_name: str, queue: str) -> None:
    route = celery_app.amqp.router.route({}, task_name)

    assert route["queue"].name == queue


def test_the_app_declares_the_three_workload_queues() -> None:
    assert sorted(queue.name for queue in celery_app.conf.task_queues) == sorted(QUEUES)
    assert celery_app.conf.task_default_queue in QUEUES


def test_messages_are_json_only() -> None:
    """Pickle would let anyone who can write to the broker run code on the workers."""
    conf = celery_app.conf

    assert list(conf.accept_content) == ["json"]
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"


def test_tasks_are_acknowledged_when_done_and_requeued_when_a_worker_is_lost() -> None:
    """Acknowledged only when done, and re-queued if the worker process is lost: nothing submitted is lost."""
    conf = celery_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_tasks_have_soft_and_hard_time_limits() -> None:
    conf = celery_app.conf

    assert conf.task_soft_time_limit > 0
    assert conf.task_time_limit > conf.task_soft_time_limit


def test_tasks_are_never_run_eagerly() -> None:
    assert celery_app.conf.task_always_eager is False
