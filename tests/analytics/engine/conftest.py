"""Shared engine fixtures: German credit, its seed-0 holdout split, one fitted model per family.

Fitting is session-scoped so the whole engine suite trains each family once (seconds, not minutes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.engine.dataset_schema import schema_load
from analytics.engine.families import FAMILIES, FittedModel, TrainingData, family_get
from analytics.engine.families.base import training_data_from_file
from analytics.engine.features import Feature, FeatureSpec


@pytest.fixture(scope="session")
def german() -> TrainingData:
    return training_data_from_file(schema_load("german_credit"))


@pytest.fixture(scope="session")
def german_split(german: TrainingData) -> tuple[TrainingData, TrainingData]:
    return german.split(holdout_fraction=0.3, seed=0)


@pytest.fixture(scope="session")
def german_models(german_split: tuple[TrainingData, TrainingData]) -> dict[str, FittedModel]:
    """Every family fitted with its default parameters on the seed-0 training split."""
    train, _ = german_split
    return {name: family_get(name).fit(train, seed=0) for name in FAMILIES}


def synthetic_data(rows: int, seed: int, *, with_protected_column: bool = False) -> TrainingData:
    """A small data set with a planted disparity: group "b" scores higher on a feature that predicts default.

    An unconstrained model learns the feature, so it approves group "b" less often; the group itself
    is only in `protected` (and, when asked, smuggled into the features frame as an extra column).
    """
    rng = np.random.default_rng(seed)
    in_group = rng.random(rows) < 0.4
    proxy = 1.5 * in_group + rng.normal(size=rows)
    income = rng.normal(size=rows)
    region = rng.choice(["north", "south", "east"], size=rows)
    log_odds = -1.2 + 1.0 * proxy - 1.0 * income
    target = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    group = np.where(in_group, "b", "a")
    features = pd.DataFrame({"proxy": proxy, "income": income, "region": region})
    if with_protected_column:
        features["group"] = group
    return TrainingData(
        features=features,
        target=target,
        protected=pd.DataFrame({"group": group}),
        spec=FeatureSpec(
            dataset="synthetic",
            features=(
                Feature("proxy", "numeric", 1),
                Feature("income", "numeric", -1),
                Feature("region", "categorical"),
            ),
            target="default",
            positive_label="1",
            protected=frozenset({"group"}),
        ),
    )
