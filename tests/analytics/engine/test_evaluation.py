"""Holdout metrics, cross-checked against scikit-learn and SciPy; the fairness summary by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from analytics.engine.evaluation import fairness_summary, performance_metrics
from analytics.engine.policy import DEFAULT_POLICY


@pytest.fixture
def sample():
    rng = np.random.default_rng(7)
    target = rng.integers(0, 2, 500)
    probability = np.clip(0.3 + 0.25 * target + rng.normal(0, 0.2, 500), 0.01, 0.99).round(2)  # rounded: ties
    return target, probability


def test_metrics_match_scikit_learn_and_scipy(sample):
    target, probability = sample
    metrics = performance_metrics(target=target, probability_of_default=probability, policy=DEFAULT_POLICY)
    assert metrics["auc"] == pytest.approx(roc_auc_score(target, probability), abs=1e-12)
    assert metrics["gini"] == pytest.approx(2 * roc_auc_score(target, probability) - 1, abs=1e-12)
    assert metrics["ks"] == pytest.approx(
        ks_2samp(probability[target == 1], probability[target == 0]).statistic, abs=1e-12
    )
    assert metrics["brier"] == pytest.approx(brier_score_loss(target, probability), abs=1e-12)
    assert metrics["log_loss"] == pytest.approx(log_loss(target, probability), abs=1e-12)
    assert metrics["count"] == 500
    assert metrics["default_rate"] == pytest.approx(target.mean())


def test_the_calibration_table_covers_every_row_in_score_bands(sample):
    target, probability = sample
    table = performance_metrics(target=target, probability_of_default=probability, policy=DEFAULT_POLICY)["calibration"]
    assert len(table) == 10
    assert sum(band["count"] for band in table) == 500
    assert [band["score_from"] for band in table] == sorted(band["score_from"] for band in table)
    assert all(band["score_from"] <= band["score_to"] for band in table)
    weighted = sum(band["observed_default_rate"] * band["count"] for band in table) / 500
    assert weighted == pytest.approx(target.mean())
    assert table[0]["mean_probability_of_default"] > table[-1]["mean_probability_of_default"]


def test_the_fairness_summary_gives_approval_rates_and_ratios_to_the_most_approved_group():
    probability = np.array([0.1, 0.1, 0.1, 0.4, 0.1, 0.4, 0.4, 0.4, 0.2, 0.1])
    protected = pd.DataFrame(
        {
            "sex": ["female"] * 4 + ["male"] * 6,
            "age_years": [30] * 10,
            "age_band": [">=25"] * 9 + [None],
        }
    )
    summary = fairness_summary(probability_of_default=probability, protected=protected, cutoff=0.25)
    sex = summary["groups"]["sex"]
    assert sex["female"] == {"count": 4, "approved": 3, "approval_rate": 0.75, "adverse_impact_ratio": 1.0}
    assert sex["male"]["approval_rate"] == pytest.approx(0.5)
    assert sex["male"]["adverse_impact_ratio"] == pytest.approx(0.5 / 0.75)
    assert summary["most_favoured_groups"]["sex"] == "female"
    assert "age_years" not in summary["groups"]
    assert summary["groups"]["age_band"][">=25"]["count"] == 9


def test_auc_is_refused_without_both_outcomes():
    with pytest.raises(ValueError, match="both"):
        performance_metrics(target=np.zeros(4), probability_of_default=np.full(4, 0.2), policy=DEFAULT_POLICY)
