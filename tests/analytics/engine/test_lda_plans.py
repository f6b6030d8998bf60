"""Planning a less-discriminatory-alternative search, and ranking what it found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association

from analytics.engine.families import family_get
from analytics.engine.lda_plans import (
    Point,
    feature_association,
    lda_plans,
    less_discriminatory,
    pareto_frontier,
)
from analytics.engine.mitigation import mitigation_resolve
from tests.analytics.engine.conftest import synthetic_data


def test_the_frontier_keeps_exactly_the_points_nothing_beats_on_both_axes():
    points = [Point(0.78, 0.80), Point(0.77, 0.90), Point(0.76, 0.85), Point(0.78, 0.75), Point(0.70, 0.95)]

    assert pareto_frontier(points) == [True, True, False, False, True]
    assert pareto_frontier([Point(0.7, 0.9), Point(0.7, 0.9)]) == [True, True]


@pytest.mark.parametrize(
    ("auc", "ratio", "flagged"),
    [(0.775, 0.85, True), (0.769, 0.95, False), (0.80, 0.80, False), (0.79, 0.79, False), (0.770, 0.81, True)],
)
def test_an_alternative_is_less_discriminatory_when_its_ratio_rises_within_the_auc_tolerance(auc, ratio, flagged):
    assert less_discriminatory(alternative=Point(auc, ratio), base=Point(0.78, 0.80), tolerance=0.01) is flagged


def test_feature_association_is_cramers_v_for_categories_and_eta_for_numbers():
    data = synthetic_data(500, seed=3)
    groups = data.protected["group"]

    strengths = feature_association(features=data.features, spec=data.spec, groups=groups)

    table = pd.crosstab(groups, data.features["region"]).to_numpy()
    assert strengths["region"] == pytest.approx(association(table, method="cramer"), abs=1e-12)
    proxy = data.features["proxy"].to_numpy(dtype=float)
    means = {g: proxy[groups == g].mean() for g in ("a", "b")}
    between = sum((groups == g).sum() * (means[g] - proxy.mean()) ** 2 for g in means)
    assert strengths["proxy"] == pytest.approx(np.sqrt(between / ((proxy - proxy.mean()) ** 2).sum()), abs=1e-12)
    assert max(strengths, key=strengths.get) == "proxy"


def plan(family: str, **extra):
    """The plan for a base of `family` whose disadvantaged attribute is sex (here, the synthetic group)."""
    data = synthetic_data(300, seed=4)
    association = feature_association(features=data.features, spec=data.spec, groups=data.protected["group"])
    return lda_plans(
        family=family,
        params=family_get(family).resolve_params(extra),
        spec=data.spec,
        attribute="sex",
        association=association,
    )


@pytest.mark.parametrize("family", ["scorecard", "gbm", "neural"])
def test_the_default_plan_is_small_and_every_alternative_is_a_valid_training_request(family):
    plans = plan(family)

    assert 6 <= len(plans) <= 8
    assert len({p.name for p in plans}) == len(plans)
    for alternative in plans:
        mitigation = mitigation_resolve(
            method=alternative.mitigation, family=alternative.family, params=alternative.mitigation_params
        )
        family_get(alternative.family).resolve_params(alternative.params)
        assert mitigation.method.value == alternative.mitigation
        assert mitigation.attribute == "sex"


def test_the_plan_drops_the_strongest_proxy_and_varies_the_base_one_change_at_a_time():
    plans = {p.change: p for p in plan("scorecard", regularisation=0.5)}

    assert plans["dropped feature"].params["features"] == ["income", "region"]
    assert plans["regularisation"].params["regularisation"] == pytest.approx(0.05)
    assert plans["monotone constraints"].params["monotone"] is False
    assert plans["coarsening"].params["fine_bins"] == 5
    mitigations = [p for p in plan("scorecard") if p.change == "mitigation"]
    assert [(p.mitigation, p.mitigation_params.get("mitigation_strength")) for p in mitigations] == [
        ("reweighing", 1.0),
        ("reweighing", 2.0),
        ("exponentiated_gradient", 1.0),
        ("exponentiated_gradient", 1.0),
    ]


def test_a_neural_base_is_varied_through_adversary_weights_and_others_through_the_constrained_scorecard():
    neural = [(p.family, p.mitigation, p.mitigation_params.get("mitigation_strength")) for p in plan("neural")]
    gbm = [(p.family, p.mitigation) for p in plan("gbm") if p.mitigation == "exponentiated_gradient"]

    assert ("neural", "adversarial", 0.5) in neural
    assert ("neural", "adversarial", 2.0) in neural
    assert gbm == [("scorecard", "exponentiated_gradient")] * 2
