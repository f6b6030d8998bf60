"""The policy lab: a candidate model and/or new cut-offs replayed over a period of stored decisions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from fairlearn.metrics import MetricFrame, selection_rate

from analytics.engine.decision_comparison import OUTCOMES, decisions_replay
from analytics.engine.fairness import FairnessConfig, fairness_report_compute
from analytics.models import PromotionRequest
from analytics.services.registry import promotion_request
from analytics.services.serving import decision_replay, scorer_for_version
from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import Decision, Loan, Override, RepaymentOutcome
from monitoring.models import Backtest
from monitoring.services.backtests import (
    backtest_attach,
    backtest_request,
    backtest_rows,
    backtest_run,
)
from tests.monitoring.lab_records import challenger_train, german_decisions_record

pytestmark = pytest.mark.django_db

TOLERANCE = 1e-9


@pytest.fixture
def decided_at() -> dt.datetime:
    """Fifteen months ago: the approvals' loans have all met or passed their twelve-month horizon."""
    return timezone.now().replace(microsecond=0) - dt.timedelta(days=460)


@pytest.fixture
def lab(champion, decided_at) -> list[Decision]:
    return german_decisions_record(champion=champion, decided_at=decided_at)


@pytest.fixture
def period(decided_at) -> dict:
    day = timezone.localtime(decided_at).date()
    return {"first_day": day - dt.timedelta(days=1), "last_day": day + dt.timedelta(days=1)}


def _run(**request) -> Backtest:
    backtest = backtest_request(queue=False, product="consumer_loan", **request)
    return backtest_run(backtest_id=backtest.pk)


def test_the_champion_under_its_own_policy_reproduces_every_stored_outcome(champion, lab, period, model_manager):
    backtest = _run(candidate=champion, requested_by=model_manager, **period)

    assert backtest.status == Backtest.Status.DONE, backtest.failure
    reproduction = backtest.results["reproduction"]
    comparison = backtest.results["comparison"]
    assert reproduction["decisions"] == len(lab) >= 1000
    assert reproduction["outcome_differences"] == 0
    assert reproduction["max_probability_difference"] < 1e-12
    assert (comparison["swap_in"]["applications"], comparison["swap_out"]["applications"]) == (0, 0)
    off_diagonal = [
        count for i, row in enumerate(comparison["transitions"]) for j, count in enumerate(row["candidate"]) if i != j
    ]
    assert off_diagonal == [0] * 6


def test_a_stricter_cut_off_lowers_the_approval_rate_by_exactly_the_swapped_applications(
    champion, lab, period, model_manager
):
    backtest = _run(
        approve_below=0.15, decline_from=0.5, policy_version="lab-stricter", requested_by=model_manager, **period
    )

    comparison = backtest.results["comparison"]
    swapped_out = sum(1 for d in lab if d.outcome == Decision.Outcome.APPROVE and d.probability_of_default >= 0.15)
    assert comparison["swap_in"]["applications"] == 0
    assert comparison["swap_out"]["applications"] == swapped_out > 0
    assert comparison["baseline"]["approved"] - comparison["candidate"]["approved"] == swapped_out
    assert comparison["approval_rate_change"]["value"] == pytest.approx(-swapped_out / len(lab), abs=TOLERANCE)


def test_the_batch_replay_of_the_stored_vectors_equals_decision_replay_one_by_one(champion, lab, period, model_manager):
    backtest = backtest_request(
        queue=False, product="consumer_loan", candidate=champion, requested_by=model_manager, **period
    )
    scorer = scorer_for_version(champion)
    text = frozenset(f.name for f in scorer.model.spec.features if f.kind != "numeric")
    frame = backtest_rows(backtest=backtest, inputs=scorer.names, text_inputs=text)

    replay = decisions_replay(model=scorer.model, policy=champion.policy, features=frame[list(scorer.names)])

    by_application = {d.application_id: d for d in lab}
    one_by_one = [
        decision_replay(
            version=champion,
            feature_vector=by_application[application].feature_vector,
            policy_version=by_application[application].policy_version,
        )
        for application in frame["application_id"]
    ]
    assert len(one_by_one) == len(lab)
    assert np.abs(replay.probabilities - [d.probability_of_default for d in one_by_one]).max() < 1e-12
    assert [OUTCOMES[code] for code in replay.outcomes] == [d.outcome.value for d in one_by_one]


def test_bad_rates_are_realised_on_funded_loans_and_the_declined_are_bounded(champion, lab, period, model_manager):
    backtest = _run(
        approve_below=0.35, decline_from=0.5, policy_version="lab-looser", requested_by=model_manager, **period
    )

    comparison = backtest.results["comparison"]
    approvals = comparison["baseline"]["approvals"]
    approved = [d for d in lab if d.outcome == Decision.Outcome.APPROVE]
    loans = Loan.objects.filter(application__decisions__in=approved)
    defaults = RepaymentOutcome.objects.filter(loan__in=loans, status=RepaymentOutcome.Status.DEFAULTED).count()
    assert approvals["with_outcome"] == loans.count()
    assert approvals["never_observed"] == len(approved) - loans.count() > 0  # approved, not taken up
    assert approvals["realised_bad_rate"]["value"] == pytest.approx(defaults / loans.count(), abs=TOLERANCE)
    swap_in = comparison["swap_in"]
    assert swap_in["applications"] > 0
    assert swap_in["performance"]["with_outcome"] == 0  # nobody the baseline declined has an outcome
    assert (swap_in["performance"]["bound_low"], swap_in["performance"]["bound_high"]) == (0.0, 1.0)
    coverage = comparison["coverage"]
    assert coverage["share_with_outcome"] == pytest.approx(loans.count() / len(lab), abs=TOLERANCE)


def test_group_figures_equal_the_fairness_engine_and_fairlearn_on_the_same_rows(champion, lab, period, model_manager):
    backtest = _run(
        approve_below=0.15, decline_from=0.5, policy_version="lab-stricter", requested_by=model_manager, **period
    )

    groups = backtest.results["comparison"]["groups"]
    rows = Decision.objects.filter(pk__in=[d.pk for d in lab]).order_by("pk")
    sex = pd.Series(rows.values_list("application__applicant__protected_attributes__sex", flat=True), dtype=object)
    probability = np.array(rows.values_list("probability_of_default", flat=True))
    stored = np.array(rows.values_list("outcome", flat=True)) == "approve"
    for side, approved in (("baseline", stored), ("candidate", stored & (probability < 0.15))):
        by_group = MetricFrame(
            metrics=selection_rate, y_true=approved, y_pred=approved.astype(int), sensitive_features=sex
        ).by_group
        engine = fairness_report_compute(
            approved=approved.astype(int),
            protected=pd.DataFrame({"sex": sex}),
            config=FairnessConfig(bootstrap_resamples=10),
        ).attribute("sex")
        figures = {g["group"]: g for g in groups if g["attribute"] == "sex"}
        assert set(figures) == set(by_group.index)
        for label, rate in by_group.items():
            assert figures[label][f"{side}_approval_rate"]["value"] == pytest.approx(rate, abs=TOLERANCE)
            assert figures[label][f"{side}_adverse_impact_ratio"]["value"] == pytest.approx(
                engine.group(label).adverse_impact_ratio_vs_most_favoured.value, abs=TOLERANCE
            )


def test_a_candidate_version_is_replayed_against_the_decisions_made(champion, lab, period, model_manager):
    candidate = challenger_train(requested_by=model_manager)

    backtest = _run(candidate=candidate, requested_by=model_manager, **period)

    assert backtest.status == Backtest.Status.DONE, backtest.failure
    results = backtest.results
    assert results["candidate"]["version"] == candidate.pk
    assert results["reproduction"]["decisions"] == 0  # none of the period's decisions was its own
    assert results["comparison"]["applications"] == len(lab)
    assert results["comparison"]["candidate"]["discrimination"]["auc"]["value"] is not None
    assert results["baseline"]["versions"] == {f"v{champion.pk}": len(lab)}


def test_the_overrides_in_force_are_counted_beside_the_model_against_model_comparison(
    champion, lab, period, model_manager, loan_officer
):
    declined = [d for d in lab if d.outcome == Decision.Outcome.DECLINE][:2]
    for decision, status in zip(declined, (Override.Status.APPROVED, Override.Status.PENDING), strict=True):
        Override.objects.create(
            decision=decision,
            overridden_by=loan_officer,
            justification="known customer",
            outcome_before="decline",
            outcome_after="approve",
            status=status,
        )

    backtest = _run(candidate=champion, requested_by=model_manager, **period)

    assert backtest.results["baseline"]["overridden"] == 1
    assert backtest.results["reproduction"]["outcome_differences"] == 0


def test_a_second_delivery_of_the_task_does_nothing(champion, lab, period, model_manager):
    backtest = _run(candidate=champion, requested_by=model_manager, **period)
    finished = backtest.finished_at

    again = backtest_run(backtest_id=backtest.pk)

    assert again.finished_at == finished
    assert AuditEvent.objects.filter(action="backtest.done", object_id=str(backtest.pk)).count() == 1


def test_a_request_is_stored_audited_and_queued_when_the_transaction_commits(
    champion, lab, period, model_manager, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("monitoring.tasks.run_backtest.delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        backtest = backtest_request(product="consumer_loan", candidate=champion, requested_by=model_manager, **period)

    assert queued == [backtest.pk]
    assert backtest.status == Backtest.Status.RUNNING
    assert backtest.parameters["decisions"] == len(lab)
    assert AuditEvent.objects.filter(action="backtest.requested", object_id=str(backtest.pk)).exists()


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "candidate"),
        ({"approve_below": 0.3}, "decline_from"),
        ({"approve_below": 0.6, "decline_from": 0.5}, "decline_from"),
        ({"approve_below": 0.0, "decline_from": 0.5}, "approve_below"),
        ({"approve_below": 0.2, "decline_from": 1.5}, "decline_from"),
        ({"approve_below": 0.2, "decline_from": 0.6, "policy_version": "consumer-2025.1"}, "policy_version"),
    ],
)
def test_bad_cut_offs_are_named(champion, lab, period, model_manager, request_fields, field):
    with pytest.raises(ApplicationError) as caught:
        backtest_request(queue=False, product="consumer_loan", requested_by=model_manager, **period, **request_fields)

    assert field in caught.value.details


def test_a_period_that_has_not_ended_is_refused(champion, model_manager):
    today = timezone.localdate()

    with pytest.raises(ApplicationError) as caught:
        backtest_request(
            queue=False,
            product="consumer_loan",
            candidate=champion,
            requested_by=model_manager,
            first_day=today - dt.timedelta(days=3),
            last_day=today,
        )

    assert "must be in the past" in caught.value.details["last_day"]


def test_a_period_without_decisions_is_named(champion, lab, model_manager):
    with pytest.raises(ApplicationError) as caught:
        backtest_request(
            queue=False,
            product="consumer_loan",
            candidate=champion,
            requested_by=model_manager,
            first_day=dt.date(2020, 1, 1),
            last_day=dt.date(2020, 1, 31),
        )

    assert "nothing to replay" in caught.value.details["first_day"]


def test_a_candidate_of_another_product_is_refused(champion, lab, period, model_manager):
    champion.product = "credit_card"
    champion.save(update_fields=["product"])

    with pytest.raises(ApplicationError) as caught:
        backtest_request(queue=False, product="consumer_loan", candidate=champion, requested_by=model_manager, **period)

    assert "credit_card" in caught.value.details["candidate"]


def test_stored_vectors_without_the_candidates_inputs_are_named(champion, lab, period, model_manager):
    vector = dict(lab[0].feature_vector)
    del vector["job"]
    Decision.objects.filter(pk=lab[0].pk).update(feature_vector=vector)

    with pytest.raises(ApplicationError) as caught:
        backtest_request(queue=False, product="consumer_loan", candidate=champion, requested_by=model_manager, **period)

    assert caught.value.details["candidate"].startswith("1 decisions of the period lack inputs")
    assert "job" in caught.value.details["candidate"]


def test_only_model_managers_request_backtests(champion, lab, period, compliance_officer):
    with pytest.raises(PermissionDenied):
        backtest_request(
            queue=False, product="consumer_loan", candidate=champion, requested_by=compliance_officer, **period
        )


@pytest.fixture
def candidate_backtest(champion, lab, period, model_manager, second_model_manager):
    """A second version, its backtest done and its promotion requested."""
    candidate = challenger_train(requested_by=model_manager)
    backtest = _run(candidate=candidate, requested_by=model_manager, **period)
    request = promotion_request(version=candidate, requested_by=model_manager, exception_justification="lab test")
    return backtest, request


def test_a_done_backtest_of_the_version_is_attached_to_its_promotion_request(candidate_backtest, model_manager):
    backtest, request = candidate_backtest

    attached = backtest_attach(backtest=backtest, promotion_request=request, actor=model_manager)

    assert attached.promotion_request == request
    assert list(request.backtests.all()) == [backtest]
    assert AuditEvent.objects.filter(action="backtest.attached", object_id=str(backtest.pk)).exists()


def test_a_backtest_of_another_version_or_policy_cannot_be_attached(
    candidate_backtest, champion, lab, period, model_manager
):
    _, request = candidate_backtest
    of_the_champion = _run(candidate=champion, requested_by=model_manager, **period)
    other_cut_offs = _run(
        candidate=request.version,
        approve_below=0.1,
        decline_from=0.5,
        policy_version="lab-0.1",
        requested_by=model_manager,
        **period,
    )

    for backtest, field in ((of_the_champion, "candidate"), (other_cut_offs, "policy")):
        with pytest.raises(ApplicationError) as caught:
            backtest_attach(backtest=backtest, promotion_request=request, actor=model_manager)
        assert field in caught.value.details
    assert not request.backtests.exists()


def test_a_decided_request_takes_no_more_backtests(candidate_backtest, model_manager):
    backtest, request = candidate_backtest
    PromotionRequest.objects.filter(pk=request.pk).update(status=PromotionRequest.Status.REJECTED)
    request.refresh_from_db()

    with pytest.raises(ApplicationError) as caught:
        backtest_attach(backtest=backtest, promotion_request=request, actor=model_manager)

    assert "no longer pending" in caught.value.details["promotion_request"]


def test_the_task_runs_the_backtest_by_its_id(champion, lab, period, model_manager):
    from monitoring.tasks import run_backtest

    backtest = backtest_request(
        queue=False, product="consumer_loan", candidate=champion, requested_by=model_manager, **period
    )

    assert run_backtest(backtest.pk) == {"backtest_id": backtest.pk, "status": "done"}


def test_a_vector_changed_after_the_request_fails_the_backtest_naming_the_input(champion, lab, period, model_manager):
    backtest = backtest_request(
        queue=False, product="consumer_loan", candidate=champion, requested_by=model_manager, **period
    )
    vector = dict(lab[3].feature_vector, job="astronaut")
    Decision.objects.filter(pk=lab[3].pk).update(feature_vector=vector)

    failed = backtest_run(backtest_id=backtest.pk)

    assert failed.status == Backtest.Status.FAILED
    assert "job" in failed.failure
    assert "astronaut" in failed.failure
    assert AuditEvent.objects.filter(action="backtest.failed", object_id=str(backtest.pk)).exists()
