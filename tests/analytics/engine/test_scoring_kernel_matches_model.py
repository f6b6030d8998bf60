"""The compiled kernel a decision is scored with gives the model's own probability, row for row.

The synchronous decision path never calls scikit-learn or TensorFlow: it reads the kernel's precomputed
tables. That is only sound if the kernel is the model, so it is checked over 10,000 applications, to 1e-12,
for every family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.engine.families import FAMILIES
from analytics.engine.policy import DEFAULT_POLICY
from analytics.engine.scoring import Scorer

ROWS = 10_000
TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def applications(german) -> pd.DataFrame:
    """10,000 applications: German credit rows drawn with replacement, numeric values moved within their range
    (so most are values no training row had), categories kept as they are."""
    rng = np.random.default_rng(19)
    frame = german.features.iloc[rng.integers(0, len(german.features), ROWS)].reset_index(drop=True)
    for feature in german.spec.features:
        if feature.kind == "numeric":
            column = frame[feature.name].astype(float)
            low, high = column.min(), column.max()
            moved = column + rng.normal(scale=0.1 * (high - low or 1.0), size=ROWS)
            frame[feature.name] = np.round(np.clip(moved, low, high)).astype(int)
    return frame


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_kernel_gives_the_models_own_probability_for_10000_applications(family, german_models, applications):
    model = german_models[family]
    scorer = Scorer(model, DEFAULT_POLICY)

    kernel = np.array([scorer.decide(row).probability_of_default for row in applications.to_dict("records")])

    expected = model.predict_proba_default(applications)
    assert len(kernel) == ROWS
    assert np.abs(kernel - expected).max() <= TOLERANCE
