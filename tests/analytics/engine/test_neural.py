"""The neural family: numpy scoring equals Keras, integrated gradients are complete, debiasing works."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from analytics.engine.evaluation import fairness_summary
from analytics.engine.families import family_get
from finai.errors import ApplicationError
from tests.analytics.engine.conftest import synthetic_data

CUTOFF = 0.3


def test_the_numpy_forward_pass_equals_keras_on_the_same_weights(german_models, german_split):
    import tensorflow as tf

    _, holdout = german_split
    model = german_models["neural"]
    keras = tf.keras
    network = keras.Sequential(
        [
            keras.Input((model.input_width,)),
            *(keras.layers.Dense(len(bias), activation="relu") for _, bias in model.layers[:-1]),
            keras.layers.Dense(1),
        ]
    )
    for layer, (weights, bias) in zip(network.layers, model.layers, strict=True):
        layer.set_weights([weights.astype(np.float32), bias.astype(np.float32)])
    inputs = model.encode(model.coding.matrix(holdout.features)).astype(np.float32)
    from_keras = tf.sigmoid(network(inputs)).numpy()[:, 0]
    assert np.abs(from_keras - model.predict_proba_default(holdout.features)).max() < 1e-6


def _log_odds(model, inputs):
    hidden = inputs
    for weights, bias in model.layers[:-1]:
        hidden = np.maximum(hidden @ weights + bias, 0.0)
    return (hidden @ model.layers[-1][0] + model.layers[-1][1])[:, 0]


def _riemann_integrated_gradients(model, inputs, steps):
    """Integrated gradients by brute force: finite-difference gradients at many points of the path."""
    reference = model.reference
    total = np.zeros_like(inputs)
    step = 1e-6
    for alpha in (np.arange(steps) + 0.5) / steps:
        point = reference + alpha * (inputs - reference)
        shifted = point + step * np.eye(len(point))
        total += (_log_odds(model, shifted) - _log_odds(model, point[None, :])[0]) / step
    contributions = (inputs - reference) * total / steps
    return np.bincount(model.owners, contributions, minlength=len(model.input_names))


def test_integrated_gradients_add_up_exactly_to_the_log_odds_above_the_average_applicant(german_models, german_split):
    _, holdout = german_split
    model = german_models["neural"]
    probability = model.predict_proba_default(holdout.features.head(30))
    attributions = model.attributions(holdout.features.head(30)).sum(axis=1).to_numpy()
    reference_log_odds = _log_odds(model, model.reference[None, :])[0]
    assert np.allclose(attributions, np.log(probability / (1 - probability)) - reference_log_odds, atol=1e-9)


def test_exact_integrated_gradients_agree_with_a_fine_riemann_sum(german_models, german_split):
    _, holdout = german_split
    model = german_models["neural"]
    codes = model.coding.matrix(holdout.features.head(3))
    exact = model.attributions(holdout.features.head(3)).to_numpy()
    for row, inputs in enumerate(model.encode(codes)):
        assert np.allclose(exact[row], _riemann_integrated_gradients(model, inputs, 2000), atol=2e-3)


def test_a_deeper_network_is_explained_by_a_sampled_path_that_nearly_adds_up():
    data = synthetic_data(300, seed=6)
    model = family_get("neural").fit(data, {"hidden_units": [8, 4], "epochs": 3}, seed=0)
    sample = data.features.head(10)
    probability = model.predict_proba_default(sample)
    gap = np.log(probability / (1 - probability)) - _log_odds(model, model.reference[None, :])[0]
    attributions = model.attributions(sample).to_numpy()
    assert np.abs(attributions.sum(axis=1) - gap).max() < 0.02 * max(1.0, np.abs(gap).max())
    inputs = model.encode(model.coding.matrix(sample))
    assert np.allclose(attributions[0], _riemann_integrated_gradients(model, inputs[0], 2000), atol=0.02)


def test_adversarial_debiasing_raises_the_disadvantaged_groups_adverse_impact_ratio():
    """Planted disparity: the same network with and without the adversary, same seeds, fresh test data.

    Measured at the time of writing: adverse impact ratio of group "b" 0.32 -> 0.55, AUC 0.800 -> 0.770.
    """
    train, test = synthetic_data(1000, seed=1), synthetic_data(1000, seed=2)
    common = {"epochs": 20, "adversary_attribute": "group", "adversary_group": "b"}
    plain = family_get("neural").fit(train, {**common, "adversary_weight": 0.0}, seed=0)
    debiased = family_get("neural").fit(train, {**common, "adversary_weight": 1.0}, seed=0)
    results = {}
    for name, model in (("plain", plain), ("debiased", debiased)):
        probability = model.predict_proba_default(test.features)
        fairness = fairness_summary(probability_of_default=probability, protected=test.protected, cutoff=CUTOFF)
        results[name] = (
            fairness["groups"]["group"]["b"]["adverse_impact_ratio"],
            roc_auc_score(test.target, probability),
        )
    (plain_ratio, plain_auc), (debiased_ratio, debiased_auc) = results["plain"], results["debiased"]
    assert plain_ratio < 0.5
    assert debiased_ratio > plain_ratio + 0.15
    assert plain_auc - 0.06 < debiased_auc < plain_auc


def test_debiasing_needs_a_protected_attribute_that_exists():
    data = synthetic_data(200, seed=1)
    with pytest.raises(ApplicationError, match="not in the data") as raised:
        family_get("neural").fit(data, {"adversary_weight": 1.0, "adversary_attribute": "religion", "epochs": 1})
    assert "adversary_attribute" in raised.value.details
