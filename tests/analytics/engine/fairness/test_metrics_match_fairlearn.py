"""Every disparity metric equals fairlearn's and a row-by-row hand computation, to 1e-9."""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import defaultdict

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from analytics.engine.fairness import FairnessConfig, fairness_report_compute
from tests.analytics.engine.fairness.conftest import Decisions, synthetic_decisions

TOLERANCE = 1e-9
FAST = FairnessConfig(bootstrap_resamples=50)


def _report(case: Decisions, config: FairnessConfig = FAST):
    return fairness_report_compute(
        approved=case.approved,
        protected=case.protected,
        scores=case.scores,
        probability_of_default=case.probability_of_default,
        defaulted=case.defaulted,
        config=config,
    )


def _metric_frame(case: Decisions, columns: list[str]) -> MetricFrame:
    return MetricFrame(
        metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=case.repaid,
        y_pred=case.approved,
        sensitive_features=case.protected[columns] if len(columns) > 1 else case.protected[columns[0]],
    )


def _assert_matches_fairlearn(case: Decisions, report, columns: list[str]) -> None:
    attribute = report.attribute(" & ".join(columns))
    by_group = _metric_frame(case, columns).by_group
    assert len(by_group) == len(attribute.groups)
    for key, row in by_group.iterrows():
        label = " | ".join(key) if isinstance(key, tuple) else key
        group = attribute.group(label)
        assert group.approval_rate.value == pytest.approx(row["selection_rate"], abs=TOLERANCE)
        assert group.outcomes.true_positive_rate.value == pytest.approx(row["tpr"], abs=TOLERANCE)
        assert group.outcomes.false_positive_rate.value == pytest.approx(row["fpr"], abs=TOLERANCE)
    features = case.protected[columns]
    arguments = {"y_true": case.repaid, "y_pred": case.approved, "sensitive_features": features}
    assert attribute.demographic_parity_ratio.value == pytest.approx(
        demographic_parity_ratio(**arguments), abs=TOLERANCE
    )
    assert attribute.demographic_parity_difference.value == pytest.approx(
        demographic_parity_difference(**arguments), abs=TOLERANCE
    )
    assert attribute.equal_opportunity_difference.value == pytest.approx(
        equal_opportunity_difference(**arguments), abs=TOLERANCE
    )
    assert attribute.equalized_odds_difference.value == pytest.approx(
        equalized_odds_difference(**arguments), abs=TOLERANCE
    )
    assert attribute.average_odds_difference.value == pytest.approx(
        equalized_odds_difference(**arguments, agg="mean"), abs=TOLERANCE
    )


@pytest.mark.parametrize("columns", [["sex"], ["age_band"], ["sex", "age_band"]])
def test_it_matches_fairlearn_on_german_credit(german, columns):
    _assert_matches_fairlearn(german, _report(german), columns)


@pytest.mark.parametrize("columns", [["group"], ["region"], ["group", "region"]])
def test_it_matches_fairlearn_on_synthetic_decisions(columns):
    case = synthetic_decisions(4000, seed=7, approval_rates={"a": 0.5, "b": 0.7, "c": 0.65})
    _assert_matches_fairlearn(case, _report(case), columns)


def test_it_computes_outcome_rates_on_rows_whose_outcome_is_known_as_fairlearn_does_on_them():
    case = synthetic_decisions(3000, seed=11, approval_rates={"a": 0.5, "b": 0.7})
    unknown = np.random.default_rng(0).random(3000) < 0.3
    defaulted = np.where(unknown, np.nan, case.defaulted)
    report = fairness_report_compute(
        approved=case.approved, protected=case.protected[["group"]], defaulted=defaulted, config=FAST
    )
    known = ~unknown
    frame = MetricFrame(
        metrics={"tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=case.repaid[known],
        y_pred=case.approved[known],
        sensitive_features=case.protected["group"][known],
    )
    everyone = MetricFrame(
        metrics=selection_rate, y_true=case.repaid, y_pred=case.approved, sensitive_features=case.protected["group"]
    )
    for label in ("a", "b"):
        group = report.attribute("group").group(label)
        assert group.outcomes.true_positive_rate.value == pytest.approx(frame.by_group.loc[label, "tpr"], abs=TOLERANCE)
        assert group.outcomes.false_positive_rate.value == pytest.approx(
            frame.by_group.loc[label, "fpr"], abs=TOLERANCE
        )
        assert group.approval_rate.value == pytest.approx(everyone.by_group.loc[label], abs=TOLERANCE)
    assert report.rows_with_outcome == int(known.sum())


def _hand(case: Decisions, column: str, reference: str) -> dict[str, dict[str, float]]:
    """Row-by-row tallies in plain Python, then each metric from its textbook definition."""
    tally: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for label, approved, defaulted, score in zip(
        case.protected[column], case.approved, case.defaulted, case.scores, strict=True
    ):
        counts = tally[label]
        counts["n"] += 1
        counts["approved"] += approved
        counts["repaid"] += 1 - defaulted
        counts["repaid_approved"] += (1 - defaulted) * approved
        counts["defaulted"] += defaulted
        counts["defaulted_approved"] += defaulted * approved
        counts["score"] += score
    for label, counts in tally.items():
        mean = counts["score"] / counts["n"]
        squares = sum(
            (score - mean) ** 2
            for score, group in zip(case.scores, case.protected[column], strict=True)
            if group == label
        )
        counts["mean"], counts["squares"] = mean, squares
        counts["rate"] = counts["approved"] / counts["n"]
        counts["tpr"] = counts["repaid_approved"] / counts["repaid"]
        counts["fpr"] = counts["defaulted_approved"] / counts["defaulted"]
    ref = tally[reference]
    best = max(tally.values(), key=lambda counts: counts["rate"])
    for counts in tally.values():
        pooled = math.sqrt((counts["squares"] + ref["squares"]) / (counts["n"] + ref["n"] - 2))
        counts["air"] = counts["rate"] / ref["rate"]
        counts["air_best"] = counts["rate"] / best["rate"]
        counts["spd"] = counts["rate"] - ref["rate"]
        counts["smd"] = (counts["mean"] - ref["mean"]) / pooled
        counts["eod"] = counts["tpr"] - ref["tpr"]
        counts["aod"] = ((counts["fpr"] - ref["fpr"]) + (counts["tpr"] - ref["tpr"])) / 2
    return tally


@pytest.mark.parametrize(("column", "reference"), [("sex", "male"), ("age_band", ">=25")])
def test_it_equals_a_hand_computation_on_german_credit(german, column, reference):
    report = _report(german, FairnessConfig(bootstrap_resamples=50, reference_groups={column: reference}))
    hand = _hand(german, column, reference)
    for label, expected in hand.items():
        group = report.attribute(column).group(label)
        assert group.applicants == expected["n"]
        assert group.approval_rate.value == pytest.approx(expected["rate"], abs=TOLERANCE)
        assert group.adverse_impact_ratio.value == pytest.approx(expected["air"], abs=TOLERANCE)
        assert group.adverse_impact_ratio_vs_most_favoured.value == pytest.approx(expected["air_best"], abs=TOLERANCE)
        assert group.statistical_parity_difference.value == pytest.approx(expected["spd"], abs=TOLERANCE)
        assert group.scores.mean == pytest.approx(expected["mean"], abs=TOLERANCE)
        assert group.scores.standardized_mean_difference.value == pytest.approx(expected["smd"], abs=TOLERANCE)
        assert group.outcomes.equal_opportunity_difference.value == pytest.approx(expected["eod"], abs=TOLERANCE)
        assert group.outcomes.average_odds_difference.value == pytest.approx(expected["aod"], abs=TOLERANCE)
        assert group.four_fifths_flag == bool(expected["air"] < 0.8)


def test_it_equals_a_hand_computation_on_synthetic_decisions_with_a_planted_gap():
    case = synthetic_decisions(3000, seed=3, approval_rates={"a": 0.45, "b": 0.75}, score_shift=0.5)
    report = _report(case, FairnessConfig(bootstrap_resamples=50, reference_groups={"group": "b"}))
    hand = _hand(case, "group", "b")
    group = report.attribute("group").group("a")
    assert group.adverse_impact_ratio.value == pytest.approx(hand["a"]["air"], abs=TOLERANCE)
    assert group.four_fifths_flag is True
    assert group.scores.standardized_mean_difference.value == pytest.approx(hand["a"]["smd"], abs=TOLERANCE)
    assert group.scores.smd_flag is True
    assert group.outcomes.average_odds_difference.value == pytest.approx(hand["a"]["aod"], abs=TOLERANCE)


def test_it_tabulates_calibration_by_group_and_band_as_counted_by_hand(german):
    report = _report(german)
    edges = report.calibration_band_edges
    assert edges == tuple(np.unique(np.quantile(german.probability_of_default, np.linspace(0, 1, 11))))
    cells: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for label, probability, defaulted in zip(
        german.protected["sex"], german.probability_of_default, german.defaulted, strict=True
    ):
        band = bisect_right(edges[1:-1], probability)
        cells[label, band][0] += 1
        cells[label, band][1] += defaulted
        cells[label, band][2] += probability
    for group in report.attribute("sex").groups:
        for band in group.calibration.bands:
            count, defaults, expected_sum = cells[group.label, band.band - 1]
            assert band.count == count
            assert band.defaults == defaults
            if count:
                assert band.expected_default_rate == pytest.approx(expected_sum / count, abs=TOLERANCE)
                assert band.observed_default_rate == pytest.approx(defaults / count, abs=TOLERANCE)
                assert band.difference.value == pytest.approx(defaults / count - expected_sum / count, abs=TOLERANCE)
        members = german.protected["sex"] == group.label
        assert group.calibration.observed_default_rate == pytest.approx(german.defaulted[members].mean(), abs=TOLERANCE)
        assert group.calibration.expected_default_rate == pytest.approx(
            german.probability_of_default[members].mean(), abs=TOLERANCE
        )


def test_it_uses_the_pooled_standard_deviation_of_the_two_groups_for_the_smd(german):
    report = _report(german, FairnessConfig(bootstrap_resamples=50, reference_groups={"sex": "male"}))
    female = german.scores[german.protected["sex"] == "female"]
    male = german.scores[german.protected["sex"] == "male"]
    pooled = np.sqrt(
        ((len(female) - 1) * female.var(ddof=1) + (len(male) - 1) * male.var(ddof=1)) / (len(female) + len(male) - 2)
    )
    group = report.attribute("sex").group("female")
    assert group.scores.standardized_mean_difference.value == pytest.approx(
        (female.mean() - male.mean()) / pooled, abs=TOLERANCE
    )
    assert group.scores.sd == pytest.approx(female.std(ddof=1), abs=TOLERANCE)


def test_its_json_form_carries_every_group_with_values_and_intervals(german):
    payload = _report(german).to_dict()
    sex = next(attribute for attribute in payload["attributes"] if attribute["name"] == "sex")
    female = next(group for group in sex["groups"] if group["label"] == "female")
    low, high = female["adverse_impact_ratio"]["ci"]
    assert low <= female["adverse_impact_ratio"]["value"] <= high
    assert payload["config"]["bootstrap_resamples"] == 50
    assert "true_positive_rate" in payload["definitions"]
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
