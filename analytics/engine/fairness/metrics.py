"""Disparity statistics as array arithmetic on per-group tables.

Every function takes tables with a leading axis: length 1 for the sample itself, one entry per
resample for the bootstrap. The point estimate and its interval are therefore computed by the same
code, and no statistic loops over groups or resamples in Python.

Conventions (those of fairlearn, so the figures can be checked against it):
- approval is the favourable decision: y_pred = 1 means approved;
- repayment is the favourable outcome: y_true = 1 means repaid, 0 defaulted;
- true positive rate = share approved among those who repaid; false positive rate = share approved
  among those who defaulted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.engine.fairness.groups import OUTCOME_DEFAULTED, OUTCOME_REPAID


@dataclass(frozen=True)
class GroupTables:
    """Sufficient statistics per group, leading axis first.

    `counts` is (L, groups, decision 2, outcome 3, score bands): rows by decision (0 denied,
    1 approved), outcome (repaid, defaulted, not known) and band of predicted default. `score_sum`
    and `score_square_sum` are (L, groups) sums of centred scores; `probability_sum` is
    (L, groups, bands), predicted default summed over rows whose outcome is known.
    """

    counts: np.ndarray
    score_sum: np.ndarray | None = None
    score_square_sum: np.ndarray | None = None
    probability_sum: np.ndarray | None = None


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is zero (an undefined rate, not an error)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1), np.nan)


def _spread(values: np.ndarray, summarised: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest and smallest over the summarised groups, ignoring undefined ones (fairlearn's between_groups)."""
    values = np.where(summarised, values, np.nan)
    return np.fmax.reduce(values, axis=-1), np.fmin.reduce(values, axis=-1)


def _against(values: np.ndarray, index: int) -> np.ndarray:
    return values[..., index : index + 1]


def decision_statistics(
    tables: GroupTables, *, reference: int, most_favoured: int, summarised: np.ndarray
) -> dict[str, np.ndarray]:
    """Approval rates, adverse impact ratios, statistical parity differences and their summaries.

    Summaries span the `summarised` groups (those of adequate size): a group of five applicants would
    otherwise set the minimum or maximum by chance alone. With every group summarised they are
    fairlearn's demographic_parity_ratio and demographic_parity_difference.
    """
    counts = tables.counts
    applicants = counts.sum(axis=(2, 3, 4))
    approved = counts[:, :, 1].sum(axis=(2, 3))
    approval_rate = ratio(approved, applicants)
    highest, lowest = _spread(approval_rate, summarised)
    return {
        "applicants": applicants,
        "approved": approved,
        "approval_rate": approval_rate,
        "adverse_impact_ratio": ratio(approval_rate, _against(approval_rate, reference)),
        "adverse_impact_ratio_vs_most_favoured": ratio(approval_rate, _against(approval_rate, most_favoured)),
        "statistical_parity_difference": approval_rate - _against(approval_rate, reference),
        "demographic_parity_ratio": ratio(lowest, highest),
        "demographic_parity_difference": highest - lowest,
    }


def outcome_statistics(tables: GroupTables, *, reference: int, summarised: np.ndarray) -> dict[str, np.ndarray]:
    """True and false positive rates, equal-opportunity and average-odds differences.

    Per group against the reference: equal opportunity difference TPR_g - TPR_ref, average odds
    difference ((FPR_g - FPR_ref) + (TPR_g - TPR_ref)) / 2. Summaries across the summarised groups, as fairlearn:
    equal_opportunity_difference (max - min TPR), equalized_odds_difference (the larger of the TPR and
    FPR spreads) and average_odds_difference (their mean: fairlearn's agg="mean").
    """
    counts = tables.counts
    repaid = counts[:, :, :, OUTCOME_REPAID].sum(axis=(2, 3))
    defaulted = counts[:, :, :, OUTCOME_DEFAULTED].sum(axis=(2, 3))
    tpr = ratio(counts[:, :, 1, OUTCOME_REPAID].sum(axis=-1), repaid)
    fpr = ratio(counts[:, :, 1, OUTCOME_DEFAULTED].sum(axis=-1), defaulted)
    tpr_gap = tpr - _against(tpr, reference)
    fpr_gap = fpr - _against(fpr, reference)
    tpr_high, tpr_low = _spread(tpr, summarised)
    fpr_high, fpr_low = _spread(fpr, summarised)
    tpr_spread, fpr_spread = tpr_high - tpr_low, fpr_high - fpr_low
    return {
        "repaid": repaid,
        "defaulted": defaulted,
        "true_positive_rate": tpr,
        "false_positive_rate": fpr,
        "equal_opportunity_difference": tpr_gap,
        "average_odds_difference": (fpr_gap + tpr_gap) / 2,
        "summary_equal_opportunity_difference": tpr_spread,
        "summary_equalized_odds_difference": np.fmax(tpr_spread, fpr_spread),
        "summary_average_odds_difference": (tpr_spread + fpr_spread) / 2,
    }


def score_statistics(tables: GroupTables, *, reference: int) -> dict[str, np.ndarray]:
    """Mean and standard deviation of scores per group, and the standardized mean difference.

    SMD = (mean_g - mean_ref) / pooled SD, the pooled SD of the two groups compared (Cohen's d):
    sqrt(((n_g - 1) s_g^2 + (n_ref - 1) s_ref^2) / (n_g + n_ref - 2)), s the sample SD (n - 1).
    Means are of centred scores: add back the centre to read them on the score scale.
    """
    if tables.score_sum is None or tables.score_square_sum is None:
        raise ValueError("score statistics need score sums")
    applicants = tables.counts.sum(axis=(2, 3, 4))
    mean = ratio(tables.score_sum, applicants)
    squares = np.clip(tables.score_square_sum - tables.score_sum * np.nan_to_num(mean), 0, None)
    variance = ratio(squares, applicants - 1)
    pooled = np.sqrt(ratio(squares + _against(squares, reference), applicants + _against(applicants, reference) - 2))
    return {
        "score_mean": mean,
        "score_sd": np.sqrt(variance),
        "standardized_mean_difference": ratio(mean - _against(mean, reference), pooled),
    }


def calibration_statistics(tables: GroupTables) -> dict[str, np.ndarray]:
    """Expected (mean predicted) against observed default per group and score band, and overall."""
    if tables.probability_sum is None:
        raise ValueError("calibration needs predicted default sums")
    known = tables.counts[:, :, :, : OUTCOME_DEFAULTED + 1].sum(axis=(2, 3))
    defaults = tables.counts[:, :, :, OUTCOME_DEFAULTED].sum(axis=2)
    expected = ratio(tables.probability_sum, known)
    observed = ratio(defaults, known)
    overall_expected = ratio(tables.probability_sum.sum(axis=-1), known.sum(axis=-1))
    overall_observed = ratio(defaults.sum(axis=-1), known.sum(axis=-1))
    return {
        "band_count": known,
        "band_defaults": defaults,
        "band_expected": expected,
        "band_observed": observed,
        "band_difference": observed - expected,
        "expected_default_rate": overall_expected,
        "observed_default_rate": overall_observed,
        "calibration_difference": overall_observed - overall_expected,
    }
