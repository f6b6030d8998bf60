"""Drift on bins stored at training: PSI, KS, Jensen-Shannon and Wasserstein against hand computations
and SciPy, and the bins' handling of missing, unseen and out-of-range values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from analytics.engine.drift import (
    CategoricalReference,
    DriftReference,
    NumericReference,
    drift_compute,
    drift_reference_fit,
    jensen_shannon_distance,
    population_stability_index,
)
from finai.errors import ApplicationError

TOLERANCE = 1e-9


def _fixed_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Fixed reference and current samples: continuous, tied integers, rounded values, a wide tail."""
    rng = np.random.default_rng(20240915)
    return [
        ("shifted normal", rng.normal(0, 1, 700), rng.normal(0.4, 1.3, 1500)),
        ("same normal", rng.normal(0, 1, 900), rng.normal(0, 1, 600)),
        ("tied integers", rng.integers(18, 70, 800).astype(float), rng.integers(15, 80, 2500).astype(float)),
        ("rounded", np.round(rng.normal(0, 1, 500), 1), np.round(rng.normal(0.1, 1, 3000), 2)),
        ("amounts", np.round(rng.lognormal(8, 1, 1000), 2), np.round(rng.lognormal(8.2, 1.1, 4000), 2)),
        ("far outliers", np.append(rng.random(600), [1e9, -1e9]), np.append(rng.random(900) * 1.2, [5e9])),
    ]


@pytest.mark.parametrize(("reference", "current"), [pytest.param(r, c, id=case) for case, r, c in _fixed_pairs()])
def test_ks_js_and_wasserstein_equal_scipy_on_fixed_data(reference, current):
    fitted = NumericReference.fit(reference, sample_size=len(reference))
    drift = fitted.compare("x", current)

    assert drift.ks_statistic == pytest.approx(ks_2samp(reference, current).statistic, abs=TOLERANCE)
    assert drift.wasserstein_distance == pytest.approx(
        wasserstein_distance(reference, current), abs=TOLERANCE, rel=TOLERANCE
    )
    current_counts = np.array(drift.current_shares) * len(current)
    assert drift.js_distance == pytest.approx(jensenshannon(fitted.counts, current_counts, base=2), abs=TOLERANCE)


def test_a_subsampled_reference_is_exact_against_its_stored_sample():
    rng = np.random.default_rng(7)
    fitted = NumericReference.fit(rng.normal(size=50_000), sample_size=1000)
    current = rng.normal(0.05, 1.0, 20_000)
    drift = fitted.compare("x", current)
    sample = np.repeat(fitted.sample_values, fitted.sample_counts)

    assert len(sample) == 1000
    assert drift.ks_statistic == pytest.approx(ks_2samp(sample, current).statistic, abs=TOLERANCE)
    assert drift.wasserstein_distance == pytest.approx(wasserstein_distance(sample, current), abs=TOLERANCE)


def test_psi_ks_and_wasserstein_equal_a_hand_computation():
    fitted = NumericReference.fit(np.array([1, 1, 2, 2, 3, 3, 4, 4], dtype=float), bins=2)
    drift = fitted.compare("x", np.array([1, 2, 3, 3, 3, 3], dtype=float))

    # Bins: <= 2 and > 2 (the median), then missing (empty on both sides, so left out).
    assert fitted.edges.tolist() == [2.0]
    assert fitted.counts.tolist() == [4, 4, 0]
    expected, actual = [4.5 / 9, 4.5 / 9], [2.5 / 7, 4.5 / 7]
    assert drift.psi == pytest.approx(
        sum((a - e) * math.log(a / e) for a, e in zip(actual, expected, strict=True)), abs=1e-12
    )
    # F_ref - F_cur: 1/4 - 1/6 on [1, 2), 1/2 - 1/3 on [2, 3), 3/4 - 1 on [3, 4), 1 - 1 after.
    assert drift.ks_statistic == pytest.approx(1 / 4, abs=1e-12)
    assert drift.wasserstein_distance == pytest.approx(1 / 12 + 1 / 6 + 1 / 4, abs=1e-12)


def test_wasserstein_and_ks_equal_a_hand_computation_between_points():
    drift = NumericReference.fit(np.array([0.0, 1.0, 2.0])).compare("x", np.array([0.5, 2.5]))

    assert drift.ks_statistic == pytest.approx(1 / 2, abs=1e-12)
    # |F_ref - F_cur|: 1/3 on [0, .5), 1/6 on [.5, 1), 1/6 on [1, 2), 1/2 on [2, 2.5)
    assert drift.wasserstein_distance == pytest.approx(0.5 / 3 + 0.5 / 6 + 1 / 6 + 0.5 / 2, abs=1e-12)


def test_jensen_shannon_distance_equals_a_hand_computation_in_base_2():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    middle = (p + q) / 2
    divergence = sum(a * math.log2(a / m) for a, m in zip(p, middle, strict=True) if a) + sum(
        b * math.log2(b / m) for b, m in zip(q, middle, strict=True) if b
    )

    assert jensen_shannon_distance([2, 2, 0], [1, 1, 2]) == pytest.approx(math.sqrt(divergence / 2), abs=1e-12)


def test_an_empty_current_bin_gives_a_finite_psi():
    fitted = NumericReference.fit(np.arange(100, dtype=float))
    drift = fitted.compare("x", np.full(50, 5.0))

    assert math.isfinite(drift.psi)
    assert drift.psi > 1
    assert drift.current_shares.count(0.0) >= 9


def test_an_empty_reference_bin_gives_a_finite_psi():
    assert math.isfinite(population_stability_index([10, 0], [5, 5]))
    assert population_stability_index([10, 0, 0], [10, 0, 0]) == 0.0


def test_values_outside_the_reference_range_fall_into_the_end_bins():
    fitted = NumericReference.fit(np.arange(1, 101, dtype=float), bins=4)
    drift = fitted.compare("x", np.array([-1e6, 0.0, 500.0, 1e12]))

    assert drift.current_shares[0] == 0.5
    assert drift.current_shares[-2] == 0.5
    assert fitted.bin_labels == ("<= 25", "(25, 50]", "(50, 75]", "> 75", "missing")


def test_missing_numeric_values_have_their_own_bin_and_stay_out_of_ks_and_wasserstein():
    reference = np.array([1.0, 2.0, 3.0, 4.0])
    fitted = drift_reference_fit(features=pd.DataFrame({"x": reference}), kinds={"x": "numeric"})
    current = pd.DataFrame({"x": [1.0, 2.0, None, np.nan, np.inf, "not a number"]}, dtype=object)
    drift = drift_compute(reference=fitted, features=current).features["x"]

    assert drift.current_shares[-1] == pytest.approx(4 / 6)
    assert drift.ks_statistic == pytest.approx(ks_2samp(reference, [1.0, 2.0]).statistic, abs=TOLERANCE)
    assert drift.wasserstein_distance == pytest.approx(wasserstein_distance(reference, [1.0, 2.0]), abs=TOLERANCE)


def test_unseen_categories_and_missing_values_share_their_own_bin():
    fitted = CategoricalReference.fit(pd.Series(["a", "b", "a", None]))
    drift = fitted.compare("c", pd.Series(["a", "new", None, np.nan, "new", "other"]))

    assert fitted.categories == ("a", "b")
    assert fitted.counts == (2, 1, 1)
    assert fitted.bin_labels == ("a", "b", "unseen/missing")
    assert drift.current_shares == pytest.approx((1 / 6, 0.0, 5 / 6))
    assert drift.unseen_categories == {"new": 2, "other": 1}
    assert math.isfinite(drift.psi)
    assert drift.ks_statistic is None
    assert drift.wasserstein_distance is None


def test_a_category_is_the_same_whether_written_as_a_number_or_text():
    fitted = CategoricalReference.fit(pd.Series([1, 2, 2], dtype=object))
    drift = fitted.compare("c", pd.Series(["1", 2.0, 2], dtype=object))

    assert drift.psi == pytest.approx(0.0, abs=1e-12)
    assert drift.unseen_categories == {}


def _applications(rows: int, seed: int, *, income_shift: float = 0.0, region_mix=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(income_shift, 1.0, rows),
            "age": rng.integers(18, 75, rows).astype(float),
            "region": rng.choice(["north", "south", "east"], rows, p=region_mix),
        }
    )


KINDS = {"income": "numeric", "age": "numeric", "region": "categorical"}


def test_a_shifted_feature_gets_a_large_psi_and_unshifted_ones_stay_under_a_tenth():
    reference = drift_reference_fit(features=_applications(20_000, 0), kinds=KINDS)
    shifted = _applications(200_000, 1, income_shift=0.8, region_mix=(0.2, 0.3, 0.5))
    unshifted = _applications(200_000, 2)

    moved = drift_compute(reference=reference, features=shifted).features
    stayed = drift_compute(reference=reference, features=unshifted).features

    assert moved["income"].psi > 0.25
    assert moved["region"].psi > 0.25
    assert moved["age"].psi < 0.1
    assert all(drift.psi < 0.1 for drift in stayed.values())
    assert moved["income"].ks_statistic > 0.25 > stayed["income"].ks_statistic
    assert moved["income"].wasserstein_distance == pytest.approx(0.8, abs=0.05)


def test_the_score_gets_its_own_bins():
    rng = np.random.default_rng(3)
    frame = _applications(5000, 3)
    reference = drift_reference_fit(features=frame, kinds=KINDS, scores=rng.beta(2, 8, 5000))
    report = drift_compute(reference=reference, features=frame, scores=rng.beta(4, 6, 5000))

    assert report.score.name == "score"
    assert report.score.psi > 0.25
    assert set(report.features) == set(KINDS)


def test_the_reference_survives_a_json_round_trip_and_gives_the_same_drift():
    frame = _applications(3000, 4)
    frame.loc[::50, "income"] = np.nan
    reference = drift_reference_fit(features=frame, kinds=KINDS, scores=np.linspace(0.01, 0.6, 3000))
    stored = json.loads(json.dumps(reference.as_dict()))
    restored = DriftReference.from_dict(stored)
    current = _applications(4000, 5, income_shift=0.3)
    scores = np.linspace(0.05, 0.7, 4000)

    assert restored.as_dict() == reference.as_dict()
    assert (
        drift_compute(reference=restored, features=current, scores=scores).as_dict()
        == drift_compute(reference=reference, features=current, scores=scores).as_dict()
    )


def test_the_stored_sample_is_capped_and_integral_values_are_stored_compactly():
    rng = np.random.default_rng(6)
    fitted = NumericReference.fit(rng.normal(size=100_000), sample_size=2000)
    months = NumericReference.fit(rng.integers(6, 72, 100_000).astype(float))

    assert len(fitted.sample_values) == 2000
    assert "sample_counts" not in fitted.as_dict()
    assert all(isinstance(value, int) for value in months.as_dict()["sample_values"])
    assert len(json.dumps(months.as_dict())) < 2000


def test_a_frame_without_a_reference_feature_is_refused_naming_it():
    reference = drift_reference_fit(features=_applications(100, 7), kinds=KINDS)

    with pytest.raises(ApplicationError) as refused:
        drift_compute(reference=reference, features=_applications(100, 8).drop(columns=["age"]))

    assert refused.value.details == {"age": "is not a column of the current rows"}


def test_a_version_without_a_stored_reference_is_refused():
    with pytest.raises(ApplicationError):
        DriftReference.from_dict({})
