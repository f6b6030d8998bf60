"""Operational alerts: undecided applications, queue backlogs, and no live worker (checked from outside)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from lending.models import LoanApplication
from monitoring.models import Alert
from monitoring.services.operations import live_workers, operations_check
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db

NO_QUEUES = dict


def _applications(*, decided: int, undecided: int, minutes_ago: int = 20) -> None:
    submitted = timezone.now() - dt.timedelta(minutes=minutes_ago)
    for _ in range(decided):
        DecisionFactory(application=LoanApplicationFactory(submitted_at=submitted))
    for _ in range(undecided):
        LoanApplicationFactory(submitted_at=submitted)


def test_undecided_applications_beyond_the_allowed_rate_open_a_scoring_alert():
    _applications(decided=18, undecided=4)

    [alert] = operations_check(queue_depths=NO_QUEUES)

    assert alert.rule == Alert.Rule.SCORING_ERRORS
    assert alert.latest == {"submitted": 22, "undecided": 4, "rate": 4 / 22}


def test_applications_still_within_their_grace_period_are_not_counted_as_errors():
    _applications(decided=0, undecided=30, minutes_ago=1)

    assert operations_check(queue_depths=NO_QUEUES) == []


def test_an_undecided_rate_within_the_allowance_raises_nothing():
    _applications(decided=40, undecided=1)

    assert operations_check(queue_depths=NO_QUEUES) == []


def test_a_queue_over_its_backlog_limit_opens_an_alert_for_that_queue(settings):
    settings.MONITORING_QUEUE_BACKLOG = 100

    alerts = operations_check(queue_depths=lambda: {"scoring": 101, "training": 3, "analytics": 100})

    assert [(alert.rule, alert.subject) for alert in alerts] == [(Alert.Rule.QUEUE_BACKLOG, "queue scoring")]


def test_a_broker_that_does_not_answer_is_logged_not_raised():
    def down() -> dict[str, int]:
        raise ConnectionError("no broker")

    assert operations_check(queue_depths=down) == []


def test_no_worker_answering_opens_one_critical_alert_and_sends_it_from_this_process(settings):
    settings.MONITORING_ALERT_EMAILS = ["operations@lender.example"]

    operations_check(queue_depths=NO_QUEUES, workers=list)
    operations_check(queue_depths=NO_QUEUES, workers=list)

    [alert] = Alert.objects.all()
    assert (alert.rule, alert.severity, alert.breaches) == (Alert.Rule.NO_WORKER, "critical", 2)
    assert len(mail.outbox) == 1


def test_a_worker_answering_raises_nothing():
    assert operations_check(queue_depths=NO_QUEUES, workers=lambda: ["worker@host"]) == []


def test_the_command_pings_the_workers_and_exits_1_while_an_operational_alert_is_open(capsys):
    _applications(decided=10, undecided=15)

    with pytest.raises(SystemExit) as exited:
        call_command("check_operations")

    assert exited.value.code == 1
    output = capsys.readouterr().out
    assert "workers answering:" in output
    assert "open: Scoring error rate: 15 of 25 applications" in output


@pytest.mark.integration
def test_a_running_worker_answers_the_ping(celery_worker_process):
    assert any(name.startswith("test-") for name in live_workers())


def test_withdrawn_applications_are_not_errors():
    _applications(decided=18, undecided=0)
    for _ in range(5):
        LoanApplicationFactory(
            submitted_at=timezone.now() - dt.timedelta(minutes=20), status=LoanApplication.Status.WITHDRAWN
        )

    assert operations_check(queue_depths=NO_QUEUES) == []
