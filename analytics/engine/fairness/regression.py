"""Regression-adjusted disparity: the part of a group's denial gap that credit factors do not explain.

A raw gap in denial rates may come from differences in income, debt or collateral; examiners ask how
much remains once the lender's declared legitimate credit factors are held equal. A logistic
regression of denial on group indicators and those controls answers it; the effect is reported as
an average marginal effect on the probability of denial, in the same units as the raw gap:

    effect(g) = mean over applicants i of group g of [ P(deny | x_i, group g) - P(deny | x_i, reference) ]

with a delta-method interval (covariates held at their observed values). The model is fitted by
Newton's method (IRLS), unpenalised, so its covariance matrix is the inverse Fisher information;
scikit-learn's LogisticRegression(penalty=None) gives the same coefficients (tested).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import linalg, sparse
from scipy.special import expit
from scipy.stats import norm

from analytics.engine.fairness.estimates import Estimate, to_json
from finai.errors import ApplicationError

NumericTreatment = Literal["bins", "linear"]
MISSING = "(missing)"
MAX_ITERATIONS = 50
STEP_TOLERANCE = 1e-9
# A squared residual below this share of a column's squared norm: it adds nothing to the columns before it.
COLLINEAR_TOLERANCE = 1e-9
# A coefficient this large means the data separate the outcome: no finite estimate exists.
SEPARATION_LIMIT = 25.0


@dataclass(frozen=True)
class ControlSummary:
    """How one control entered the model: its treatment, design columns, rows where it was missing, and
    rows of categories too rare to estimate (fewer than the minimum group size), counted with the most
    frequent category so that they cannot separate the outcome."""

    name: str
    treatment: str
    columns: int
    missing: int
    merged_rare: int = 0


@dataclass(frozen=True)
class GroupDisparity:
    """Differences in the probability of denial against the reference group (positive: denied more)."""

    group: str
    applicants: int
    denial_rate: float
    raw_difference: Estimate
    adjusted_difference: Estimate
    adjusted_odds_ratio: Estimate
    p_value: float


@dataclass(frozen=True)
class AdjustedDisparity:
    attribute: str
    reference_group: str
    reference_denial_rate: float
    rows_used: int
    rows_not_known: int
    small_groups: dict[str, int]
    controls: tuple[ControlSummary, ...]
    dropped_columns: tuple[str, ...]
    iterations: int
    confidence: float
    groups: tuple[GroupDisparity, ...]

    def group(self, label: str) -> GroupDisparity:
        for disparity in self.groups:
            if disparity.group == label:
                return disparity
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)


@dataclass(frozen=True)
class LogisticFit:
    coefficients: np.ndarray
    covariance: np.ndarray
    iterations: int


def _invalid(message: str, details: dict[str, str]) -> ApplicationError:
    return ApplicationError(message, details=details, code="invalid_regression_input")


def _information(design: sparse.csr_matrix, probability: np.ndarray) -> np.ndarray:
    """Fisher information X' W X, W = p (1 - p): sparse, as design columns are mostly indicators."""
    return np.asarray((design.T @ (sparse.diags(probability * (1 - probability)) @ design)).todense())


def logistic_fit(design: np.ndarray, outcome: np.ndarray, *, names: list[str] | None = None) -> LogisticFit:
    """Unpenalised logistic regression by Newton's method; covariance = inverse Fisher information."""
    matrix = sparse.csr_matrix(design)
    coefficients = np.zeros(design.shape[1])
    iterations, converged = 0, False
    while not converged and iterations < MAX_ITERATIONS:
        iterations += 1
        probability = expit(matrix @ coefficients)
        try:
            factor = linalg.cho_factor(_information(matrix, probability))
        except linalg.LinAlgError:
            raise _invalid(
                "The regression cannot be fitted.", {"design": "the information matrix is singular"}
            ) from None
        step = linalg.cho_solve(factor, matrix.T @ (outcome - probability))
        coefficients = coefficients + step
        converged = bool(np.max(np.abs(step)) < STEP_TOLERANCE)
    separated = np.flatnonzero(np.abs(coefficients) > SEPARATION_LIMIT)
    if not converged or len(separated):
        labels = names or [f"column {j}" for j in range(design.shape[1])]
        culprits = ", ".join(labels[j] for j in separated) or "unknown"
        raise _invalid(
            "The regression did not converge: some categories predict the decision perfectly.",
            {"controls": f"merge or drop sparse categories ({culprits})"},
        )
    information = _information(matrix, expit(matrix @ coefficients))
    covariance = linalg.cho_solve(linalg.cho_factor(information), np.eye(len(coefficients)))
    return LogisticFit(coefficients, covariance, iterations)


def _dummies(codes: np.ndarray, categories: list[str], name: str) -> tuple[np.ndarray, list[str]]:
    """Indicator columns for every category present except the most frequent (the baseline)."""
    counts = np.bincount(codes, minlength=len(categories))
    kept = [c for c in np.flatnonzero(counts) if c != int(np.argmax(counts))]
    position = np.full(len(categories), -1)
    position[kept] = np.arange(len(kept))
    matrix = np.zeros((len(codes), len(kept)))
    rows = np.flatnonzero(position[codes] >= 0)
    matrix[rows, position[codes[rows]]] = 1.0
    return matrix, [f"{name}={categories[c]}" for c in kept]


def _control_design(
    column: pd.Series, *, categorical: bool, treatment: NumericTreatment, bins: int, min_category: int
) -> tuple[np.ndarray, list[str], ControlSummary]:
    name = str(column.name)
    missing = column.isna().to_numpy()
    if categorical:
        codes, uniques = pd.factorize(column.astype("string"), sort=True)
        categories = [*map(str, uniques), MISSING]
        codes = np.where(codes < 0, len(uniques), codes)
        counts = np.bincount(codes, minlength=len(categories))
        rare = (counts < min_category)[codes]
        codes = np.where(rare, int(np.argmax(counts)), codes)
        matrix, names = _dummies(codes, categories, name)
        return matrix, names, ControlSummary(name, "categorical", matrix.shape[1], int(missing.sum()), int(rare.sum()))
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(numbers[~missing]).any():
        raise _invalid("A numeric control holds text.", {name: "declare it categorical or clean the values"})
    if treatment == "linear":
        present = numbers[~missing]
        scale = present.std() or 1.0
        standardised = np.where(missing, 0.0, (numbers - present.mean()) / scale)
        columns, names = [standardised], [name]
        if missing.any():
            columns.append(missing.astype(np.float64))
            names.append(f"{name}={MISSING}")
        matrix = np.stack(columns, axis=1)
        return matrix, names, ControlSummary(name, "linear", matrix.shape[1], int(missing.sum()))
    if missing.all():
        return np.zeros((len(numbers), 0)), [], ControlSummary(name, "all missing", 0, int(missing.sum()))
    edges = np.unique(np.quantile(numbers[~missing], np.linspace(0, 1, bins + 1)))
    bands = len(edges) - 1
    codes = np.where(missing, bands, np.searchsorted(edges[1:-1], numbers, side="right"))
    categories = [f"[{edges[k]:g}, {edges[k + 1]:g}{']' if k == bands - 1 else ')'}" for k in range(bands)]
    matrix, names = _dummies(codes, [*categories, MISSING], name)
    return matrix, names, ControlSummary(name, f"{bands} quantile bins", matrix.shape[1], int(missing.sum()))


def _independent_columns(design: np.ndarray, protected_columns: int, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Drop control columns that repeat others; refuse controls that reproduce group membership.

    A Cholesky factorisation of the Gram matrix, column by column in the order intercept, controls,
    groups: a column whose squared residual on the columns kept before it is a negligible share of its
    squared norm adds nothing. A control that does is dropped; a group column that does means the
    controls identify the group, and no adjusted effect can be estimated.
    """
    width = design.shape[1]
    order = [0, *range(protected_columns, width), *range(1, protected_columns)]
    matrix = sparse.csr_matrix(design[:, order])
    gram = np.asarray((matrix.T @ matrix).todense())
    factor = np.zeros((width, width))
    independent = np.zeros(width, dtype=bool)
    for j in range(width):
        residual = gram[j, j] - factor[j, :j] @ factor[j, :j]
        if residual <= COLLINEAR_TOLERANCE * gram[j, j]:
            continue
        independent[j] = True
        factor[j, j] = np.sqrt(residual)
        factor[j + 1 :, j] = (gram[j + 1 :, j] - factor[j + 1 :, :j] @ factor[j, :j]) / factor[j, j]
    keep = np.empty(width, dtype=bool)
    keep[order] = independent
    if not keep[:protected_columns].all():
        raise _invalid(
            "The groups cannot be told apart from the controls.",
            {"controls": "the controls reproduce group membership (a proxy for the protected attribute); drop it"},
        )
    return design[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def _design_build(
    base: np.ndarray,
    base_names: list[str],
    frame: pd.DataFrame,
    *,
    categorical: Collection[str],
    treatment: NumericTreatment,
    bins: int,
    min_category: int,
) -> tuple[np.ndarray, list[str], tuple[ControlSummary, ...], tuple[str, ...]]:
    """Intercept and group indicators, then every control's columns; redundant control columns dropped."""
    blocks, names, summaries = [base], list(base_names), []
    for name in frame.columns:
        matrix, column_names, summary = _control_design(
            frame[name], categorical=str(name) in categorical, treatment=treatment, bins=bins, min_category=min_category
        )
        blocks.append(matrix)
        names += column_names
        summaries.append(summary)
    design, kept = _independent_columns(np.hstack(blocks), len(base_names), names)
    return design, kept, tuple(summaries), tuple(name for name in names if name not in kept)


def _marginal_effects(
    fit: LogisticFit, design: np.ndarray, members: list[np.ndarray], z: float
) -> list[tuple[float, float, float]]:
    """Average marginal effect of each group's indicator (column 1 + g) over its members, with interval."""
    effects = []
    for index, rows in enumerate(members):
        as_group = design[rows]
        as_reference = as_group.copy()
        as_reference[:, 1 + index] = 0.0
        p_group = expit(as_group @ fit.coefficients)
        p_reference = expit(as_reference @ fit.coefficients)
        effect = float(np.mean(p_group - p_reference))
        gradient = ((p_group * (1 - p_group)) @ as_group - (p_reference * (1 - p_reference)) @ as_reference) / len(rows)
        error = float(np.sqrt(gradient @ fit.covariance @ gradient))
        effects.append((effect, effect - z * error, effect + z * error))
    return effects


def adjusted_disparity_estimate(
    *,
    approved: ArrayLike,
    groups: ArrayLike,
    controls: pd.DataFrame,
    categorical: Collection[str] = (),
    attribute: str = "group",
    reference_group: str | None = None,
    numeric_treatment: NumericTreatment = "bins",
    numeric_bins: int = 10,
    min_group_size: int = 30,
    confidence: float = 0.95,
) -> AdjustedDisparity:
    """Each group's raw and regression-adjusted difference in denial probability against the reference.

    `groups` holds one protected attribute's labels (missing: the row is left out, and counted).
    Controls named in `categorical` enter as indicators (missing values as their own category, rare
    categories merged into the most frequent); numeric controls as quantile bins with a missing bin
    (`bins`, robust to outliers and non-linearity) or standardised with a missing indicator
    (`linear`). Groups smaller than `min_group_size` are not estimated (too few to separate from
    chance) and are listed. The reference defaults to the largest group.
    """
    decisions = np.asarray(approved)
    labels = pd.Series(np.asarray(groups, dtype=object)).astype("string")
    problems: dict[str, str] = {}
    if decisions.ndim != 1 or not np.isin(decisions, (0, 1)).all():
        problems["approved"] = "must be 0 (denied) or 1 (approved) on every row"
    if len(labels) != len(decisions) or len(controls) != len(decisions):
        problems["groups"] = "approved, groups and controls must have the same number of rows"
    unknown = sorted(set(categorical) - set(map(str, controls.columns)))
    if unknown:
        problems["categorical"] = f"not among the controls: {', '.join(unknown)}"
    if not 0 < confidence < 1:
        problems["confidence"] = "must be between 0 and 1"
    if problems:
        raise _invalid("The regression-adjusted disparity cannot be estimated.", problems)
    known = labels.notna().to_numpy()
    sizes = labels[known].value_counts()
    small = {str(label): int(count) for label, count in sizes.items() if count < min_group_size}
    estimable = sizes[sizes >= min_group_size]
    reference = str(estimable.index[0]) if reference_group is None and len(estimable) else reference_group
    if reference is None or reference not in estimable.index:
        raise _invalid(
            "The reference group cannot be estimated.",
            {"reference_group": f"{reference!r} is missing or has fewer than {min_group_size} applicants"},
        )
    compared = sorted(str(label) for label in estimable.index if label != reference)
    rows = known & labels.isin(estimable.index).fillna(False).to_numpy()
    denied = 1.0 - decisions[rows].astype(np.float64)
    if denied.min() == denied.max():
        raise _invalid("Every applicant had the same decision.", {"approved": "needs both approvals and denials"})
    used = labels[rows].to_numpy(dtype=object)
    group_columns = (used[:, np.newaxis] == np.array(compared, dtype=object)[np.newaxis, :]).astype(np.float64)
    base = np.hstack([np.ones((len(used), 1)), group_columns])
    base_names = ["intercept", *(f"{attribute}={label}" for label in compared)]
    design, kept_names, summaries, dropped = _design_build(
        base,
        base_names,
        controls.iloc[np.flatnonzero(rows)].reset_index(drop=True),
        categorical=categorical,
        treatment=numeric_treatment,
        bins=numeric_bins,
        min_category=min_group_size,
    )
    z = float(norm.ppf(0.5 + confidence / 2))
    members = [np.flatnonzero(used == label) for label in compared]
    raw = _marginal_effects(logistic_fit(base, denied, names=base_names), base, members, z)
    fit = logistic_fit(design, denied, names=kept_names)
    adjusted = _marginal_effects(fit, design, members, z)
    errors = np.sqrt(np.diag(fit.covariance))
    reference_rows = used == reference
    results = []
    for index, label in enumerate(compared):
        coefficient, error = fit.coefficients[1 + index], errors[1 + index]
        results.append(
            GroupDisparity(
                group=label,
                applicants=len(members[index]),
                denial_rate=float(denied[members[index]].mean()),
                raw_difference=Estimate.of(*raw[index]),
                adjusted_difference=Estimate.of(*adjusted[index]),
                adjusted_odds_ratio=Estimate.of(
                    np.exp(coefficient), np.exp(coefficient - z * error), np.exp(coefficient + z * error)
                ),
                p_value=float(2 * norm.sf(abs(coefficient / error))),
            )
        )
    return AdjustedDisparity(
        attribute=attribute,
        reference_group=reference,
        reference_denial_rate=float(denied[reference_rows].mean()),
        rows_used=int(rows.sum()),
        rows_not_known=int((~known).sum()),
        small_groups=small,
        controls=summaries,
        dropped_columns=dropped,
        iterations=fit.iterations,
        confidence=confidence,
        groups=tuple(results),
    )
