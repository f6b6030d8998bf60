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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import joblib
import numpy as np

from analytics.families.base import (
    Family,
    FittedModel,
    Kernel,
    Progress,
    TrainingData,
    importance_shares,
    report,
)
from analytics.features import Feature, FeatureCoding
from analytics.policy import ScoreScale

SMOOTHING = 0.5  # added to each bin's goods and bads, so an all-good bin has a finite weight of evidence


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
    feature: Feature, codes: np.ndarray, target: np.ndarray, params: Mapping[str, Any]
) -> Characteristic:
    present = ~np.isnan(codes)
    values, outcome = codes[present], target[present]
    quantiles = np.quantile(values, np.linspace(0, 1, params["fine_bins"] + 1)[1:-1], method="inverted_cdf")
    edges = sorted({float(q) for q in quantiles if q < values.max()})
    found = np.searchsorted(np.asarray(edges), values, side="left")
    counts = np.bincount(found, minlength=len(edges) + 1).tolist()
    bads = np.bincount(found, weights=outcome, minlength=len(edges) + 1).astype(int).tolist()
    _merge_small(counts, bads, edges, max(1, math.ceil(params["min_bin_fraction"] * len(target))))
    if feature.monotone:
        _make_monotone(counts, bads, edges, feature.monotone)
    labels = _interval_labels(edges)
    missing_bin = None
    if not present.all():
        missing_bin = len(counts)
        counts.append(int((~present).sum()))
        bads.append(int(target[~present].sum()))
        labels.append("missing")
    bad_counts = np.asarray(bads, dtype=float)
    woe, information_value = _woe(np.asarray(counts, dtype=float) - bad_counts, bad_counts)
    return Characteristic(
        feature.name, "numeric", tuple(edges), (), missing_bin, tuple(woe.tolist()), tuple(labels), information_value
    )


def _categorical_characteristic(
    feature: Feature, codes: np.ndarray, target: np.ndarray, coding: FeatureCoding, params: Mapping[str, Any]
) -> Characteristic:
    categories = coding.categories[feature.name]
    present = ~np.isnan(codes)
    known = codes[present].astype(np.int64)
    counts = np.bincount(known, minlength=len(categories))
    bads = np.bincount(known, weights=target[present], minlength=len(categories))
    minimum = params["min_bin_fraction"] * len(target)
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
        bin_counts.append(float((~present).sum()))
        bin_bads.append(float(target[~present].sum()))
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
        self.contributions = [
            [c * w for w in ch.woe] for c, ch in zip(model.coefficients, self.characteristics, strict=True)
        ]
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
        weights = iter(regression.coef_[0].tolist())
        self.coefficients = tuple(next(weights) if flag else 0.0 for flag in used)
        self.intercept = float(regression.intercept_[0])

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

    def _payload(self) -> dict[str, bytes]:
        buffer = io.BytesIO()
        joblib.dump(self.regression, buffer)
        state = {
            "characteristics": [asdict(ch) for ch in self.characteristics],
            "used": list(self.used),
            "scale": self.scale.as_dict(),
        }
        return {"scorecard.json": json.dumps(state, sort_keys=True).encode(), "regression.joblib": buffer.getvalue()}

    @classmethod
    def _from_payload(cls, files: Mapping[str, bytes], **common: Any) -> ScorecardModel:
        state = json.loads(files["scorecard.json"])
        characteristics = tuple(
            Characteristic(**{key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()})
            for raw in state["characteristics"]
        )
        return cls(
            characteristics=characteristics,
            regression=joblib.load(io.BytesIO(files["regression.joblib"])),
            used=tuple(state["used"]),
            scale=ScoreScale(**state["scale"]),
            **common,
        )


class Scorecard(Family):
    name = "scorecard"
    model_class = ScorecardModel
    defaults = {
        "fine_bins": 10,
        "min_bin_fraction": 0.05,
        "min_information_value": 0.02,
        "regularisation": 1.0,
        "base_score": 600.0,
        "base_odds": 50.0,
        "points_to_double_odds": 20.0,
        "features": None,
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
        if params["base_odds"] <= 0 or params["points_to_double_odds"] <= 0:
            problems["points_to_double_odds"] = "base_odds and points_to_double_odds must be positive"
        return problems

    def fit(
        self,
        data: TrainingData,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> ScorecardModel:
        from sklearn.linear_model import LogisticRegression

        params = self.resolve_params(params)
        spec = self.spec_for(data, params)
        coding = FeatureCoding.fit(spec, data.features)
        codes = coding.matrix(data.features)
        report(progress, 10, "binning characteristics")
        characteristics = tuple(
            _numeric_characteristic(feature, codes[:, j], data.target, params)
            if feature.kind == "numeric"
            else _categorical_characteristic(feature, codes[:, j], data.target, coding, params)
            for j, feature in enumerate(spec.features)
        )
        used = [ch.information_value >= params["min_information_value"] and len(ch.woe) > 1 for ch in characteristics]
        report(progress, 50, "fitting the logistic regression")
        woe = np.column_stack([np.asarray(ch.woe)[ch.bins(codes[:, j])] for j, ch in enumerate(characteristics)])
        while True:
            columns = [j for j, flag in enumerate(used) if flag]
            if not columns:
                raise ValueError("no characteristic carries enough information to build a scorecard")
            regression = LogisticRegression(C=params["regularisation"], max_iter=1000, random_state=seed)
            regression.fit(woe[:, columns], data.target)
            # Higher weight of evidence means safer, so every coefficient on default must be negative;
            # a positive one is collinearity, and would make points rise with risk: drop it and refit.
            wrong = int(np.argmax(regression.coef_[0]))
            if regression.coef_[0][wrong] <= 0:
                break
            used[columns[wrong]] = False
        scale = ScoreScale(
            base_score=params["base_score"],
            base_odds=params["base_odds"],
            points_to_double_odds=params["points_to_double_odds"],
        )
        model = ScorecardModel(
            characteristics=characteristics,
            regression=regression,
            used=tuple(used),
            scale=scale,
            coding=coding,
            params=params,
            seed=seed,
            importance={},
        )
        report(progress, 90, "computing importance")
        model.importance = importance_shares(model, data.features)
        report(progress, 100, "done")
        return model
