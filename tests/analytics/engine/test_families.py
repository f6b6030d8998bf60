"""Every model family: no protected attribute reaches it, same seed gives same model, artifacts round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.engine.families import FAMILIES, FittedModel, family_get, model_from_bytes
from analytics.engine.features import ProtectedAttributeError
from finai.errors import ApplicationError
from tests.analytics.engine.conftest import synthetic_data

QUICK = {"scorecard": {}, "gbm": {"max_iter": 30}, "neural": {"epochs": 5}}
FAMILY_NAMES = sorted(FAMILIES)


@pytest.fixture(scope="module")
def smuggled():
    """Synthetic data whose features frame also carries the protected column `group`."""
    return synthetic_data(600, seed=3, with_protected_column=True)


@pytest.fixture(scope="module")
def fitted_with_protected_present(smuggled) -> dict[str, FittedModel]:
    return {name: family_get(name).fit(smuggled, QUICK[name], seed=0) for name in FAMILY_NAMES}


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_no_family_reads_a_protected_column_present_in_its_data(family, smuggled, fitted_with_protected_present):
    model = fitted_with_protected_present[family]
    assert "group" not in model.input_names
    assert model.input_names == ("proxy", "income", "region")
    flipped = smuggled.features.assign(group=np.where(smuggled.features["group"] == "a", "b", "a"))
    assert np.array_equal(model.predict_proba_default(smuggled.features), model.predict_proba_default(flipped))
    assert np.array_equal(
        model.predict_proba_default(smuggled.features),
        model.predict_proba_default(smuggled.features.drop(columns="group")),
    )


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_refuses_to_be_asked_for_a_protected_column(family, smuggled):
    with pytest.raises(ProtectedAttributeError) as raised:
        family_get(family).fit(smuggled, {**QUICK[family], "features": ["proxy", "group"]}, seed=0)
    assert "group" in raised.value.details


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_trains_the_same_model_from_the_same_seed_and_data(
    family, smuggled, fitted_with_protected_present
):
    again = family_get(family).fit(smuggled, QUICK[family], seed=0)
    first = fitted_with_protected_present[family]
    assert np.array_equal(
        first.predict_proba_default(smuggled.features), again.predict_proba_default(smuggled.features)
    )
    assert first.to_bytes() == again.to_bytes()


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_a_loaded_artifact_predicts_and_explains_identically(family, smuggled, fitted_with_protected_present):
    model = fitted_with_protected_present[family]
    loaded = model_from_bytes(model.to_bytes())
    assert type(loaded) is type(model)
    assert loaded.input_names == model.input_names
    assert np.array_equal(
        loaded.predict_proba_default(smuggled.features), model.predict_proba_default(smuggled.features)
    )
    sample = smuggled.features.head(20)
    assert np.array_equal(loaded.attributions(sample).to_numpy(), model.attributions(sample).to_numpy())
    assert loaded.global_importance() == model.global_importance()


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_global_importance_covers_every_input_as_shares_of_one(family, fitted_with_protected_present):
    importance = fitted_with_protected_present[family].global_importance()
    assert set(importance) == {"proxy", "income", "region"}
    assert sum(importance.values()) == pytest.approx(1.0)
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    assert max(importance, key=importance.get) in {"proxy", "income"}


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_progress_is_reported_up_to_one_hundred_percent(family, smuggled):
    seen: list[int] = []
    family_get(family).fit(smuggled, QUICK[family], seed=0, progress=lambda percent, message: seen.append(percent))
    assert seen == sorted(seen)
    assert seen[-1] == 100


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_an_unknown_parameter_is_refused_by_name(family, smuggled):
    with pytest.raises(ApplicationError) as raised:
        family_get(family).fit(smuggled, {"learning_rat": 0.1}, seed=0)
    assert "learning_rat" in raised.value.details


def test_an_artifact_of_one_family_is_refused_as_another(fitted_with_protected_present):
    blob = fitted_with_protected_present["gbm"].to_bytes()
    with pytest.raises(ApplicationError, match="another family"):
        type(fitted_with_protected_present["scorecard"]).from_bytes(blob)


def test_bytes_that_are_not_an_artifact_are_refused():
    with pytest.raises(ApplicationError, match="not a FinAI model"):
        model_from_bytes(b"not a zip file")


def test_an_unknown_family_is_refused_with_the_known_ones_listed():
    with pytest.raises(ApplicationError) as raised:
        family_get("random_forest")
    assert "gbm, neural, scorecard" in raised.value.details["family"]
