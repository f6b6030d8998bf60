"""Mitigation: reweighing as Kamiran & Calders define it, and group-specific thresholds refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.engine.mitigation import (
    DisparateTreatmentError,
    MitigationMethod,
    group_thresholds_refuse,
    mitigation_method_validate,
    reweighing_weights,
)
from finai.errors import ApplicationError


def test_reweighing_weights_equal_a_hand_computation():
    # P(a)=3/5, P(b)=2/5, P(1)=3/5, P(0)=2/5; w = P(g) P(y) / P(g, y).
    weights = reweighing_weights(["a", "a", "a", "b", "b"], [1, 1, 0, 1, 0])
    expected = [
        (3 / 5 * 3 / 5) / (2 / 5),
        (3 / 5 * 3 / 5) / (2 / 5),
        (3 / 5 * 2 / 5) / (1 / 5),
        (2 / 5 * 3 / 5) / (1 / 5),
        (2 / 5 * 2 / 5) / (1 / 5),
    ]
    np.testing.assert_allclose(weights, expected, atol=1e-12)


def test_reweighed_data_has_the_same_label_rate_in_every_group_and_the_same_total_weight():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2])
    labels = (rng.random(5000) < np.select([groups == "a", groups == "b"], [0.7, 0.4], 0.55)).astype(int)
    weights = reweighing_weights(groups, labels)
    overall = labels.mean()
    for group in ("a", "b", "c"):
        members = groups == group
        assert np.average(labels[members], weights=weights[members]) == pytest.approx(overall, abs=1e-12)
    assert weights.sum() == pytest.approx(5000, abs=1e-9)


def test_reweighing_over_several_attributes_weighs_their_intersections():
    frame = pd.DataFrame({"sex": ["f", "f", "m", "m", "m", "f"], "age": ["<25", ">=25", "<25", "<25", ">=25", "<25"]})
    labels = [1, 0, 1, 0, 1, 1]
    joined = (frame["sex"] + "/" + frame["age"]).tolist()
    np.testing.assert_allclose(reweighing_weights(frame, labels), reweighing_weights(joined, labels), atol=1e-12)


def test_rows_without_a_group_are_weighed_as_one_more_group():
    weights = reweighing_weights(["a", None, "a", None], [1, 0, 0, 0])
    np.testing.assert_allclose(weights, reweighing_weights(["a", "?", "a", "?"], [1, 0, 0, 0]), atol=1e-12)


def test_it_refuses_group_specific_thresholds_for_credit_citing_ecoa():
    with pytest.raises(DisparateTreatmentError) as caught:
        group_thresholds_refuse(thresholds={"female": 0.3, "male": 0.25})
    assert caught.value.code == "disparate_treatment"
    assert "disparate treatment" in caught.value.details["mitigation"]
    assert "Equal Credit Opportunity Act" in caught.value.details["mitigation"]


@pytest.mark.parametrize("method", ["threshold_optimizer", "group_thresholds", "reject_option_classification"])
def test_it_refuses_every_method_that_needs_the_protected_attribute_at_decision_time(method):
    with pytest.raises(DisparateTreatmentError):
        mitigation_method_validate(method=method)


def test_it_accepts_training_time_methods_and_names_the_allowed_ones_for_unknown_methods():
    assert mitigation_method_validate(method="reweighing") is MitigationMethod.REWEIGHING
    assert mitigation_method_validate(method="exponentiated_gradient") is MitigationMethod.EXPONENTIATED_GRADIENT
    with pytest.raises(ApplicationError) as caught:
        mitigation_method_validate(method="magic")
    assert "reweighing" in caught.value.details["mitigation"]
