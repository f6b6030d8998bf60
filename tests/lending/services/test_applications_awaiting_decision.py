"""The sweeper's choice: applications whose decision task never reached the broker are queued at once; those whose
task may still wait in the queue are left alone until it could only have been lost."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from lending.models import LoanApplication
from lending.services.decisions import (
    DECISION_REQUEUE_AFTER_SECONDS,
    DECISION_UNQUEUED_GRACE_SECONDS,
    applications_awaiting_decision,
)
from lending.tasks import decide_application, decide_waiting_applications
from tests.factories import LoanApplicationFactory


def _ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_an_application_whose_task_never_reached_the_broker_is_swept_soon(db) -> None:
    application = LoanApplicationFactory(submitted_at=_ago(DECISION_UNQUEUED_GRACE_SECONDS + 5))

    assert applications_awaiting_decision() == [application.pk]


def test_an_application_just_submitted_is_left_to_its_own_publish(db) -> None:
    LoanApplicationFactory(submitted_at=_ago(1))

    assert applications_awaiting_decision() == []


def test_an_application_whose_task_is_still_queued_is_not_queued_twice(db) -> None:
    LoanApplicationFactory(submitted_at=_ago(300), decision_queued_at=_ago(240))

    assert applications_awaiting_decision() == []


def test_an_application_queued_long_ago_and_still_undecided_is_queued_again(db) -> None:
    application = LoanApplicationFactory(
        submitted_at=_ago(DECISION_REQUEUE_AFTER_SECONDS + 60),
        decision_queued_at=_ago(DECISION_REQUEUE_AFTER_SECONDS + 5),
    )

    assert applications_awaiting_decision() == [application.pk]


def test_publishing_a_decision_task_records_when_it_was_queued(db) -> None:
    application = LoanApplicationFactory(submitted_at=_ago(60))

    # A queue no worker consumes: the publish is real, the task never runs.
    decide_application.apply_async((application.pk,), queue="test-unconsumed")
    with decide_application.app.connection_for_write() as broker:
        broker.default_channel.queue_purge("test-unconsumed")

    application.refresh_from_db()
    assert timezone.now() - application.decision_queued_at < timedelta(seconds=10)


def test_the_sweeper_queues_a_waiting_application_once_not_at_every_run(db) -> None:
    application = LoanApplicationFactory(submitted_at=_ago(60))

    assert decide_waiting_applications() == {"queued": 1}
    assert decide_waiting_applications() == {"queued": 0}
    assert LoanApplication.objects.get(pk=application.pk).decision_queued_at is not None
