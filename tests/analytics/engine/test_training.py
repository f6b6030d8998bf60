"""A training run: split, fit, evaluate and serialise in one call, as the training task uses it."""

from __future__ import annotations

import hashlib

import pytest

from analytics.engine.families import model_from_bytes
from analytics.engine.training import model_train
from finai.errors import ApplicationError
from tests.analytics.engine.conftest import synthetic_data


def test_a_run_returns_the_artifact_evaluation_and_importance_and_reports_progress():
    data = synthetic_data(500, seed=4)
    seen: list[tuple[int, str]] = []
    run = model_train(family="scorecard", data=data, seed=0, progress=lambda p, m: seen.append((p, m)))
    assert (run.train_rows, run.holdout_rows) == (350, 150)
    assert run.evaluation["metrics"]["auc"] > 0.7
    assert set(run.evaluation["fairness"]["groups"]) == {"group"}
    assert set(run.importance) == {"proxy", "income", "region"}
    assert run.params["base_score"] == 600.0
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)
    assert seen[-1][0] == 100
    assert model_from_bytes(run.artifact).input_names == run.model.input_names


def test_the_same_seed_and_data_give_the_same_artifact():
    data = synthetic_data(500, seed=4)
    first = model_train(family="gbm", data=data, params={"max_iter": 20}, seed=3)
    second = model_train(family="gbm", data=data, params={"max_iter": 20}, seed=3)
    assert hashlib.sha256(first.artifact).digest() == hashlib.sha256(second.artifact).digest()
    assert first.evaluation == second.evaluation


def test_bad_parameters_are_refused_before_anything_is_trained():
    with pytest.raises(ApplicationError) as raised:
        model_train(family="gbm", data=synthetic_data(100, seed=4), params={"max_depth": 12})
    assert "max_depth" in raised.value.details
