"""Bootstrap intervals: they cover planted values, agree with a row-by-row bootstrap, and are seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.engine.fairness import FairnessConfig, fairness_report_compute
from analytics.engine.fairness.bootstrap import EXACT_CELL_ROWS
from analytics.engine.fairness.estimates import percentile_intervals
from tests.analytics.engine.fairness.conftest import synthetic_decisions

REPETITIONS = 100
PLANTED_RATES = {"protected": 0.45, "reference": 0.60}
PLANTED_AIR = PLANTED_RATES["protected"] / PLANTED_RATES["reference"]


def _planted(seed: int, rows: int = 2000) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(rows) < 0.5, "protected", "reference")
    approved = (rng.random(rows) < np.where(group == "protected", *PLANTED_RATES.values())).astype(int)
    scores = 50 * rng.standard_normal(rows) - 20 * (group == "protected")
    region = rng.choice([f"r{k}" for k in range(10)], rows)
    return approved, pd.DataFrame({"group": group, "region": region}), scores


def test_the_95_percent_interval_contains_the_planted_adverse_impact_ratio_in_at_least_90_of_100_runs():
    covered = 0
    for seed in range(REPETITIONS):
        approved, protected, _ = _planted(seed)
        report = fairness_report_compute(
            approved=approved,
            protected=protected[["group"]],
            config=FairnessConfig(bootstrap_resamples=200, seed=seed, reference_groups={"group": "reference"}),
        )
        ratio = report.attribute("group").group("protected").adverse_impact_ratio
        covered += ratio.low <= PLANTED_AIR <= ratio.high
    assert covered >= 90


def test_the_95_percent_interval_contains_the_planted_standardized_mean_difference_in_at_least_90_of_100_runs():
    """Cells of about 50 rows: score sums are resampled exactly in some cells and by their normal limit in others."""
    covered = 0
    for seed in range(REPETITIONS):
        approved, protected, scores = _planted(seed)
        report = fairness_report_compute(
            approved=approved,
            protected=protected,
            scores=scores,
            config=FairnessConfig(
                bootstrap_resamples=200, seed=seed, reference_groups={"group": "reference"}, intersections=False
            ),
        )
        difference = report.attribute("group").group("protected").scores.standardized_mean_difference
        covered += difference.low <= -0.4 <= difference.high
    assert covered >= 90


def test_its_intervals_agree_with_a_bootstrap_that_resamples_rows_one_by_one():
    approved, protected, scores = _planted(seed=5, rows=1500)
    resamples = 2000
    report = fairness_report_compute(
        approved=approved,
        protected=protected,
        scores=scores,
        config=FairnessConfig(
            bootstrap_resamples=resamples, seed=1, reference_groups={"group": "reference"}, intersections=False
        ),
    )
    cell_sizes = protected.assign(approved=approved).value_counts()
    assert (cell_sizes <= EXACT_CELL_ROWS).any()
    assert (cell_sizes > EXACT_CELL_ROWS).any()
    rows = np.random.default_rng(2).integers(0, len(approved), size=(resamples, len(approved)))
    member = (protected["group"].to_numpy() == "protected")[rows]
    taken, taken_scores = approved[rows], scores[rows]
    rate_protected = (taken * member).sum(1) / member.sum(1)
    rate_reference = (taken * ~member).sum(1) / (~member).sum(1)
    mean_p = (taken_scores * member).sum(1) / member.sum(1)
    mean_r = (taken_scores * ~member).sum(1) / (~member).sum(1)
    squares_p = ((taken_scores - mean_p[:, None]) ** 2 * member).sum(1)
    squares_r = ((taken_scores - mean_r[:, None]) ** 2 * ~member).sum(1)
    pooled = np.sqrt((squares_p + squares_r) / (len(approved) - 2))
    group = report.attribute("group").group("protected")
    for estimate, samples in (
        (group.adverse_impact_ratio, rate_protected / rate_reference),
        (group.scores.standardized_mean_difference, (mean_p - mean_r) / pooled),
    ):
        low, high = np.quantile(samples, [0.025, 0.975])
        width = high - low
        assert estimate.low == pytest.approx(low, abs=0.06 * width)
        assert estimate.high == pytest.approx(high, abs=0.06 * width)


def test_the_same_seed_gives_the_same_intervals_and_another_seed_different_ones(german):
    def interval(seed: int) -> tuple[float, float]:
        report = fairness_report_compute(
            approved=german.approved,
            protected=german.protected,
            scores=german.scores,
            config=FairnessConfig(bootstrap_resamples=100, seed=seed),
        )
        group = report.attribute("sex").group("female")
        return group.adverse_impact_ratio.low, group.scores.standardized_mean_difference.high

    assert interval(3) == interval(3)
    assert interval(3) != interval(4)


def test_it_uses_1000_resamples_by_default():
    assert FairnessConfig().bootstrap_resamples == 1000


def test_percentile_intervals_equal_numpys_quantiles_ignoring_undefined_resamples():
    samples = np.random.default_rng(0).normal(size=(501, 4))
    samples[::7, 1] = np.nan
    samples[:, 3] = np.nan
    low, high = percentile_intervals(samples, 0.9)
    expected = np.nanquantile(samples[:, :3], [0.05, 0.95], axis=0)
    np.testing.assert_allclose(low[:3], expected[0], atol=1e-12)
    np.testing.assert_allclose(high[:3], expected[1], atol=1e-12)
    assert np.isnan(low[3])
    assert np.isnan(high[3])


def test_a_group_with_planted_equal_rates_is_not_flagged_and_its_interval_spans_one():
    case = synthetic_decisions(4000, seed=2, approval_rates={"a": 0.6, "b": 0.6})
    report = fairness_report_compute(
        approved=case.approved,
        protected=case.protected[["group"]],
        config=FairnessConfig(bootstrap_resamples=300, reference_groups={"group": "b"}),
    )
    group = report.attribute("group").group("a")
    assert group.adverse_impact_ratio.low < 1 < group.adverse_impact_ratio.high
    assert group.four_fifths_flag is False
