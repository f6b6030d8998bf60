"""Holdout evaluation: discrimination, calibration, and a first fairness summary at the policy cut-off.

These numbers are what a model version is judged and promoted on, so each is computed here from its
definition (ranks, empirical distributions) and cross-checked in the tests against scikit-learn and
SciPy. Payloads are JSON-ready dicts, stored as they are on the model version.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from analytics.engine.fairness.groups import DECISION_STATES, OUTCOME_STATES, OUTCOME_UNKNOWN
from analytics.engine.fairness.metrics import GroupTables, decision_statistics
from analytics.engine.fairness.report import FairnessConfig, _most_favoured_index
from analytics.engine.families.base import FittedModel, TrainingData
from analytics.engine.policy import DecisionPolicy

PROBABILITY_CLIP = 1e-15  # log loss of a certain, wrong prediction is infinite; clip as scikit-learn does
CALIBRATION_BANDS = 10


class CalibrationBand(TypedDict):
    band: int
    score_from: int
    score_to: int
    count: int
    mean_probability_of_default: float
    observed_default_rate: float


class RocCurve(TypedDict):
    fpr: list[float]
    tpr: list[float]


class PerformanceMetrics(TypedDict):
    count: int
    default_rate: float
    auc: float
    gini: float
    ks: float
    brier: float
    log_loss: float
    calibration: list[CalibrationBand]
    roc: RocCurve


class GroupOutcome(TypedDict):
    count: int
    approved: int
    approval_rate: float
    adverse_impact_ratio: float | None


class FairnessSummary(TypedDict):
    cutoff: float
    most_favoured_groups: dict[str, str]
    groups: dict[str, dict[str, GroupOutcome]]


class Evaluation(TypedDict):
    metrics: PerformanceMetrics
    fairness: FairnessSummary


def area_under_curve(target: np.ndarray, probability_of_default: np.ndarray) -> float:
    """The chance a random defaulter is scored riskier than a random payer (Mann-Whitney, ties halved)."""
    ranks = rankdata(probability_of_default)
    defaults = target == 1
    positives, negatives = int(defaults.sum()), int((~defaults).sum())
    if not positives or not negatives:
        raise ValueError("AUC needs both defaulted and repaid rows")
    return float((ranks[defaults].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def kolmogorov_smirnov(target: np.ndarray, probability_of_default: np.ndarray) -> float:
    """The largest gap between the score distributions of defaulters and payers."""
    defaulters = np.sort(probability_of_default[target == 1])
    payers = np.sort(probability_of_default[target == 0])
    thresholds = np.unique(probability_of_default)
    gap = np.searchsorted(defaulters, thresholds, side="right") / len(defaulters) - np.searchsorted(
        payers, thresholds, side="right"
    ) / len(payers)
    return float(np.abs(gap).max())


def calibration_table(
    target: np.ndarray, probability_of_default: np.ndarray, policy: DecisionPolicy, bands: int = CALIBRATION_BANDS
) -> list[CalibrationBand]:
    """Predicted against observed default rate in equal-count bands of the score, riskiest first."""
    scores = np.array([policy.score(p) for p in probability_of_default])
    order = np.argsort(scores, kind="stable")
    table: list[CalibrationBand] = []
    for index, rows in enumerate(part for part in np.array_split(order, bands) if len(part)):
        table.append(
            {
                "band": index + 1,
                "score_from": int(scores[rows].min()),
                "score_to": int(scores[rows].max()),
                "count": len(rows),
                "mean_probability_of_default": float(probability_of_default[rows].mean()),
                "observed_default_rate": float(target[rows].mean()),
            }
        )
    return table


def performance_metrics(
    *, target: np.ndarray, probability_of_default: np.ndarray, policy: DecisionPolicy
) -> PerformanceMetrics:
    """AUC, Gini, KS, Brier score, log loss and the calibration table on one sample."""
    target = np.asarray(target, dtype=np.int64)
    probability = np.asarray(probability_of_default, dtype=float)
    auc = area_under_curve(target, probability)
    clipped = np.clip(probability, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    log_loss = -float(np.mean(target * np.log(clipped) + (1 - target) * np.log(1 - clipped)))
    return {
        "count": len(target),
        "default_rate": float(target.mean()),
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": kolmogorov_smirnov(target, probability),
        "brier": float(np.mean((probability - target) ** 2)),
        "log_loss": log_loss,
        "calibration": calibration_table(target, probability, policy),
        "roc": roc_points(target, probability),
    }


def roc_points(target: np.ndarray, probability_of_default: np.ndarray, *, most: int = 101) -> RocCurve:
    """The ROC curve (default is the positive class), thinned to at most `most` points for charts."""
    from sklearn.metrics import roc_curve

    false_positive_rate, true_positive_rate, _ = roc_curve(target, probability_of_default)
    keep = np.unique(
        np.linspace(0, len(false_positive_rate) - 1, min(most, len(false_positive_rate))).round().astype(int)
    )
    return {"fpr": false_positive_rate[keep].tolist(), "tpr": true_positive_rate[keep].tolist()}


def fairness_summary(
    *,
    probability_of_default: np.ndarray,
    protected: pd.DataFrame,
    cutoff: float,
    min_group_size: int = FairnessConfig.min_group_size,
) -> FairnessSummary:
    """Approval rate per protected group at the cut-off, and each group's adverse impact ratio.

    The ratio is a group's approval rate over the most favoured group's for the same attribute (the
    highest approval rate among groups of at least `min_group_size`, as the fairness reports choose it;
    a handful of applicants all approved must not set the bar), and the four-fifths rule compares it
    with 0.8. It is read from the fairness engine's decision statistics so both report the same figure.
    Numeric columns (an age in years) are not groups and are skipped; rows without a value for an
    attribute do not count for it.
    """
    approved = np.asarray(probability_of_default) < cutoff
    summary: FairnessSummary = {"cutoff": cutoff, "most_favoured_groups": {}, "groups": {}}
    for attribute in protected.columns:
        column = protected[attribute]
        if pd.api.types.is_numeric_dtype(column):
            continue
        labels = column.astype("string").fillna("").to_numpy()
        known = labels != ""
        if not known.any():
            continue
        names, codes = np.unique(labels[known], return_inverse=True)
        # Outcomes are not needed for approval rates: every row counts as "not known", in one score band.
        counts = np.zeros((1, len(names), DECISION_STATES, OUTCOME_STATES, 1), dtype=np.int64)
        np.add.at(counts, (0, codes, approved[known].astype(np.int64), OUTCOME_UNKNOWN, 0), 1)
        sizes, accepted = counts[0].sum(axis=(1, 2, 3)), counts[0, :, 1].sum(axis=(1, 2))
        best = _most_favoured_index(accepted / sizes, sizes, min_group_size)
        statistics = decision_statistics(
            GroupTables(counts), reference=best, most_favoured=best, summarised=np.ones(len(names), dtype=bool)
        )
        ratios = statistics["adverse_impact_ratio_vs_most_favoured"][0]
        summary["groups"][str(attribute)] = {
            str(name): {
                "count": int(statistics["applicants"][0, g]),
                "approved": int(statistics["approved"][0, g]),
                "approval_rate": float(statistics["approval_rate"][0, g]),
                "adverse_impact_ratio": None if np.isnan(ratios[g]) else float(ratios[g]),
            }
            for g, name in enumerate(names)
        }
        summary["most_favoured_groups"][str(attribute)] = str(names[best])
    return summary


def model_evaluate(*, model: FittedModel, holdout: TrainingData, policy: DecisionPolicy) -> Evaluation:
    """A model's holdout evaluation: performance metrics and the fairness summary at `approve_below`."""
    probability = model.predict_proba_default(holdout.features)
    if not all(math.isfinite(p) for p in probability):
        raise ValueError("the model produced a probability that is not a number")
    return {
        "metrics": performance_metrics(target=holdout.target, probability_of_default=probability, policy=policy),
        "fairness": fairness_summary(
            probability_of_default=probability, protected=holdout.protected, cutoff=policy.approve_below
        ),
    }
