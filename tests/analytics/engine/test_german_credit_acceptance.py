"""Issue 3 acceptance on German credit: 30% stratified holdout, seed 0, each family with its defaults."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from analytics.engine.evaluation import model_evaluate
from analytics.engine.policy import DEFAULT_POLICY

MINIMUM_AUC = {"scorecard": 0.76, "gbm": 0.76, "neural": 0.74}
# Measured before the renovation of issue 13 moved the engine; a refactor that changes them changed behaviour.
RECORDED_AUC = {"scorecard": 0.774, "gbm": 0.778}


def test_the_holdout_is_a_stratified_thirty_percent(german, german_split):
    train, holdout = german_split
    assert (len(train), len(holdout)) == (700, 300)
    assert holdout.target.mean() == pytest.approx(german.target.mean())


@pytest.mark.parametrize("family", sorted(MINIMUM_AUC))
def test_each_family_meets_its_holdout_auc(family, german_split, german_models):
    _, holdout = german_split
    evaluation = model_evaluate(model=german_models[family], holdout=holdout, policy=DEFAULT_POLICY)
    metrics = evaluation["metrics"]
    probability = german_models[family].predict_proba_default(holdout.features)
    assert metrics["auc"] >= MINIMUM_AUC[family]
    assert metrics["auc"] == pytest.approx(roc_auc_score(holdout.target, probability), abs=1e-12)
    assert metrics["brier"] == pytest.approx(brier_score_loss(holdout.target, probability), abs=1e-12)
    assert 0.3 < metrics["ks"] < 0.7
    assert metrics["brier"] < 0.2


@pytest.mark.parametrize("family", sorted(RECORDED_AUC))
def test_the_recorded_holdout_aucs_are_reproduced_with_the_same_seed(family, german_split, german_models):
    _, holdout = german_split
    metrics = model_evaluate(model=german_models[family], holdout=holdout, policy=DEFAULT_POLICY)["metrics"]

    assert metrics["auc"] == pytest.approx(RECORDED_AUC[family], abs=5e-4)


@pytest.mark.parametrize("family", sorted(MINIMUM_AUC))
def test_the_fairness_summary_covers_the_monitored_groups(family, german_split, german_models):
    _, holdout = german_split
    fairness = model_evaluate(model=german_models[family], holdout=holdout, policy=DEFAULT_POLICY)["fairness"]
    assert set(fairness["groups"]) == {"sex", "marital_status", "age_band", "national_origin"}
    assert set(fairness["groups"]["age_band"]) == {"<25", ">=25"}
    assert fairness["cutoff"] == DEFAULT_POLICY.approve_below
    counts = [group["count"] for group in fairness["groups"]["sex"].values()]
    assert sum(counts) == len(holdout)
    assert np.isclose(max(g["adverse_impact_ratio"] for g in fairness["groups"]["sex"].values()), 1.0)
