"""Account scores from account features: an unsupervised anomaly score and a supervised scorer, with reasons.

The anomaly score (an isolation forest) needs no labels, so it runs on a book where no case was ever
confirmed; the supervised scorer learns from labelled accounts (AMLSim's, or a bank's closed cases) and
is chosen between gradient boosting and logistic regression by grouped cross-validated PR-AUC, because
alerts are rare and precision at the top of the queue is what an investigator's time buys.

Every score comes with reasons an investigator can check against the account ("incoming payments 41,
above 99% of accounts"): for the anomaly score, the features where the account is furthest out in the
population; for the supervised scorer, the features whose replacement by the population's median
lowers the account's score most (an occlusion estimate, cheap and free of SHAP). Fitted scorers are
plain dataclasses of scikit-learn estimators and numpy arrays, so they pickle as model artifacts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from analytics.engine.screening.account_features import FEATURES, Feature
from finai.errors import ApplicationError

FAMILIES = ("gradient_boosting", "logistic")
CROSS_VALIDATION_FOLDS = 3
NO_POSITIVES = "The labels hold no laundering account to learn from."
INVALID_FAMILY = "The scorer family is invalid."
UNKNOWN_FAMILY = "unknown family; one of: {known}"
MISSING_FEATURES = "The features lack columns the scorer was fitted on."


def _signed_log(values: np.ndarray) -> np.ndarray:
    """Counts and amounts span orders of magnitude; a log keeps one hub from flattening everyone else."""
    return np.sign(values) * np.log1p(np.abs(values))


@dataclass(frozen=True)
class PopulationReference:
    """Each feature's sorted values at fit time, so a reason can say where an account stands."""

    names: tuple[str, ...]
    sorted_values: tuple[np.ndarray, ...]

    @classmethod
    def from_features(cls, features: pd.DataFrame) -> PopulationReference:
        return cls(
            names=tuple(features.columns), sorted_values=tuple(np.sort(features[name].to_numpy()) for name in features)
        )

    def shares_below_and_above(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each cell, the share of the population strictly below it and strictly above it."""
        below, above = np.empty_like(matrix, dtype=float), np.empty_like(matrix, dtype=float)
        for column, values in enumerate(self.sorted_values):
            below[:, column] = np.searchsorted(values, matrix[:, column], side="left") / values.size
            above[:, column] = 1 - np.searchsorted(values, matrix[:, column], side="right") / values.size
        return below, above

    def phrases(self, matrix: np.ndarray, *, ranking: np.ndarray, top: int) -> list[tuple[str, ...]]:
        """Per row, the `top` features by `ranking` (positive only), each as value and standing in words."""
        below, above = self.shares_below_and_above(matrix)
        order = np.argsort(-ranking, axis=1, kind="stable")[:, :top]
        phrases: list[tuple[str, ...]] = []
        for row, columns in enumerate(order):
            texts = []
            for column in columns:
                if ranking[row, column] <= 0:
                    break
                feature = FEATURES.get(self.names[column], Feature(self.names[column], "ratio"))
                higher = below[row, column] >= above[row, column]
                share = below[row, column] if higher else above[row, column]
                standing = f"{'above' if higher else 'below'} {math.floor(share * 100)}% of accounts"
                texts.append(f"{feature.describe(float(matrix[row, column]))}, {standing}")
            phrases.append(tuple(texts))
        return phrases


def _matrix(features: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise ApplicationError(
            MISSING_FEATURES, details={name: "missing column" for name in missing}, code="invalid_features"
        )
    return features.loc[:, list(names)].to_numpy(dtype=float)


def _scores_frame(index: pd.Index, scores: np.ndarray, reasons: list[tuple[str, ...]] | None) -> pd.DataFrame:
    frame = pd.DataFrame({"score": scores}, index=index)
    if reasons is not None:
        frame["reasons"] = pd.Series(reasons, index=index, dtype=object)
    return frame


@dataclass(frozen=True)
class AccountAnomalyScorer:
    """An isolation forest over the (log-scaled) features; score = the forest's anomaly score in (0, 1)."""

    forest: IsolationForest
    reference: PopulationReference

    def score(self, *, features: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """Columns `score` (higher = more unusual) and, when `reasons` > 0, `reasons` (the most extreme features)."""
        matrix = _matrix(features, self.reference.names)
        scores = -self.forest.score_samples(_signed_log(matrix))
        phrases = None
        if reasons > 0:
            below, above = self.reference.shares_below_and_above(matrix)
            phrases = self.reference.phrases(matrix, ranking=np.maximum(below, above), top=reasons)
        return _scores_frame(features.index, scores, phrases)


def account_anomaly_fit(*, features: pd.DataFrame, seed: int = 0, trees: int = 300) -> AccountAnomalyScorer:
    """Fit the anomaly scorer on every account of a book: no labels, so it serves where none exist."""
    forest = IsolationForest(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(_signed_log(features.to_numpy(dtype=float)))
    return AccountAnomalyScorer(forest=forest, reference=PopulationReference.from_features(features))


def _estimator(family: str, seed: int) -> HistGradientBoostingClassifier | Pipeline:
    if family == "gradient_boosting":
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=300, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed
        )
    if family == "logistic":
        return make_pipeline(
            FunctionTransformer(_signed_log), StandardScaler(), LogisticRegression(C=1.0, max_iter=2_000)
        )
    raise ApplicationError(
        INVALID_FAMILY,
        details={"family": UNKNOWN_FAMILY.format(known=", ".join(FAMILIES))},
        code="invalid_family",
    )


@dataclass(frozen=True)
class AccountClassifier:
    """A fitted supervised scorer; `cross_validated_pr_auc` records why its family was chosen."""

    family: str
    model: HistGradientBoostingClassifier | Pipeline
    reference: PopulationReference
    medians: np.ndarray
    cross_validated_pr_auc: dict[str, float] = field(default_factory=dict)

    def score(self, *, features: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """Columns `score` (probability of laundering) and, when `reasons` > 0, `reasons` (what raised it most)."""
        matrix = _matrix(features, self.reference.names)
        scores = self.model.predict_proba(matrix)[:, 1]
        phrases = None
        if reasons > 0:
            lowered = np.empty_like(matrix)
            for column in range(matrix.shape[1]):
                occluded = matrix.copy()
                occluded[:, column] = self.medians[column]
                lowered[:, column] = scores - self.model.predict_proba(occluded)[:, 1]
            phrases = self.reference.phrases(matrix, ranking=lowered, top=reasons)
        return _scores_frame(features.index, scores, phrases)


def _cross_validated_pr_auc(
    family: str, matrix: np.ndarray, target: np.ndarray, groups: np.ndarray, seed: int
) -> float:
    """Out-of-fold PR-AUC over folds of whole groups, each group's fold drawn at random (seeded)."""
    group_codes, group_of_row = np.unique(groups, return_inverse=True)
    fold_of_group = np.random.default_rng(seed).permutation(group_codes.size) % CROSS_VALIDATION_FOLDS
    fold = fold_of_group[group_of_row]
    predicted = np.empty(target.size)
    for held in range(CROSS_VALIDATION_FOLDS):
        model = _estimator(family, seed).fit(matrix[fold != held], target[fold != held])
        predicted[fold == held] = model.predict_proba(matrix[fold == held])[:, 1]
    return float(average_precision_score(target, predicted))


def account_classifier_fit(
    *,
    features: pd.DataFrame,
    labels: pd.Series,
    groups: pd.Series | None = None,
    family: str | None = None,
    seed: int = 0,
) -> AccountClassifier:
    """Fit on the accounts that have a label (`labels`: account -> bool, laundering).

    With `family` None, each family is cross-validated on folds that keep each of `groups` whole (a
    laundering pattern's accounts, so a model is not scored on the accomplices of accounts it learned
    from; each account its own group when `groups` is None) and the better PR-AUC is fitted on all rows.
    """
    labelled = features.loc[features.index.isin(labels.index)]
    target = labels.reindex(labelled.index).to_numpy(dtype=bool)
    if not target.any():
        raise ApplicationError(NO_POSITIVES, code="invalid_labels")
    matrix = labelled.to_numpy(dtype=float)
    cross_validated: dict[str, float] = {}
    if family is None:
        group_ids = np.arange(target.size)
        if groups is not None:
            codes = pd.factorize(groups.reindex(labelled.index))[0]
            group_ids = np.where(codes >= 0, codes, codes.max() + 1 + group_ids)  # ungrouped: on its own
        cross_validated = {name: _cross_validated_pr_auc(name, matrix, target, group_ids, seed) for name in FAMILIES}
        family = max(cross_validated, key=cross_validated.__getitem__)
    model = _estimator(family, seed).fit(matrix, target)
    return AccountClassifier(
        family=family,
        model=model,
        reference=PopulationReference.from_features(labelled),
        medians=np.median(matrix, axis=0),
        cross_validated_pr_auc=cross_validated,
    )
