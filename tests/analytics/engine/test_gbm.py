"""The gbm family: monotone constraints honoured, and its table-driven TreeSHAP equal to TreeSHAP itself."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from analytics.engine.families import family_get
from tests.analytics.engine.conftest import synthetic_data

NUMERIC_GERMAN = [
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
]


@pytest.fixture(scope="module")
def synthetic_model():
    data = synthetic_data(800, seed=5)
    return data, family_get("gbm").fit(data, {"max_iter": 25, "max_depth": 3, "max_leaf_nodes": 8}, seed=0)


def _expected_value(nodes, bitsets, column_of, codes, known, index=0):
    """Path-dependent E[f(x) | x_known] of one tree, by its definition (Lundberg et al. 2020, Alg. 1)."""
    node = nodes[index]
    if node["is_leaf"]:
        return float(node["value"])
    left, right = int(node["left"]), int(node["right"])
    column = int(column_of[node["feature_idx"]])
    if column not in known:
        return (
            nodes[left]["count"] * _expected_value(nodes, bitsets, column_of, codes, known, left)
            + nodes[right]["count"] * _expected_value(nodes, bitsets, column_of, codes, known, right)
        ) / node["count"]
    value = codes[column]
    if math.isnan(value):
        goes_left = bool(node["missing_go_to_left"])
    elif node["is_categorical"]:
        word = int(bitsets[node["bitset_idx"]][int(value) // 32])
        goes_left = bool((word >> (int(value) % 32)) & 1)
    else:
        goes_left = value <= node["num_threshold"]
    return _expected_value(nodes, bitsets, column_of, codes, known, left if goes_left else right)


def _brute_force_shapley(estimator, codes):
    """Exact Shapley values of the path-dependent game, enumerating every coalition of features."""
    width = len(codes)
    categorical = estimator.is_categorical_
    column_of = np.concatenate([np.flatnonzero(categorical), np.flatnonzero(~categorical)])
    trees = [(tree[0].nodes, tree[0].raw_left_cat_bitsets) for tree in estimator._predictors]

    def game(known):
        return sum(_expected_value(nodes, bitsets, column_of, codes, known) for nodes, bitsets in trees)

    values = np.zeros(width)
    for feature in range(width):
        others = [j for j in range(width) if j != feature]
        for size in range(width):
            weight = math.factorial(size) * math.factorial(width - size - 1) / math.factorial(width)
            for coalition in combinations(others, size):
                values[feature] += weight * (game({*coalition, feature}) - game(set(coalition)))
    return values


def test_table_treeshap_equals_brute_force_shapley_values_with_categorical_splits(synthetic_model):
    data, model = synthetic_model
    kernel = model.kernel()
    codes = model.coding.matrix(data.features.head(15))
    for row in codes:
        expected = _brute_force_shapley(model.estimator, row)
        assert np.allclose(kernel.attributions(kernel.locate(row.tolist())), expected, atol=1e-10)


def test_treeshap_values_add_up_to_the_log_odds_less_the_expected_value(synthetic_model):
    data, model = synthetic_model
    kernel = model.kernel()
    codes = model.coding.matrix(data.features.head(50))
    raw = model.estimator.decision_function(codes)
    expected_value = _brute_force_expected_value(model.estimator)
    for row, log_odds in zip(codes, raw, strict=True):
        assert kernel.attributions(kernel.locate(row.tolist())).sum() + expected_value == pytest.approx(
            log_odds, abs=1e-10
        )


def _brute_force_expected_value(estimator):
    baseline = float(estimator._baseline_prediction.ravel()[0])
    total = 0.0
    for tree in estimator._predictors:
        nodes = tree[0].nodes
        leaves = nodes[nodes["is_leaf"] == 1]
        total += float((leaves["value"] * leaves["count"]).sum() / nodes[0]["count"])
    return baseline + total


def test_table_treeshap_equals_the_shap_package_on_a_numeric_model(german_split):
    import shap

    train, holdout = german_split
    model = family_get("gbm").fit(train, {"features": NUMERIC_GERMAN, "max_depth": 3, "max_leaf_nodes": 8}, seed=0)
    codes = model.coding.matrix(holdout.features.head(40))
    expected = shap.TreeExplainer(model.estimator).shap_values(codes)
    kernel = model.kernel()
    found = np.array([kernel.attributions(kernel.locate(row.tolist())) for row in codes])
    assert np.allclose(found, expected, atol=1e-8)


def test_default_risk_never_falls_as_a_loan_gets_longer(german_split, german_models):
    _, holdout = german_split
    applicants = holdout.features.head(30)
    durations = np.arange(4, 73, 2)
    frame = applicants.loc[applicants.index.repeat(len(durations))].assign(
        duration_in_month=np.tile(durations, len(applicants))
    )
    risk = german_models["gbm"].predict_proba_default(frame).reshape(len(applicants), len(durations))
    assert np.all(np.diff(risk, axis=1) >= -1e-12)
    assert np.any(np.diff(risk, axis=1) > 0)


def test_the_declared_direction_is_passed_to_sklearn_with_the_sign_of_default(german_models):
    estimator = german_models["gbm"].estimator
    names = german_models["gbm"].input_names
    constraints = dict(zip(names, estimator.monotonic_cst, strict=True))
    assert constraints["duration_in_month"] == 1
    assert constraints["installment_rate_in_percentage_of_disposable_income"] == 1
    assert constraints["credit_amount"] == 0
