"""Two decision vectors on the same applications: swaps, bad rates with their bound, AUC and group figures,
checked against direct counts, the fairness engine and fairlearn's MetricFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from analytics.engine.decision_comparison import (
    APPROVE,
    OUTCOMES,
    ComparisonConfig,
    decisions_compare,
    decisions_replay,
    outcome_codes,
    policy_outcome_codes,
)
from analytics.engine.fairness import FairnessConfig, fairness_report_compute
from analytics.engine.policy import DecisionPolicy
from analytics.engine.scoring import Scorer
from finai.errors import ApplicationError

TOLERANCE = 1e-9
FAST = ComparisonConfig(bootstrap_resamples=200, fairness=FairnessConfig(intersections=False, bootstrap_resamples=200))


def _applications(rows: int = 5000, seed: int = 3) -> dict:
    """Two models' probabilities on the same applicants (correlated), outcomes for the funded, two attributes."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=rows)
    sex = rng.choice(["female", "male"], rows, p=[0.4, 0.6])
    age_band = rng.choice(["<25", "25-60", ">60"], rows, p=[0.2, 0.7, 0.1])
    baseline_probability = 1 / (1 + np.exp(-(-1.0 + risk + rng.normal(scale=0.3, size=rows))))
    candidate_probability = 1 / (
        1 + np.exp(-(-1.0 + risk + 0.4 * (sex == "female") + rng.normal(scale=0.3, size=rows)))
    )
    policy = DecisionPolicy(version="p", approve_below=0.25, decline_from=0.5)
    baseline = policy_outcome_codes(probabilities=baseline_probability, policy=policy)
    candidate = policy_outcome_codes(probabilities=candidate_probability, policy=policy)
    funded = (baseline == APPROVE) & (rng.random(rows) < 0.9)
    matured = funded & (rng.random(rows) < 0.7)
    defaulted = np.where(matured, (rng.random(rows) < baseline_probability).astype(float), np.nan)
    protected = pd.DataFrame({"sex": sex, "age_band": age_band}, dtype=object)
    protected.loc[rng.random(rows) < 0.05, "age_band"] = None  # not known for some
    return {
        "baseline": baseline,
        "candidate": candidate,
        "baseline_probability": baseline_probability,
        "candidate_probability": candidate_probability,
        "defaulted": defaulted,
        "funded": funded,
        "protected": protected,
    }


@pytest.fixture(scope="module")
def case() -> dict:
    return _applications()


@pytest.fixture(scope="module")
def compared(case):
    return decisions_compare(**case, config=FAST)


def test_the_swap_sets_equal_a_direct_count_pair_by_pair(case, compared):
    names = [OUTCOMES[code] for code in case["baseline"]], [OUTCOMES[code] for code in case["candidate"]]
    ins = sum(1 for before, after in zip(*names, strict=True) if before != "approve" and after == "approve")
    outs = sum(1 for before, after in zip(*names, strict=True) if before == "approve" and after != "approve")

    assert (compared.swap_in.applications, compared.swap_out.applications) == (ins, outs)
    assert compared.swap_in.share.value == pytest.approx(ins / len(names[0]), abs=TOLERANCE)


def test_the_approval_rate_changes_by_exactly_the_swaps(case, compared):
    rows = compared.applications

    assert compared.candidate.approved - compared.baseline.approved == (
        compared.swap_in.applications - compared.swap_out.applications
    )
    assert compared.approval_rate_change.value == pytest.approx(
        (compared.swap_in.applications - compared.swap_out.applications) / rows, abs=TOLERANCE
    )
    low, high = compared.approval_rate_change.low, compared.approval_rate_change.high
    assert low <= compared.approval_rate_change.value <= high


def test_the_transition_table_counts_every_application_once(case, compared):
    table = {row.baseline: row.candidate for row in compared.transitions}

    assert list(table) == list(OUTCOMES) == list(compared.outcomes)
    assert sum(sum(counts) for counts in table.values()) == compared.applications
    assert sum(table["approve"]) == compared.baseline.approved
    assert sum(counts[APPROVE] for counts in table.values()) == compared.candidate.approved


@pytest.mark.parametrize("column", ["sex", "age_band"])
def test_group_approval_rates_equal_fairlearn_and_the_fairness_engine(case, compared, column):
    protected = case["protected"]
    known = protected[column].notna().to_numpy()
    for side, codes in (("baseline", case["baseline"]), ("candidate", case["candidate"])):
        approved = (codes == APPROVE).astype(int)
        by_group = MetricFrame(
            metrics=selection_rate,
            y_true=approved[known],
            y_pred=approved[known],
            sensitive_features=protected.loc[known, column].astype(str),
        ).by_group
        engine = fairness_report_compute(
            approved=approved, protected=protected[[column]], config=FairnessConfig(bootstrap_resamples=10)
        ).attribute(column)
        stored = {group.group: group for group in compared.groups if group.attribute == column}
        assert set(stored) == set(by_group.index)
        best = max(by_group[label] for label in by_group.index if stored[label].applicants >= 30)
        for label, rate in by_group.items():
            figure = getattr(stored[label], f"{side}_approval_rate").value
            ratio = getattr(stored[label], f"{side}_adverse_impact_ratio").value
            assert figure == pytest.approx(rate, abs=TOLERANCE)
            assert figure == pytest.approx(engine.group(label).approval_rate.value, abs=TOLERANCE)
            assert ratio == pytest.approx(rate / best, abs=TOLERANCE)


def test_group_swaps_add_up_to_the_swap_sets_over_the_known_rows(case, compared):
    sexes = [group for group in compared.groups if group.attribute == "sex"]

    assert sum(group.swap_ins for group in sexes) == compared.swap_in.applications
    assert sum(group.swap_outs for group in sexes) == compared.swap_out.applications
    assert sum(group.applicants for group in sexes) == compared.applications


def test_the_bad_rate_of_applicants_without_outcomes_is_bounded_not_guessed(case, compared):
    swap_in = compared.swap_in.performance
    members = (case["baseline"] != APPROVE) & (case["candidate"] == APPROVE)

    # The baseline declined or referred them all: nobody funded, no outcome, the bound is the whole interval.
    assert swap_in.with_outcome == 0
    assert swap_in.never_observed == members.sum()
    assert (swap_in.bound_low, swap_in.bound_high) == (0.0, 1.0)
    assert swap_in.realised_bad_rate.value is None
    assert swap_in.estimated_bad_rate_candidate == pytest.approx(
        case["candidate_probability"][members].mean(), abs=TOLERANCE
    )


def test_a_set_with_some_outcomes_states_realised_estimated_and_the_bound_between_best_and_worst(case, compared):
    outs = compared.swap_out.performance
    members = (case["baseline"] == APPROVE) & (case["candidate"] != APPROVE)
    known = members & ~np.isnan(case["defaulted"])
    unknown = members & np.isnan(case["defaulted"])
    defaults = case["defaulted"][known].sum()

    assert outs.with_outcome == known.sum()
    assert outs.awaiting_outcome + outs.never_observed == unknown.sum()
    assert outs.never_observed == (unknown & ~case["funded"]).sum()
    assert outs.realised_bad_rate.value == pytest.approx(defaults / known.sum(), abs=TOLERANCE)
    assert outs.bound_low == pytest.approx(defaults / members.sum(), abs=TOLERANCE)
    assert outs.bound_high == pytest.approx((defaults + unknown.sum()) / members.sum(), abs=TOLERANCE)
    estimate = (defaults + case["baseline_probability"][unknown].sum()) / members.sum()
    assert outs.estimated_bad_rate_baseline == pytest.approx(estimate, abs=TOLERANCE)
    assert outs.bound_low <= outs.estimated_bad_rate_baseline <= outs.bound_high


def test_auc_is_measured_on_the_known_outcomes_only_and_the_coverage_says_how_many(case, compared):
    known = ~np.isnan(case["defaulted"])

    assert compared.baseline.discrimination.rows == known.sum()
    assert compared.coverage.with_outcome == known.sum()
    assert compared.coverage.share_with_outcome == pytest.approx(known.mean(), abs=TOLERANCE)
    assert f"{known.sum():,} of {len(known):,}" in compared.coverage.note
    auc = compared.baseline.discrimination.auc
    assert auc.low <= auc.value <= auc.high


def test_a_stricter_cut_off_only_swaps_out():
    rng = np.random.default_rng(0)
    probability = rng.random(2000)
    current = DecisionPolicy(version="now", approve_below=0.3, decline_from=0.6)
    stricter = DecisionPolicy(version="stricter", approve_below=0.2, decline_from=0.6)
    baseline = policy_outcome_codes(probabilities=probability, policy=current)
    candidate = policy_outcome_codes(probabilities=probability, policy=stricter)

    compared = decisions_compare(
        baseline=baseline,
        candidate=candidate,
        baseline_probability=probability,
        candidate_probability=probability,
        config=FAST,
    )

    assert compared.swap_in.applications == 0
    assert compared.baseline.approved - compared.candidate.approved == compared.swap_out.applications
    assert compared.swap_out.applications == ((probability >= 0.2) & (probability < 0.3)).sum()
    assert compared.fairness_unavailable == "no application has protected attributes recorded"


def test_the_policy_rule_matches_decision_policy_outcome_row_by_row():
    probability = np.array([0.0, 0.2499999, 0.25, 0.4, 0.5, 0.9999, 1.0])
    policy = DecisionPolicy(version="p", approve_below=0.25, decline_from=0.5)

    codes = policy_outcome_codes(probabilities=probability, policy=policy)

    assert [OUTCOMES[code] for code in codes] == [policy.outcome(value).value for value in probability]
    assert outcome_codes(["approve", "refer", "decline"]).tolist() == [0, 1, 2]


@pytest.mark.parametrize("family", ["scorecard", "gbm", "neural"])
def test_the_batch_replay_equals_the_decision_path_application_by_application(german, german_models, family):
    model = german_models[family]
    policy = DecisionPolicy(version="p", approve_below=0.25, decline_from=0.5)
    scorer = Scorer(model, policy)
    features = german.features.iloc[:300].reset_index(drop=True)

    replay = decisions_replay(model=model, policy=policy, features=features)

    decided = [scorer.decide(row) for row in features.to_dict(orient="records")]
    assert np.abs(replay.probabilities - [d.probability_of_default for d in decided]).max() < 1e-12
    assert [OUTCOMES[code] for code in replay.outcomes] == [d.outcome.value for d in decided]


def test_a_row_on_a_cut_off_is_decided_on_the_decision_path(german, german_models):
    model = german_models["scorecard"]
    features = german.features.iloc[:50].reset_index(drop=True)
    on_the_line = Scorer(model, DecisionPolicy(version="x", approve_below=0.5, decline_from=0.5)).decide(
        features.iloc[7].to_dict()
    )
    policy = DecisionPolicy(
        version="edge",
        approve_below=on_the_line.probability_of_default,
        decline_from=on_the_line.probability_of_default,
    )

    replay = decisions_replay(model=model, policy=policy, features=features)

    assert replay.rescored_on_decision_path >= 1
    assert replay.probabilities[7] == on_the_line.probability_of_default
    assert OUTCOMES[replay.outcomes[7]] == Scorer(model, policy).decide(features.iloc[7].to_dict()).outcome.value


def test_bad_input_is_refused_naming_each_field():
    with pytest.raises(ApplicationError) as caught:
        decisions_compare(
            baseline=["approve", "maybe"],
            candidate=["approve", "decline"],
            baseline_probability=[0.1, 0.2],
            candidate_probability=[0.1, 1.5],
            defaulted=[2, np.nan],
        )

    assert set(caught.value.details) == {"baseline"}
    with pytest.raises(ApplicationError) as caught:
        decisions_compare(
            baseline=["approve", "decline"],
            candidate=["approve"],
            baseline_probability=[0.1, 0.2],
            candidate_probability=[0.1, 1.5],
            defaulted=[2, np.nan],
            funded=[False, False],
        )

    assert set(caught.value.details) == {"candidate", "candidate_probability", "defaulted", "funded"}


def test_the_result_is_json_ready(compared):
    import json

    stored = json.loads(json.dumps(compared.to_dict()))

    assert stored["swap_in"]["applications"] == compared.swap_in.applications
    assert stored["approval_rate_change"]["ci"][0] == compared.approval_rate_change.low
    assert "bound" in dict(stored["definitions"])
    assert [row["baseline"] for row in stored["transitions"]] == list(OUTCOMES)


def test_auc_equals_the_performance_engine_and_scikit_learn_and_its_change_has_a_paired_interval(case, compared):
    from sklearn.metrics import roc_auc_score

    from analytics.engine.performance import realised_performance

    known = ~np.isnan(case["defaulted"])
    outcome = case["defaulted"][known].astype(int)
    for side in ("baseline", "candidate"):
        probability = case[f"{side}_probability"][known]
        engine = realised_performance(probabilities=probability, defaulted=outcome, bootstrap_samples=200)
        measured = getattr(compared, side).discrimination
        assert measured.auc.value == pytest.approx(engine.auc.value, abs=1e-12)
        assert measured.auc.value == pytest.approx(roc_auc_score(outcome, probability), abs=1e-12)
        assert measured.gini.value == pytest.approx(engine.gini.value, abs=1e-12)
        assert measured.auc.high - measured.auc.low == pytest.approx(engine.auc.high - engine.auc.low, rel=0.3)
    change = compared.auc_change
    assert change.value == pytest.approx(
        compared.candidate.discrimination.auc.value - compared.baseline.discrimination.auc.value, abs=1e-12
    )
    assert change.low <= change.value <= change.high


def test_auc_is_not_measured_on_outcomes_of_one_kind_and_says_why():
    compared = decisions_compare(
        baseline=["approve"] * 4,
        candidate=["approve", "approve", "decline", "decline"],
        baseline_probability=[0.1, 0.2, 0.3, 0.4],
        candidate_probability=[0.1, 0.2, 0.6, 0.7],
        defaulted=[0, 0, 0, np.nan],
        funded=[True, True, True, True],
        config=FAST,
    )

    assert compared.baseline.discrimination.auc is None
    assert "repaid loans only" in compared.baseline.discrimination.unavailable
    assert compared.auc_change is None


@pytest.mark.parametrize("draw", ["cells", "loans"])
def test_the_auc_bootstrap_draws_cells_or_loans_with_the_same_law(monkeypatch, draw):
    from analytics.engine import decision_comparison
    from analytics.engine.performance import realised_performance

    monkeypatch.setattr(decision_comparison, "DRAWN_ROWS_PER_CELL", 0 if draw == "cells" else 10**12)
    rng = np.random.default_rng(5)
    probability = np.round(rng.beta(2, 5, 20000), 2)  # a scorecard's few distinct PDs
    other = np.round(np.clip(probability + rng.normal(0, 0.05, 20000), 0, 1), 2)
    defaulted = (rng.random(20000) < probability).astype(float)
    config = ComparisonConfig(bootstrap_resamples=400, fairness=FairnessConfig(intersections=False))

    compared = decisions_compare(
        baseline=np.zeros(20000, dtype=np.int8),
        candidate=np.zeros(20000, dtype=np.int8),
        baseline_probability=probability,
        candidate_probability=other,
        defaulted=defaulted,
        config=config,
    )

    engine = realised_performance(probabilities=probability, defaulted=defaulted.astype(int), bootstrap_samples=400)
    auc = compared.baseline.discrimination.auc
    assert auc.value == pytest.approx(engine.auc.value, abs=1e-12)
    assert auc.low == pytest.approx(engine.auc.low, abs=0.003)
    assert auc.high == pytest.approx(engine.auc.high, abs=0.003)
    assert compared.auc_change.low < compared.auc_change.value < compared.auc_change.high
