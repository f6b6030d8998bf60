"""Regression-adjusted disparity: the fit equals scikit-learn's, and a planted group effect is recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from analytics.engine.fairness import adjusted_disparity_estimate
from analytics.engine.fairness.regression import logistic_fit
from finai.errors import ApplicationError

PLANTED_LOG_ODDS = 0.4


def _confounded(rows: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, float]:
    """The protected group has worse credit (a confounder) and, on top, a planted effect on denial."""
    rng = np.random.default_rng(seed)
    protected = rng.random(rows) < 0.3
    risk = rng.standard_normal(rows) + 0.9 * protected
    purpose = rng.choice(["purchase", "refinance", "improvement"], rows)
    base = -1.2 + 1.4 * risk + 0.3 * (purpose == "refinance")
    denied = rng.random(rows) < expit(base + PLANTED_LOG_ODDS * protected)
    planted = float(np.mean(expit(base[protected] + PLANTED_LOG_ODDS) - expit(base[protected])))
    groups = np.where(protected, "protected", "reference")
    return (~denied).astype(int), groups, pd.DataFrame({"risk": risk, "purpose": purpose}), planted


def _unpenalised() -> LogisticRegression:
    """scikit-learn's unpenalised fit (C = infinity: penalty=None is deprecated from scikit-learn 1.8)."""
    return LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky", tol=1e-12)


def test_the_newton_fit_equals_scikit_learns_unpenalised_logistic_regression():
    rng = np.random.default_rng(1)
    design = np.column_stack([np.ones(3000), rng.standard_normal((3000, 3)), rng.random(3000) < 0.4])
    outcome = (rng.random(3000) < expit(design @ np.array([-0.5, 1.0, -0.7, 0.2, 0.8]))).astype(float)
    fit = logistic_fit(design, outcome)
    reference = _unpenalised()
    reference.fit(design, outcome)
    np.testing.assert_allclose(fit.coefficients, reference.coef_[0], atol=1e-8)
    probability = reference.predict_proba(design)[:, 1]
    information = design.T @ (design * (probability * (1 - probability))[:, None])
    np.testing.assert_allclose(fit.covariance, np.linalg.inv(information), rtol=1e-6)


def test_it_recovers_a_planted_group_effect_that_the_raw_gap_overstates():
    approved, groups, controls, planted = _confounded()
    disparity = adjusted_disparity_estimate(
        approved=approved,
        groups=groups,
        controls=controls,
        categorical=["purpose"],
        reference_group="reference",
        numeric_treatment="linear",
    ).group("protected")
    assert disparity.raw_difference.value > planted + 0.1
    assert disparity.adjusted_difference.value == pytest.approx(planted, abs=0.015)
    assert disparity.adjusted_difference.low <= planted <= disparity.adjusted_difference.high
    assert disparity.adjusted_odds_ratio.low <= np.exp(PLANTED_LOG_ODDS) <= disparity.adjusted_odds_ratio.high


def test_binned_numeric_controls_also_remove_most_of_the_confounding():
    approved, groups, controls, planted = _confounded()
    disparity = adjusted_disparity_estimate(
        approved=approved, groups=groups, controls=controls, categorical=["purpose"], numeric_bins=20
    ).group("protected")
    assert disparity.adjusted_difference.value == pytest.approx(planted, abs=0.03)


def test_the_adjusted_effect_is_the_average_over_the_groups_applicants_of_the_fitted_probability_change():
    approved, groups, controls, _ = _confounded(rows=5000, seed=4)
    disparity = adjusted_disparity_estimate(
        approved=approved,
        groups=groups,
        controls=controls[["risk"]],
        reference_group="reference",
        numeric_treatment="linear",
    ).group("protected")
    member = (groups == "protected").astype(float)
    risk = (controls["risk"] - controls["risk"].mean()) / controls["risk"].std(ddof=0)
    design = np.column_stack([np.ones(len(member)), member, risk])
    model = _unpenalised()
    model.fit(design, 1 - approved)
    rows = design[member == 1]
    as_reference = rows.copy()
    as_reference[:, 1] = 0
    expected = np.mean(model.predict_proba(rows)[:, 1] - model.predict_proba(as_reference)[:, 1])
    assert disparity.adjusted_difference.value == pytest.approx(expected, abs=1e-8)


def test_the_raw_difference_is_the_gap_in_denial_rates_with_its_wald_interval():
    approved, groups, controls, _ = _confounded(rows=4000)
    disparity = adjusted_disparity_estimate(
        approved=approved, groups=groups, controls=controls[["risk"]], reference_group="reference"
    ).group("protected")
    denied = 1 - approved
    protected, reference = denied[groups == "protected"], denied[groups == "reference"]
    gap = protected.mean() - reference.mean()
    error = np.sqrt(protected.var() / len(protected) + reference.var() / len(reference))
    assert disparity.raw_difference.value == pytest.approx(gap, abs=1e-9)
    assert disparity.raw_difference.low == pytest.approx(gap - 1.959963984540054 * error, abs=1e-7)
    assert disparity.denial_rate == pytest.approx(protected.mean(), abs=1e-12)


def test_it_lists_small_groups_and_rows_without_a_group_instead_of_estimating_them():
    approved, groups, controls, _ = _confounded(rows=3000)
    groups = groups.astype(object)
    groups[:10] = "tiny"
    groups[10:15] = None
    disparity = adjusted_disparity_estimate(approved=approved, groups=groups, controls=controls[["risk"]])
    assert disparity.small_groups == {"tiny": 10}
    assert disparity.rows_not_known == 5
    assert disparity.rows_used == 2985
    assert [g.group for g in disparity.groups] == ["protected"]
    assert disparity.reference_group == "reference"


def test_it_drops_a_control_column_that_repeats_another_and_says_so():
    approved, groups, controls, _ = _confounded(rows=3000)
    controls = controls.assign(purpose_again=controls["purpose"])
    disparity = adjusted_disparity_estimate(
        approved=approved, groups=groups, controls=controls, categorical=["purpose", "purpose_again"]
    )
    assert len(disparity.dropped_columns) == 2
    assert all(name.startswith("purpose_again=") for name in disparity.dropped_columns)


def test_it_refuses_a_control_that_is_group_membership_itself():
    approved, groups, controls, _ = _confounded(rows=2000)
    with pytest.raises(ApplicationError) as caught:
        adjusted_disparity_estimate(
            approved=approved, groups=groups, controls=controls.assign(proxy=groups), categorical=["purpose", "proxy"]
        )
    assert "controls" in caught.value.details


def test_it_explains_when_a_category_predicts_the_decision_perfectly():
    approved, groups, controls, _ = _confounded(rows=3000)
    approved = approved.copy()
    approved[controls["purpose"].to_numpy() == "improvement"] = 1
    with pytest.raises(ApplicationError) as caught:
        adjusted_disparity_estimate(approved=approved, groups=groups, controls=controls, categorical=["purpose"])
    assert "purpose=improvement" in caught.value.details["controls"]
