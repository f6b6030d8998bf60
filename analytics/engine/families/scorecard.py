"""The credit scorecard: binned weight-of-evidence logistic regression, scaled to points.

The industry standard because every point is attributable: each characteristic (feature) puts the
applicant in one of its bins, each bin carries points, the points add up to the score, and "points
below the characteristic's maximum" is the classic adverse-action reason method.

Numerics are fine-binned at quantiles, small bins merged, and — where the spec declares a direction —
adjacent bins pooled until the default rate is monotone in that direction (pool adjacent violators), so
a longer loan can never earn more points than a shorter one.
"""

from __future__ import annotations

import bisect
import io
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import joblib
import numpy as np
import pandas as pd

from analytics.engine.families.base import Family, FittedModel, Kernel, Progress, TrainingData, report
from analytics.engine.features import Feature, FeatureCoding
from analytics.engine.policy import ScoreScale

SMOOTHING = 0.5  # added to each bin's goods and bads, so an all-good bin has a finite weight of evidence
NOT_KNOWN = "(not known)"  # the group of training rows whose protected attribute is missing
MIXTURE_WEIGHT_FLOOR = 1e-9  # members the reduction gives no weight are left out of the artifact
ParityConstraint = Literal["demographic_parity", "true_positive_rate_parity"]
PARITY_CONSTRAINTS: tuple[str, ...] = ("demographic_parity", "true_positive_rate_parity")


@dataclass(frozen=True)
class Characteristic:
    """One feature's bins: how a value finds its bin, and each bin's weight of evidence.

    Numeric bins are right-closed between `edges` (bin = number of edges below the value); categorical
    bins are listed per category code; missing values have their own bin when training had any.
    """

    name: str
    kind: str
    edges: tuple[float, ...]
    category_bins: tuple[int, ...]
    missing_bin: int | None
    woe: tuple[float, ...]
    labels: tuple[str, ...]
    information_value: float

    def bins(self, codes: np.ndarray) -> np.ndarray:
        missing = np.isnan(codes)
        safe = np.where(missing, 0.0, codes)
        if self.kind == "numeric":
            found = np.searchsorted(np.asarray(self.edges), safe, side="left")
        else:
            found = np.asarray(self.category_bins, dtype=np.int64)[safe.astype(np.int64)]
        return np.where(missing, -1 if self.missing_bin is None else self.missing_bin, found)

    def bin_of(self, code: float) -> int:
        if code != code:  # NaN: the coding admits it only where training had missing values
            return self.missing_bin  # type: ignore[return-value]
        if self.kind == "numeric":
            return bisect.bisect_left(self.edges, code)
        return self.category_bins[int(code)]


def _woe(goods: np.ndarray, bads: np.ndarray) -> tuple[np.ndarray, float]:
    """Weight of evidence per bin (positive = safer than average) and the information value."""
    count = len(goods)
    good_share = (goods + SMOOTHING) / (goods.sum() + SMOOTHING * count)
    bad_share = (bads + SMOOTHING) / (bads.sum() + SMOOTHING * count)
    woe = np.log(good_share / bad_share)
    return woe, float(((good_share - bad_share) * woe).sum())


def _merge_small(counts: list[int], bads: list[int], edges: list[float], minimum: int) -> None:
    """Merge each bin below `minimum` rows into the neighbour whose default rate is closest."""
    while len(counts) > 1 and min(counts) < minimum:
        small = counts.index(min(counts))
        rate = bads[small] / max(counts[small], 1)
        neighbours = [i for i in (small - 1, small + 1) if 0 <= i < len(counts)]
        other = min(neighbours, key=lambda i: abs(bads[i] / max(counts[i], 1) - rate))
        low, high = sorted((small, other))
        counts[low] += counts.pop(high)
        bads[low] += bads.pop(high)
        edges.pop(low)


def _make_monotone(counts: list[int], bads: list[int], edges: list[float], direction: int) -> None:
    """Pool adjacent bins until the default rate moves only in `direction` (+1 rising with the value)."""
    index = 1
    while index < len(counts):
        previous, current = bads[index - 1] / counts[index - 1], bads[index] / counts[index]
        if (current - previous) * direction < 0:
            counts[index - 1] += counts.pop(index)
            bads[index - 1] += bads.pop(index)
            edges.pop(index - 1)
            index = max(index - 1, 1)
        else:
            index += 1


def _numeric_characteristic(
    feature: Feature, codes: np.ndarray, target: np.ndarray, weights: np.ndarray, params: Mapping[str, Any]
) -> Characteristic:
    """Bins from the rows' quantiles; goods and bads counted with the rows' sample weights."""
    present = ~np.isnan(codes)
    values, outcome, weight = codes[present], target[present], weights[present]
    quantiles = np.quantile(values, np.linspace(0, 1, params["fine_bins"] + 1)[1:-1], method="inverted_cdf")
    edges = sorted({float(q) for q in quantiles if q < values.max()})
    found = np.searchsorted(np.asarray(edges), values, side="left")
    counts = np.bincount(found, weights=weight, minlength=len(edges) + 1).tolist()
    bads = np.bincount(found, weights=outcome * weight, minlength=len(edges) + 1).tolist()
    _merge_small(counts, bads, edges, max(1, math.ceil(params["min_bin_fraction"] * weights.sum())))
    if feature.monotone:
        _make_monotone(counts, bads, edges, feature.monotone)
    labels = _interval_labels(edges)
    missing_bin = None
    if not present.all():
        missing_bin = len(counts)
        counts.append(float(weights[~present].sum()))
        bads.append(float((target * weights)[~present].sum()))
        labels.append("missing")
    bad_counts = np.asarray(bads, dtype=float)
    woe, information_value = _woe(np.asarray(counts, dtype=float) - bad_counts, bad_counts)
    return Characteristic(
        feature.name, "numeric", tuple(edges), (), missing_bin, tuple(woe.tolist()), tuple(labels), information_value
    )


def _categorical_characteristic(
    feature: Feature,
    codes: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    coding: FeatureCoding,
    params: Mapping[str, Any],
) -> Characteristic:
    categories = coding.categories[feature.name]
    present = ~np.isnan(codes)
    known = codes[present].astype(np.int64)
    counts = np.bincount(known, weights=weights[present], minlength=len(categories))
    bads = np.bincount(known, weights=(target * weights)[present], minlength=len(categories))
    minimum = params["min_bin_fraction"] * weights.sum()
    rare = [i for i in range(len(categories)) if counts[i] < minimum]
    common = [i for i in range(len(categories)) if counts[i] >= minimum]
    groups = [[i] for i in common] + ([rare] if rare else [])
    category_bins = [0] * len(categories)
    for index, group in enumerate(groups):
        for category in group:
            category_bins[category] = index
    bin_counts = [float(counts[group].sum()) for group in groups]
    bin_bads = [float(bads[group].sum()) for group in groups]
    labels = [" | ".join(categories[i] for i in group) for group in groups]
    missing_bin = None
    if not present.all():
        missing_bin = len(groups)
        bin_counts.append(float(weights[~present].sum()))
        bin_bads.append(float((target * weights)[~present].sum()))
        labels.append("missing")
    bad_counts = np.asarray(bin_bads)
    woe, information_value = _woe(np.asarray(bin_counts) - bad_counts, bad_counts)
    return Characteristic(
        feature.name,
        "categorical",
        (),
        tuple(category_bins),
        missing_bin,
        tuple(woe.tolist()),
        tuple(labels),
        information_value,
    )


def _interval_labels(edges: Sequence[float]) -> list[str]:
    bounds = [-math.inf, *edges, math.inf]
    return [
        f"<= {bounds[1]:g}"
        if i == 0
        else (f"> {bounds[i]:g}" if i == len(edges) else f"{bounds[i]:g} < x <= {bounds[i + 1]:g}")
        for i in range(len(edges) + 1)
    ]


class ScorecardKernel(Kernel):
    """Per characteristic, a bin lookup and a table of log-odds contributions: pure Python floats."""

    def __init__(self, model: ScorecardModel) -> None:
        self.intercept = model.intercept
        self.characteristics = model.characteristics
        self.contributions = _contribution_tables(model.coefficients, model.characteristics)
        self.least = [min(row) for row in self.contributions]
        self.factor = model.scale.factor

    def locate(self, codes: Sequence[float]) -> list[int]:
        return [ch.bin_of(code) for ch, code in zip(self.characteristics, codes, strict=True)]

    def probability_of_default(self, located: list[int]) -> float:
        log_odds = self.intercept
        for row, found in zip(self.contributions, located, strict=True):
            log_odds += row[found]
        return 1.0 / (1.0 + math.exp(-log_odds))

    def attributions(self, located: list[int]) -> np.ndarray:
        """Points below each characteristic's maximum: the points this applicant did not earn."""
        return np.array(
            [
                self.factor * (row[found] - least)
                for row, found, least in zip(self.contributions, located, self.least, strict=True)
            ]
        )


def _contribution_tables(coefficients: Sequence[float], characteristics: Sequence[Characteristic]) -> list[list[float]]:
    return [[c * w for w in ch.woe] for c, ch in zip(coefficients, characteristics, strict=True)]


class ScorecardModel(FittedModel):
    family = "scorecard"
    attribution_unit = "points below the characteristic's maximum"

    def __init__(
        self,
        *,
        characteristics: tuple[Characteristic, ...],
        regression: Any,
        used: tuple[bool, ...],
        scale: ScoreScale,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.characteristics = characteristics
        self.regression = regression
        self.used = used
        self.scale = scale
        self.coefficients, self.intercept = self._linear_part()

    def _linear_part(self) -> tuple[tuple[float, ...], float]:
        """Per characteristic its coefficient on the log-odds of default (0 if unused), and the intercept."""
        weights = iter(self.regression.coef_[0].tolist())
        return tuple(next(weights) if flag else 0.0 for flag in self.used), float(self.regression.intercept_[0])

    def woe_matrix(self, codes: np.ndarray) -> np.ndarray:
        """The regression's inputs: each used characteristic's weight of evidence for its bin."""
        columns = [
            np.asarray(ch.woe)[ch.bins(codes[:, j])]
            for j, (ch, flag) in enumerate(zip(self.characteristics, self.used, strict=True))
            if flag
        ]
        return np.column_stack(columns)

    def points_table(self) -> list[dict[str, Any]]:
        """Every characteristic's bins with their points: the scorecard as a lender would print it."""
        share = (self.scale.offset - self.scale.factor * self.intercept) / max(sum(self.used), 1)
        return [
            {
                "characteristic": ch.name,
                "information_value": ch.information_value,
                "bins": [
                    {"bin": label, "points": (-self.scale.factor * coefficient * woe + share) if flag else 0.0}
                    for label, woe in zip(ch.labels, ch.woe, strict=True)
                ],
            }
            for ch, coefficient, flag in zip(self.characteristics, self.coefficients, self.used, strict=True)
        ]

    def _predict_codes(self, codes: np.ndarray) -> np.ndarray:
        return self.regression.predict_proba(self.woe_matrix(codes))[:, 1]

    def _compile(self) -> Kernel:
        return ScorecardKernel(self)

    def _state(self) -> dict[str, Any]:
        return {
            "characteristics": [asdict(ch) for ch in self.characteristics],
            "used": list(self.used),
            "scale": self.scale.as_dict(),
        }

    def _payload(self) -> dict[str, bytes]:
        buffer = io.BytesIO()
        joblib.dump(self.regression, buffer)
        return {
            "scorecard.json": json.dumps(self._state(), sort_keys=True).encode(),
            "regression.joblib": buffer.getvalue(),
        }

    @classmethod
    def _from_payload(cls, files: Mapping[str, bytes], **common: Any) -> ScorecardModel:
        state = json.loads(files["scorecard.json"])
        characteristics = tuple(
            Characteristic(**{key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()})
            for raw in state["characteristics"]
        )
        parts = {
            "characteristics": characteristics,
            "used": tuple(state["used"]),
            "scale": ScoreScale(**state["scale"]),
        }
        if "members" in state:
            members = tuple(
                MixtureMember(m["weight"], m["intercept"], tuple(m["coefficients"])) for m in state["members"]
            )
            return ScorecardMixtureModel(members=members, **parts, **common)
        return cls(regression=joblib.load(io.BytesIO(files["regression.joblib"])), **parts, **common)


@dataclass(frozen=True)
class MixtureMember:
    """One logistic regression of a mixture: its share of the probability, its intercept and its
    coefficient per characteristic (on the log-odds of default; 0 where the scorecard uses none)."""

    weight: float
    intercept: float
    coefficients: tuple[float, ...]


class ScorecardMixtureKernel(ScorecardKernel):
    """Each member's log-odds from its own tables, averaged as probabilities; reasons as the parent's."""

    def __init__(self, model: ScorecardMixtureModel) -> None:
        super().__init__(model)
        self.members = [
            (member.weight, member.intercept, _contribution_tables(member.coefficients, model.characteristics))
            for member in model.members
        ]

    def probability_of_default(self, located: list[int]) -> float:
        probability = 0.0
        for weight, intercept, contributions in self.members:
            log_odds = intercept
            for row, found in zip(contributions, located, strict=True):
                log_odds += row[found]
            probability += weight / (1.0 + math.exp(-log_odds))
        return probability


class ScorecardMixtureModel(ScorecardModel):
    """A scorecard whose probability of default is a weighted average of logistic regressions on the
    same characteristics: the deterministic form of fairlearn's ExponentiatedGradient.

    The reduction's own classifier draws one member at random for every decision; a credit decision
    must be reproducible, so here the members' probabilities are averaged instead. Points and reasons
    read the members' weighted-average coefficients, so "points below the maximum" still ranks which
    characteristics cost the applicant most.
    """

    def __init__(
        self,
        *,
        characteristics: tuple[Characteristic, ...],
        members: tuple[MixtureMember, ...],
        used: tuple[bool, ...],
        scale: ScoreScale,
        **common: Any,
    ) -> None:
        self.members = members
        super().__init__(characteristics=characteristics, regression=None, used=used, scale=scale, **common)

    def _linear_part(self) -> tuple[tuple[float, ...], float]:
        coefficients = tuple(
            sum(member.weight * member.coefficients[j] for member in self.members) for j in range(len(self.used))
        )
        return coefficients, sum(member.weight * member.intercept for member in self.members)

    def _predict_codes(self, codes: np.ndarray) -> np.ndarray:
        woe = self.woe_matrix(codes)
        columns = [j for j, flag in enumerate(self.used) if flag]
        probability = np.zeros(len(codes))
        for member in self.members:
            log_odds = member.intercept + woe @ np.asarray(member.coefficients)[columns]
            probability += member.weight / (1.0 + np.exp(-log_odds))
        return probability

    def _compile(self) -> Kernel:
        return ScorecardMixtureKernel(self)

    def _payload(self) -> dict[str, bytes]:
        state = {**self._state(), "members": [asdict(member) for member in self.members]}
        return {"scorecard.json": json.dumps(state, sort_keys=True).encode()}


@dataclass(frozen=True)
class _Regression:
    """The plain scorecard's fit: its characteristics, which it uses, and the regression over them."""

    coding: FeatureCoding
    characteristics: tuple[Characteristic, ...]
    used: tuple[bool, ...]
    woe: np.ndarray
    regression: Any


class Scorecard(Family):
    name = "scorecard"
    model_class = ScorecardModel
    defaults = {
        "fine_bins": 10,
        "min_bin_fraction": 0.05,
        "min_information_value": 0.02,
        "regularisation": 1.0,
        "monotone": True,
        "base_score": 600.0,
        "base_odds": 50.0,
        "points_to_double_odds": 20.0,
    }

    def param_problems(self, params: Mapping[str, Any]) -> dict[str, str]:
        problems = {}
        if not isinstance(params["fine_bins"], int) or not 2 <= params["fine_bins"] <= 50:
            problems["fine_bins"] = "must be a whole number from 2 to 50"
        if not 0 <= params["min_bin_fraction"] < 0.5:
            problems["min_bin_fraction"] = "must be at least 0 and below 0.5"
        if params["min_information_value"] < 0:
            problems["min_information_value"] = "must not be negative"
        if params["regularisation"] <= 0:
            problems["regularisation"] = "must be positive (the inverse strength C)"
        if not isinstance(params["monotone"], bool):
            problems["monotone"] = "must be true (keep the spec's monotone directions) or false"
        if params["base_odds"] <= 0 or params["points_to_double_odds"] <= 0:
            problems["points_to_double_odds"] = "base_odds and points_to_double_odds must be positive"
        return problems

    def _model_arguments(self, fitted: _Regression, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """What the plain and the constrained scorecard models are both built from."""
        return {
            "characteristics": fitted.characteristics,
            "used": fitted.used,
            "scale": ScoreScale(
                base_score=params["base_score"],
                base_odds=params["base_odds"],
                points_to_double_odds=params["points_to_double_odds"],
            ),
            "coding": fitted.coding,
            "params": params,
            "seed": seed,
            "importance": {},
        }

    def _regression_fit(
        self, data: TrainingData, coding: FeatureCoding, params: Mapping[str, Any], seed: int, progress: Progress | None
    ) -> _Regression:
        from sklearn.linear_model import LogisticRegression

        codes = coding.matrix(data.features)
        weights = np.ones(len(data)) if data.weights is None else data.weights
        report(progress, 10, "binning characteristics")
        characteristics = tuple(
            _numeric_characteristic(feature, codes[:, j], data.target, weights, params)
            if feature.kind == "numeric"
            else _categorical_characteristic(feature, codes[:, j], data.target, weights, coding, params)
            for j, feature in enumerate(coding.spec.features)
        )
        used = [ch.information_value >= params["min_information_value"] and len(ch.woe) > 1 for ch in characteristics]
        report(progress, 50, "fitting the logistic regression")
        woe = np.column_stack([np.asarray(ch.woe)[ch.bins(codes[:, j])] for j, ch in enumerate(characteristics)])
        while True:
            columns = [j for j, flag in enumerate(used) if flag]
            if not columns:
                raise ValueError("no characteristic carries enough information to build a scorecard")
            regression = LogisticRegression(C=params["regularisation"], max_iter=1000, random_state=seed)
            regression.fit(woe[:, columns], data.target, sample_weight=data.weights)
            # Higher weight of evidence means safer, so every coefficient on default must be negative;
            # a positive one is collinearity, and would make points rise with risk: drop it and refit.
            wrong = int(np.argmax(regression.coef_[0]))
            if regression.coef_[0][wrong] <= 0:
                break
            used[columns[wrong]] = False
        return _Regression(coding, characteristics, tuple(used), woe, regression)

    def _learn(
        self, data: TrainingData, coding: FeatureCoding, params: Mapping[str, Any], seed: int, progress: Progress | None
    ) -> ScorecardModel:
        fitted = self._regression_fit(data, coding, params, seed, progress)
        return ScorecardModel(regression=fitted.regression, **self._model_arguments(fitted, params, seed))

    def fit_constrained(
        self,
        data: TrainingData,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        *,
        sensitive: Sequence[Any],
        constraint: ParityConstraint,
        tolerance: float,
        approve_below: float,
    ) -> ScorecardMixtureModel:
        """A scorecard under a fairness constraint: fairlearn's ExponentiatedGradient over logistic
        regressions on the plain scorecard's characteristics, made deterministic (ScorecardMixtureModel).

        `sensitive` (one protected group per training row) is read here, at training time, and never
        again: the model's inputs are the characteristics alone. The reduction learns approval (label:
        repaid) at the policy's cut-off: costs fp = 1 - approve_below and fn = approve_below make each
        member's 0.5 threshold the policy's, so "demographic_parity" equalises approval rates and
        "true_positive_rate_parity" approval rates among repayers (equal opportunity), within
        `tolerance`. Each member's probability is then shifted back by the log of the cost ratio, so its
        probability of default crosses `approve_below` exactly where it approves.
        """
        from fairlearn.reductions import DemographicParity, ErrorRate, ExponentiatedGradient, TruePositiveRateParity
        from sklearn.linear_model import LogisticRegression

        params = self.resolve_params(params)
        fitted = self._regression_fit(data, self.coding_for(data, params), params, seed, progress)
        columns = [j for j, flag in enumerate(fitted.used) if flag]
        groups = pd.Series(list(sensitive), dtype=object).fillna(NOT_KNOWN).astype(str).to_numpy()
        moments = {"demographic_parity": DemographicParity, "true_positive_rate_parity": TruePositiveRateParity}
        report(progress, 60, "searching the fairness-constrained mixture")
        reduction = ExponentiatedGradient(
            LogisticRegression(C=params["regularisation"], max_iter=1000, random_state=seed),
            constraints=moments[constraint](),
            objective=ErrorRate(costs={"fp": 1 - approve_below, "fn": approve_below}),
            eps=tolerance,
        )
        with warnings.catch_warnings():
            # fairlearn 0.15 sets pandas Series items in ways pandas deprecates; nothing to act on here.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="fairlearn")
            reduction.fit(fitted.woe[:, columns], 1 - data.target, sensitive_features=groups)
        shift = math.log((1 - approve_below) / approve_below)
        members = []
        for weight, predictor in zip(reduction.weights_, reduction.predictors_, strict=True):
            if weight <= MIXTURE_WEIGHT_FLOOR:
                continue
            approve_coefficients = iter(predictor.coef_[0].tolist())
            members.append(
                MixtureMember(
                    weight=float(weight),
                    intercept=-shift - float(predictor.intercept_[0]),
                    coefficients=tuple(-next(approve_coefficients) if flag else 0.0 for flag in fitted.used),
                )
            )
        total = sum(member.weight for member in members)
        model = ScorecardMixtureModel(
            members=tuple(MixtureMember(m.weight / total, m.intercept, m.coefficients) for m in members),
            **self._model_arguments(fitted, params, seed),
        )
        return self.with_importance(model, data, progress)
