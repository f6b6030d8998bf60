"""Champion against challenger from the stored shadow decisions on the same applications."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone
from fairlearn.metrics import MetricFrame, selection_rate

from analytics.engine.fairness import FairnessConfig, fairness_report_compute
from analytics.services.registry import model_version_set_challenger
from finai.errors import ApplicationError
from lending.models import Decision
from monitoring.models import ChallengerComparison
from monitoring.services.challengers import challenger_comparison_request, challenger_comparison_run
from tests.monitoring.lab_records import challenger_train, german_decisions_record

pytestmark = pytest.mark.django_db

TOLERANCE = 1e-9


@pytest.fixture
def challenger(champion, model_manager):
    return model_version_set_challenger(version=challenger_train(requested_by=model_manager), actor=model_manager)


@pytest.fixture
def decided_at() -> dt.datetime:
    return timezone.now().replace(microsecond=0) - dt.timedelta(days=460)


@pytest.fixture
def lab(champion, challenger, decided_at) -> list[Decision]:
    return german_decisions_record(champion=champion, challenger=challenger, decided_at=decided_at)


@pytest.fixture
def period(decided_at) -> dict:
    day = timezone.localtime(decided_at).date()
    return {"first_day": day - dt.timedelta(days=1), "last_day": day + dt.timedelta(days=1)}


@pytest.fixture
def compared(champion, challenger, lab, period, model_manager) -> ChallengerComparison:
    comparison = challenger_comparison_request(
        champion=champion, challenger=challenger, requested_by=model_manager, queue=False, **period
    )
    return challenger_comparison_run(comparison_id=comparison.pk)


def _pairs(champion, challenger) -> pd.DataFrame:
    """Every (primary, shadow) pair read straight from the records, one application at a time."""
    rows = []
    for primary in Decision.objects.filter(model_version=champion, is_shadow=False).select_related(
        "application__applicant__protected_attributes"
    ):
        shadow = Decision.objects.filter(
            application=primary.application, model_version=challenger, is_shadow=True
        ).first()
        if shadow is not None:
            protected = primary.application.applicant.protected_attributes
            rows.append((primary.outcome, shadow.outcome, protected.sex, protected.age_band))
    return pd.DataFrame(rows, columns=["champion", "challenger", "sex", "age_band"])


def test_the_swap_sets_equal_a_direct_count_over_the_stored_shadow_decisions(compared, champion, challenger):
    pairs = _pairs(champion, challenger)
    swap_in = ((pairs["champion"] != "approve") & (pairs["challenger"] == "approve")).sum()
    swap_out = ((pairs["champion"] == "approve") & (pairs["challenger"] != "approve")).sum()

    comparison = compared.results["comparison"]
    assert compared.status == ChallengerComparison.Status.DONE, compared.failure
    assert compared.results["pairs"] == len(pairs) >= 1000
    assert (comparison["swap_in"]["applications"], comparison["swap_out"]["applications"]) == (swap_in, swap_out)
    assert swap_in + swap_out > 0
    assert comparison["baseline"]["approved"] == (pairs["champion"] == "approve").sum()
    assert comparison["candidate"]["approved"] == (pairs["challenger"] == "approve").sum()


@pytest.mark.parametrize("attribute", ["sex", "age_band"])
def test_group_figures_equal_the_fairness_engine_and_fairlearn(compared, champion, challenger, attribute):
    pairs = _pairs(champion, challenger)
    figures = {g["group"]: g for g in compared.results["comparison"]["groups"] if g["attribute"] == attribute}
    for side, column in (("baseline", "champion"), ("candidate", "challenger")):
        approved = (pairs[column] == "approve").astype(int).to_numpy()
        by_group = MetricFrame(
            metrics=selection_rate, y_true=approved, y_pred=approved, sensitive_features=pairs[attribute]
        ).by_group
        engine = fairness_report_compute(
            approved=approved, protected=pairs[[attribute]], config=FairnessConfig(bootstrap_resamples=10)
        ).attribute(attribute)
        assert set(figures) == set(by_group.index)
        for label, rate in by_group.items():
            assert figures[label][f"{side}_approval_rate"]["value"] == pytest.approx(rate, abs=TOLERANCE)
            assert figures[label][f"{side}_adverse_impact_ratio"]["value"] == pytest.approx(
                engine.group(label).adverse_impact_ratio_vs_most_favoured.value, abs=TOLERANCE
            )
            low, high = figures[label][f"{side}_approval_rate"]["ci"]
            assert low <= rate <= high


def test_auc_of_both_is_measured_on_the_matured_loans_and_their_share_is_stated(compared):
    comparison = compared.results["comparison"]
    coverage = comparison["coverage"]

    assert comparison["baseline"]["discrimination"]["rows"] == coverage["with_outcome"] > 0
    assert comparison["candidate"]["discrimination"]["rows"] == coverage["with_outcome"]
    for side in ("baseline", "candidate"):
        auc = comparison[side]["discrimination"]["auc"]
        assert auc["ci"][0] <= auc["value"] <= auc["ci"][1]
    assert coverage["share_with_outcome"] < 0.7
    assert "approved, funded and have a known outcome" in coverage["note"]


def test_applications_without_a_shadow_decision_are_left_out_and_counted(
    champion, challenger, lab, period, model_manager
):
    Decision.objects.filter(is_shadow=True, application=lab[0].application).delete()
    comparison = challenger_comparison_request(
        champion=champion, challenger=challenger, requested_by=model_manager, queue=False, **period
    )

    done = challenger_comparison_run(comparison_id=comparison.pk)

    assert done.results["champion_decisions"] == len(lab)
    assert done.results["pairs"] == len(lab) - 1


def test_a_period_without_pairs_is_named(champion, challenger, model_manager):
    with pytest.raises(ApplicationError) as caught:
        challenger_comparison_request(
            champion=champion,
            challenger=challenger,
            requested_by=model_manager,
            first_day=dt.date(2020, 1, 1),
            last_day=dt.date(2020, 1, 31),
            queue=False,
        )

    assert f"scored in shadow by v{challenger.pk}" in caught.value.details["first_day"]


def test_a_version_cannot_be_compared_with_itself(champion, model_manager):
    with pytest.raises(ApplicationError) as caught:
        challenger_comparison_request(
            champion=champion,
            challenger=champion,
            requested_by=model_manager,
            first_day=dt.date(2020, 1, 1),
            last_day=dt.date(2020, 1, 31),
            queue=False,
        )

    assert "challenger" in caught.value.details


def test_today_may_end_the_period_of_a_comparison(champion, challenger, model_manager, loan_officer):
    from tests.lending.services.test_decisions import SAFE, apply

    apply(loan_officer, SAFE)
    today = timezone.localdate()

    comparison = challenger_comparison_request(
        champion=champion,
        challenger=challenger,
        requested_by=model_manager,
        first_day=today,
        last_day=today,
        queue=False,
    )

    assert comparison.parameters["pairs"] == 1
    assert np.isclose(challenger_comparison_run(comparison_id=comparison.pk).results["comparison"]["applications"], 1)


def test_the_task_runs_the_comparison_by_its_id(champion, challenger, lab, period, model_manager):
    from monitoring.tasks import run_challenger_comparison

    comparison = challenger_comparison_request(
        champion=champion, challenger=challenger, requested_by=model_manager, queue=False, **period
    )

    assert run_challenger_comparison(comparison.pk) == {"comparison_id": comparison.pk, "status": "done"}
