"""Training and deciding through a real Celery worker: the commands, the queues, idempotent retries."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from analytics.models import ModelVersion
from lending.models import Decision
from lending.services.applications import ApplicantDetails, LoanRequest, loan_application_submit
from lending.services.decisions import application_decide
from lending.tasks import decide_application
from tests.lending.services.test_decisions import RISKY

pytestmark = [pytest.mark.integration]


def _wait_for_decision(application_id: int, timeout: float = 60) -> Decision:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        decision = Decision.objects.filter(application_id=application_id, is_shadow=False).first()
        if decision is not None:
            return decision
        time.sleep(0.2)
    pytest.fail("no decision arrived from the worker; see var/test-worker-*.log")


def test_train_model_waits_for_the_worker_and_prints_the_new_version(
    celery_worker_process, transactional_db, model_manager
):
    call_command("load_german_credit", stdout=StringIO())
    out = StringIO()

    call_command(
        "train_model",
        "--dataset",
        "german_credit",
        "--family",
        "scorecard",
        "--seed",
        "0",
        "--wait",
        "--user",
        model_manager.username,
        stdout=out,
        stderr=StringIO(),
    )

    summary = json.loads(out.getvalue())
    version = ModelVersion.objects.get(pk=summary["id"])
    assert summary["status"] == version.status == "candidate"
    assert summary["metrics"]["auc"] == pytest.approx(version.metrics["auc"])
    assert summary["metrics"]["auc"] > 0.7
    assert version.progress == 100
    assert version.trained_by == model_manager


def test_a_queued_application_is_decided_by_the_worker_once_even_if_the_task_repeats(
    celery_worker_process, transactional_db, champion, loan_officer
):
    application = loan_application_submit(
        applicant=ApplicantDetails(full_name="Queued Applicant"),
        request=LoanRequest(amount=Decimal("9000"), term_months=48, purpose="car (used)", features=RISKY),
        submitted_by=loan_officer,
    )

    decision = _wait_for_decision(application.pk)
    decide_application.delay(application.pk)
    decide_application.delay(application.pk)
    time.sleep(2)

    assert decision.model_version == champion
    assert Decision.objects.filter(application=application, is_shadow=False).count() == 1


def test_concurrent_deliveries_of_one_decision_make_exactly_one(transactional_db, champion, loan_officer):
    application = loan_application_submit(
        applicant=ApplicantDetails(full_name="Raced Applicant"),
        request=LoanRequest(amount=Decimal("9000"), term_months=48, purpose="car (used)", features=RISKY),
        submitted_by=loan_officer,
        decide="none",
    )
    results, errors, barrier = [], [], threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        try:
            results.append(application_decide(application_id=application.pk).pk)
        except Exception as exc:  # reported below, with the type, so a failure says what happened
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 4
    assert len(set(results)) == 1
    assert Decision.objects.filter(application=application).count() == 1
