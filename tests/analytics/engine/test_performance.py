"""Realised and estimated performance and the calibration check: against scikit-learn and SciPy, against
the known truth of outcomes drawn from known probabilities, and against hand computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import beta, binomtest, ks_2samp
from sklearn.metrics import auc, brier_score_loss, roc_auc_score

from analytics.engine.performance import (
    calibration_check,
    calibration_check_of_bands,
    estimated_performance,
    realised_performance,
)
from finai.errors import ApplicationError

EXACT = 1e-12
BETA_SHAPE = (2.0, 8.0)  # PDs averaging 0.2: a subprime book, so a few thousand rows hold hundreds of defaults


def _cohort(rows: int, *, seed: int, shape: tuple[float, float] = BETA_SHAPE) -> tuple[np.ndarray, np.ndarray]:
    """PDs drawn from a Beta and outcomes drawn from those PDs: a perfectly calibrated cohort."""
    rng = np.random.default_rng(seed)
    probability = rng.beta(*shape, size=rows)
    return probability, rng.random(rows) < probability


def _true_auc(shape: tuple[float, float]) -> float:
    """The population AUC of a calibrated Beta(a, b) PD, by integration.

    AUC = E[p1 (1 - p2) 1{p2 < p1}] / (mu (1 - mu)) for independent PDs p1, p2; with p f_{a,b}(p) =
    mu f_{a+1,b}(p), it is ∫ f_{a+1,b}(p) (F_{a,b}(p) - mu F_{a+1,b}(p)) dp / (1 - mu).
    """
    a, b = shape
    mean = a / (a + b)

    def integrand(probability: float) -> float:
        below = beta.cdf(probability, a, b) - mean * beta.cdf(probability, a + 1, b)
        return beta.pdf(probability, a + 1, b) * below

    return integrate.quad(integrand, 0, 1)[0] / (1 - mean)


def _plain_types_only(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain_types_only(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_plain_types_only(item) for item in value)
    return type(value) in (int, float, bool, str, type(None))


# --- realised performance against independent computations ------------------------------------------------


@pytest.fixture(scope="module")
def tied_cohort() -> tuple[np.ndarray, np.ndarray]:
    """PDs rounded to two decimals, so many defaulters and repaid loans share a PD."""
    probability, defaulted = _cohort(5000, seed=11)
    return np.round(probability, 2), defaulted


@pytest.fixture(scope="module")
def tied_performance(tied_cohort):
    probability, defaulted = tied_cohort
    return realised_performance(probabilities=probability, defaulted=defaulted, bootstrap_samples=50)


def test_auc_equals_scikit_learns_roc_auc_score_with_tied_probabilities(tied_cohort, tied_performance) -> None:
    probability, defaulted = tied_cohort
    assert tied_performance.auc.value == pytest.approx(roc_auc_score(defaulted, probability), abs=EXACT)


def test_ks_equals_scipys_two_sample_statistic_between_defaulters_and_repaid_loans(
    tied_cohort, tied_performance
) -> None:
    probability, defaulted = tied_cohort
    expected = ks_2samp(probability[defaulted], probability[~defaulted]).statistic
    assert tied_performance.ks.value == pytest.approx(expected, abs=EXACT)


def test_brier_equals_scikit_learns_brier_score_loss(tied_cohort, tied_performance) -> None:
    probability, defaulted = tied_cohort
    assert tied_performance.brier.value == pytest.approx(brier_score_loss(defaulted, probability), abs=EXACT)


def test_gini_and_its_interval_are_twice_auc_minus_one(tied_performance) -> None:
    auc_interval, gini = tied_performance.auc, tied_performance.gini
    assert (gini.value, gini.low, gini.high) == pytest.approx(
        (2 * auc_interval.value - 1, 2 * auc_interval.low - 1, 2 * auc_interval.high - 1), abs=EXACT
    )


def test_default_rates_are_the_mean_outcome_and_the_mean_probability(tied_cohort, tied_performance) -> None:
    probability, defaulted = tied_cohort
    assert (tied_performance.rows, tied_performance.defaults) == (5000, int(defaulted.sum()))
    assert tied_performance.observed_default_rate.value == pytest.approx(defaulted.mean(), abs=EXACT)
    assert tied_performance.predicted_default_rate == pytest.approx(probability.mean(), abs=EXACT)


def test_every_interval_holds_its_statistic(tied_performance) -> None:
    intervals = [tied_performance.auc, tied_performance.gini, tied_performance.ks, tied_performance.brier]
    intervals.append(tied_performance.observed_default_rate)
    assert all(interval.low <= interval.value <= interval.high for interval in intervals)


def test_the_same_seed_gives_the_same_intervals(tied_cohort) -> None:
    probability, defaulted = tied_cohort
    first, second = (
        realised_performance(probabilities=probability, defaulted=defaulted, bootstrap_samples=30, seed=7)
        for _ in range(2)
    )
    assert first.as_dict() == second.as_dict()


# --- the bootstrap against the known truth --------------------------------------------------------------


def test_the_true_auc_lies_inside_the_realised_auc_interval() -> None:
    probability, defaulted = _cohort(20_000, seed=3)
    performance = realised_performance(probabilities=probability, defaulted=defaulted)
    assert performance.auc.low < _true_auc(BETA_SHAPE) < performance.auc.high


def test_the_95_percent_interval_covers_the_true_auc_in_90_to_99_percent_of_replications() -> None:
    """200 independent cohorts of 2,000 loans, 200 resamples each: coverage is binomial around 95%
    (standard error 1.5 points), so 90-99% allows three standard errors either way."""
    truth = _true_auc(BETA_SHAPE)
    covered = 0
    for replication in range(200):
        probability, defaulted = _cohort(2000, seed=1000 + replication)
        interval = realised_performance(
            probabilities=probability, defaulted=defaulted, bootstrap_samples=200, seed=replication
        ).auc
        covered += interval.low <= truth <= interval.high
    assert 180 <= covered <= 198


# --- calibration by score band --------------------------------------------------------------------------


def test_bands_are_deciles_of_the_probabilities_by_default() -> None:
    probability, defaulted = _cohort(5000, seed=12)
    performance = realised_performance(probabilities=probability, defaulted=defaulted, bootstrap_samples=1)
    assert [band.rows for band in performance.bands] == [500] * 10


def test_explicit_band_edges_hold_the_probabilities_above_one_edge_up_to_the_next() -> None:
    probability = np.array([0.0, 0.05, 0.1, 0.15, 0.2, 0.5, 0.9])
    defaulted = np.array([0, 0, 1, 0, 0, 1, 1])
    performance = realised_performance(
        probabilities=probability, defaulted=defaulted, bands=[0.1, 0.2], bootstrap_samples=1
    )
    assert [(band.probability_from, band.probability_to, band.rows) for band in performance.bands] == [
        (0.0, 0.1, 3),
        (0.1, 0.2, 2),
        (0.2, 1.0, 2),
    ]


def test_each_bands_p_value_is_the_exact_binomial_test_at_its_mean_probability(tied_performance) -> None:
    band = tied_performance.bands[4]
    expected = binomtest(band.defaults, band.rows, band.mean_probability_of_default).pvalue
    assert band.p_value == pytest.approx(expected, abs=EXACT)


def test_bands_are_tested_at_alpha_divided_by_their_number(tied_cohort) -> None:
    probability, defaulted = tied_cohort
    performance = realised_performance(
        probabilities=probability, defaulted=defaulted, bands=5, alpha=0.1, bootstrap_samples=1
    )
    assert performance.band_alpha == pytest.approx(0.1 / 5)


def test_a_band_whose_default_probability_is_doubled_is_the_only_band_flagged() -> None:
    rng = np.random.default_rng(21)
    probability = rng.beta(2, 18, size=50_000)
    ranks = np.argsort(np.argsort(probability))
    sixth_decile = (ranks >= 25_000) & (ranks < 30_000)  # the sixth of ten quantile bands
    true_probability = np.where(sixth_decile, 2 * probability, probability)
    defaulted = rng.random(50_000) < true_probability
    performance = realised_performance(probabilities=probability, defaulted=defaulted, bootstrap_samples=10)
    assert performance.flagged_bands == (6,)


# --- the label-free estimate ----------------------------------------------------------------------------


def test_the_expected_auc_is_within_0_02_of_the_realised_auc_of_a_calibrated_cohort() -> None:
    probability, defaulted = _cohort(20_000, seed=5)
    estimate = estimated_performance(probabilities=probability)
    realised = realised_performance(probabilities=probability, defaulted=defaulted, bootstrap_samples=1)
    assert abs(estimate.expected_auc - realised.auc.value) < 0.02


def test_the_expected_auc_is_the_mean_auc_of_outcomes_drawn_from_the_probabilities() -> None:
    """The Monte-Carlo mean of 300 AUCs has a standard error of sd / √300; four of them bound the gap (the
    estimate's own bias, of order 1/rows, is about 1e-4 here, a fifth of one standard error)."""
    rng = np.random.default_rng(8)
    probability = rng.beta(*BETA_SHAPE, size=5000)
    draws = np.array([roc_auc_score(rng.random(5000) < probability, probability) for _ in range(300)])
    standard_error = draws.std(ddof=1) / math.sqrt(len(draws))
    expected = estimated_performance(probabilities=probability).expected_auc
    assert abs(expected - draws.mean()) < 4 * standard_error


def test_the_expected_auc_is_the_area_under_the_expected_roc_curve_with_tied_probabilities() -> None:
    probability = np.round(np.random.default_rng(9).beta(*BETA_SHAPE, size=3000), 2)
    thresholds = np.unique(probability)[::-1]
    true_positives = [probability[probability >= cut].sum() for cut in thresholds]
    false_positives = [(1 - probability[probability >= cut]).sum() for cut in thresholds]
    curve_x = np.concatenate(([0.0], false_positives)) / (1 - probability).sum()
    curve_y = np.concatenate(([0.0], true_positives)) / probability.sum()
    estimate = estimated_performance(probabilities=probability)
    assert estimate.expected_auc == pytest.approx(auc(curve_x, curve_y), abs=EXACT)


def test_tied_probabilities_count_half_in_the_expected_auc() -> None:
    """PDs 0.2, 0.2, 0.8: expected defaulters 0.4 and 0.8, repaid 1.6 and 0.2 at the two PDs, so the
    area is (0.4 · ½ · 1.6 + 0.8 · (1.6 + ½ · 0.2)) / (1.2 · 1.8) = 1.68 / 2.16."""
    estimate = estimated_performance(probabilities=[0.2, 0.2, 0.8], bands=1)
    assert estimate.expected_auc == pytest.approx(1.68 / 2.16, abs=EXACT)


def test_expected_defaults_are_the_sum_of_the_probabilities_overall_and_per_band() -> None:
    probability, _ = _cohort(1000, seed=13)
    estimate = estimated_performance(probabilities=probability, bands=[0.1, 0.3])
    in_bands = [probability[probability <= 0.1], probability[(probability > 0.1) & (probability <= 0.3)]]
    in_bands.append(probability[probability > 0.3])
    assert estimate.expected_defaults == pytest.approx(probability.sum(), abs=1e-9)
    assert [band.expected_defaults for band in estimate.bands] == pytest.approx(
        [part.sum() for part in in_bands], abs=1e-9
    )


def test_the_expected_auc_needs_some_probabilities_between_0_and_1() -> None:
    with pytest.raises(ApplicationError) as refused:
        estimated_performance(probabilities=[0.0, 0.0, 0.0])
    assert "probabilities" in refused.value.details


# --- the calibration check ------------------------------------------------------------------------------


def test_a_calibrated_model_is_found_calibrated() -> None:
    probability, defaulted = _cohort(20_000, seed=14)
    assert calibration_check(probabilities=probability, defaulted=defaulted).calibrated


def test_a_model_whose_probabilities_are_halved_is_found_miscalibrated() -> None:
    probability, defaulted = _cohort(20_000, seed=14)
    assert not calibration_check(probabilities=probability * 0.5, defaulted=defaulted).calibrated


@pytest.fixture
def tiny_check():
    """Three bands of four loans: (0, 0.15], (0.15, 0.45], (0.45, 1]."""
    probability = [0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.3, 0.3, 0.5, 0.7, 0.6, 0.6]
    defaulted = [0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1]
    return calibration_check(probabilities=probability, defaulted=defaulted, bands=[0.15, 0.45])


def test_hosmer_lemeshow_matches_a_hand_computation(tiny_check) -> None:
    """Band by band, (O - E)² / (n π (1 - π)): (1 - 0.4)² / 0.36 = 1, (0 - 1.2)² / 0.84 = 12/7 and
    (3 - 2.4)² / 0.96 = 0.375; one degree of freedom, where the chi-square tail is erfc(√(H / 2))."""
    statistic = 1 + 12 / 7 + 0.375
    assert (tiny_check.hosmer_lemeshow_statistic, tiny_check.degrees_of_freedom, tiny_check.p_value) == (
        pytest.approx(statistic, abs=EXACT),
        1,
        pytest.approx(math.erfc(math.sqrt(statistic / 2)), abs=EXACT),
    )


def test_expected_calibration_error_matches_a_hand_computation(tiny_check) -> None:
    """(|0.25 - 0.1| + |0 - 0.3| + |0.75 - 0.6|) / 3 for three bands of equal size."""
    assert tiny_check.expected_calibration_error == pytest.approx(0.2, abs=EXACT)


def test_the_calibration_check_needs_three_bands() -> None:
    with pytest.raises(ApplicationError) as refused:
        calibration_check(probabilities=[0.1, 0.2, 0.3], defaulted=[0, 0, 1], bands=2)
    assert "bands" in refused.value.details


# --- refusals and payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probabilities", "defaulted", "field"),
    [
        pytest.param([0.1, 0.2, 0.3], [0, 1], "defaulted", id="lengths differ"),
        pytest.param([0.1, 1.2, 0.3], [0, 1, 0], "probabilities", id="a probability above 1"),
        pytest.param([0.1, -0.1, 0.3], [0, 1, 0], "probabilities", id="a negative probability"),
        pytest.param([0.1, math.nan, 0.3], [0, 1, 0], "probabilities", id="a missing probability"),
        pytest.param([0.1, 0.2, 0.3], [0, 2, 1], "defaulted", id="an outcome of 2"),
        pytest.param([0.1, 0.2, 0.3], [0, None, 1], "defaulted", id="a missing outcome"),
        pytest.param([0.1, 0.2, 0.3], [0, 0, 0], "defaulted", id="no defaults"),
        pytest.param([0.1, 0.2, 0.3], [1, 1, 1], "defaulted", id="no repaid loans"),
        pytest.param([], [], "probabilities", id="no rows"),
    ],
)
def test_realised_performance_refuses_bad_input_naming_the_field(probabilities, defaulted, field) -> None:
    with pytest.raises(ApplicationError) as refused:
        realised_performance(probabilities=probabilities, defaulted=defaulted, bootstrap_samples=10)
    assert list(refused.value.details) == [field]


def test_outcomes_of_one_kind_are_refused_because_auc_is_undefined() -> None:
    with pytest.raises(ApplicationError) as refused:
        realised_performance(probabilities=[0.1, 0.2], defaulted=[0, 0])
    assert "undefined" in refused.value.details["defaulted"]


def test_every_result_is_json_ready_with_plain_python_numbers(tied_cohort, tied_performance) -> None:
    probability, defaulted = tied_cohort
    payloads = [
        tied_performance.as_dict(),
        estimated_performance(probabilities=probability).as_dict(),
        calibration_check(probabilities=probability, defaulted=defaulted).as_dict(),
    ]
    assert all(_plain_types_only(payload) for payload in payloads)
    json.dumps(payloads, allow_nan=False)


def test_the_check_from_a_stored_calibration_table_equals_the_check_on_the_rows() -> None:
    probabilities, defaulted = _cohort(3000, seed=21)
    edges = np.quantile(probabilities, np.linspace(0, 1, 11))
    band = np.clip(np.searchsorted(edges, probabilities, side="left") - 1, 0, 9)
    on_rows = calibration_check(probabilities=probabilities, defaulted=defaulted, bands=list(edges[1:-1]))

    from_table = calibration_check_of_bands(
        rows=np.bincount(band, minlength=10),
        defaults=np.bincount(band, weights=defaulted, minlength=10),
        expected_defaults=np.bincount(band, weights=probabilities, minlength=10),
    )

    assert from_table.hosmer_lemeshow_statistic == pytest.approx(on_rows.hosmer_lemeshow_statistic, rel=1e-9)
    assert from_table.p_value == pytest.approx(on_rows.p_value, rel=1e-9)
