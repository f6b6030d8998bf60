"""The scorecard: points add up to the score, monotone where declared, reasons are points below the maximum."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.engine.families import family_get
from analytics.engine.policy import ScoreScale


@pytest.fixture(scope="module")
def scorecard(german_models):
    return german_models["scorecard"]


def _points(scorecard, features):
    """Each applicant's points per characteristic, read from the printed points table."""
    table = {row["characteristic"]: [b["points"] for b in row["bins"]] for row in scorecard.points_table()}
    codes = scorecard.coding.matrix(features)
    return np.column_stack(
        [np.asarray(table[ch.name])[ch.bins(codes[:, j])] for j, ch in enumerate(scorecard.characteristics)]
    )


def test_the_points_of_the_characteristics_add_up_to_the_scaled_score(scorecard, german_split):
    _, holdout = german_split
    probability = scorecard.predict_proba_default(holdout.features)
    total = _points(scorecard, holdout.features).sum(axis=1)
    expected = [ScoreScale().points(p) for p in probability]
    assert np.allclose(total, expected, atol=1e-8)


def test_base_score_and_points_to_double_the_odds_are_parameters(german_split):
    train, holdout = german_split
    model = family_get("scorecard").fit(train, {"base_score": 500.0, "base_odds": 20.0, "points_to_double_odds": 40.0})
    probability = model.predict_proba_default(holdout.features)
    total = _points(model, holdout.features).sum(axis=1)
    odds = (1 - probability) / probability
    assert np.allclose(total, 500 + 40 / np.log(2) * np.log(odds / 20), atol=1e-8)


def test_a_longer_loan_never_earns_more_points(scorecard):
    duration = next(ch for ch in scorecard.characteristics if ch.name == "duration_in_month")
    assert len(duration.woe) >= 2
    assert list(duration.woe) == sorted(duration.woe, reverse=True)


def test_the_probability_is_the_logistic_regression_on_weights_of_evidence(scorecard, german_split):
    from sklearn.linear_model import LogisticRegression

    train, _ = german_split
    used = [i for i, flag in enumerate(scorecard.used) if flag]
    refit = LogisticRegression(C=1.0, max_iter=1000).fit(
        scorecard.woe_matrix(scorecard.coding.matrix(train.features)), train.target
    )
    assert np.allclose(refit.coef_[0], [scorecard.coefficients[i] for i in used], atol=1e-4)
    assert all(scorecard.coefficients[i] < 0 for i in used)


def test_attributions_are_points_below_each_characteristics_maximum(scorecard, german_split):
    _, holdout = german_split
    points = _points(scorecard, holdout.features.head(40))
    best = np.array([max(b["points"] for b in row["bins"]) for row in scorecard.points_table()])
    attributions = scorecard.attributions(holdout.features.head(40)).to_numpy()
    assert np.allclose(attributions, best - points, atol=1e-9)
    assert (attributions >= -1e-12).all()


def test_weak_characteristics_score_no_points(scorecard):
    for row, flag in zip(scorecard.points_table(), scorecard.used, strict=True):
        if not flag:
            assert {b["points"] for b in row["bins"]} == {0.0}
    assert not all(scorecard.used)
