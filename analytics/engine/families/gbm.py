"""Gradient-boosted trees (scikit-learn's HistGradientBoosting) under the spec's monotone constraints.

Categories are coded as indices and split natively. The spec's direction is "risk rises with the
value", and the model predicts default, so a declared direction passes straight through as sklearn's
`monotonic_cst` sign.

Scoring one application walks no trees. Each feature's value falls into one interval between the
thresholds the trees use, and that interval fixes which side of every split on the feature it takes; so
for every leaf, the set of path features the applicant agrees with is a sum of per-feature table rows.
That pattern gives both the leaf reached (all agree) and the exact path-dependent TreeSHAP values
(Lundberg et al. 2020), precomputed per leaf and pattern — the gbm's reasons at table-lookup speed.
"""

from __future__ import annotations

import bisect
import functools
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np

from analytics.engine.families.base import Family, FittedModel, Kernel, Progress, TrainingData, report
from analytics.engine.features import FeatureCoding
from finai.errors import ApplicationError

MAX_DEPTH = 6  # TreeSHAP tables hold 2^depth patterns per leaf
MAX_CATEGORIES = 254  # sklearn's native categories share the 255 histogram bins
# Below this many rows OpenMP threads cost more than they save (and spin against other work on the host).
SINGLE_THREAD_ROWS = 20_000


@functools.cache
def _thread_controller() -> Any:
    """Found once: discovering the loaded thread pools costs milliseconds, limiting them microseconds."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _threads(rows: int) -> Any:
    """A context giving sklearn one OpenMP thread for small data, all of them for large."""
    return _thread_controller().limit(limits=1 if rows < SINGLE_THREAD_ROWS else None, user_api="openmp")


@dataclass
class _Leaf:
    value: float
    features: list[int]  # distinct path features, in the order their bits are numbered
    agrees: dict[int, np.ndarray]  # per path feature, per value interval: does the applicant follow the path?
    ratios: dict[int, float]  # per path feature, the share of training rows following its splits


def _in_bitset(bitset: np.ndarray, code: int) -> bool:
    return bool((int(bitset[code // 32]) >> (code % 32)) & 1)


class TreeShapKernel(Kernel):
    """The trees as lookup tables: leaf patterns, leaf values and TreeSHAP values per pattern."""

    def __init__(self, estimator: Any, coding: FeatureCoding) -> None:
        features = coding.spec.features
        self.width = len(features)
        predictors = [tree[0] for tree in estimator._predictors]
        column_of = _original_columns(estimator)
        thresholds: dict[int, set[float]] = {}
        for predictor in predictors:
            for node in predictor.nodes:
                if not node["is_leaf"] and not node["is_categorical"]:
                    thresholds.setdefault(int(column_of[node["feature_idx"]]), set()).add(float(node["num_threshold"]))
        self.thresholds = {j: sorted(values) for j, values in thresholds.items()}
        # One representative value per interval: each threshold itself, above all of them, then missing.
        representatives: dict[int, np.ndarray] = {}
        for j, feature in enumerate(features):
            if feature.kind == "numeric":
                representatives[j] = np.array([*self.thresholds.get(j, []), math.inf, math.nan])
            else:
                representatives[j] = np.array([*range(coding.category_count(feature.name)), math.nan])
        leaves = [leaf for predictor in predictors for leaf in self._leaves(predictor, column_of, representatives)]
        used = sorted({j for leaf in leaves for j in leaf.features})
        # Per used feature: its column, whether numeric, its thresholds and the row of a missing value.
        self.used = [
            (j, features[j].kind == "numeric", self.thresholds.get(j, []), len(representatives[j]) - 1) for j in used
        ]
        self.row_offsets: dict[int, int] = {}
        offset = 0
        for j in used:
            self.row_offsets[j] = offset
            offset += len(representatives[j])
        # int8 holds a pattern: at most MAX_DEPTH bits, and small tables keep the per-request sum cheap.
        self.patterns = np.zeros((offset, len(leaves)), dtype=np.int8)
        for index, leaf in enumerate(leaves):
            for bit, j in enumerate(leaf.features):
                rows = slice(self.row_offsets[j], self.row_offsets[j] + len(representatives[j]))
                self.patterns[rows, index] = leaf.agrees[j].astype(np.int8) << bit
        self.full = np.array([(1 << len(leaf.features)) - 1 for leaf in leaves], dtype=np.int8)
        self.values = np.array([leaf.value for leaf in leaves])
        self.baseline = float(estimator._baseline_prediction.ravel()[0])
        self.depth = max((len(leaf.features) for leaf in leaves), default=0)
        self.shapley, self.owners = _shapley_tables(leaves, self.depth, self.width)
        self.leaf_base = np.arange(len(leaves), dtype=np.int64) << self.depth

    @staticmethod
    def _leaves(predictor: Any, column_of: np.ndarray, representatives: Mapping[int, np.ndarray]) -> list[_Leaf]:
        nodes, bitsets = predictor.nodes, predictor.raw_left_cat_bitsets
        found = []
        stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
        while stack:
            index, path = stack.pop()
            node = nodes[index]
            if node["is_leaf"]:
                found.append(_leaf_from_path(float(node["value"]), path, nodes, bitsets, column_of, representatives))
                continue
            stack.append((int(node["right"]), [*path, (index, False)]))
            stack.append((int(node["left"]), [*path, (index, True)]))
        return found

    def locate(self, codes: Sequence[float]) -> np.ndarray:
        rows = []
        for j, numeric, thresholds, missing in self.used:
            value = codes[j]
            if value != value:
                interval = missing
            elif numeric:
                interval = bisect.bisect_left(thresholds, value)
            else:
                interval = int(value)
            rows.append(self.row_offsets[j] + interval)
        return np.add.reduce(self.patterns.take(rows, axis=0), axis=0, dtype=np.int8)

    def probability_of_default(self, located: np.ndarray) -> float:
        raw = self.baseline + float(np.dot(self.values, located == self.full))
        return 1.0 / (1.0 + math.exp(-raw))

    def attributions(self, located: np.ndarray) -> np.ndarray:
        contributions = self.shapley.take(self.leaf_base + located, axis=0)
        return np.bincount(self.owners.ravel(), contributions.ravel(), minlength=self.width + 1)[: self.width]


def _original_columns(estimator: Any) -> np.ndarray:
    """Map the trees' feature indices back to the spec's columns.

    With categorical features sklearn ordinal-encodes them and moves them first. Our codes are already
    0..k-1, every one seen in training, so its encoding is the identity; that is checked, not assumed.
    """
    categorical = estimator.is_categorical_
    if categorical is None:
        return np.arange(estimator.n_features_in_)
    encoder = estimator._preprocessor.named_transformers_["encoder"]
    for found in encoder.categories_:
        if not np.array_equal(found, np.arange(len(found))):
            raise RuntimeError("sklearn re-coded the categories; the TreeSHAP tables would misread them")
    return np.concatenate([np.flatnonzero(categorical), np.flatnonzero(~categorical)])


def _leaf_from_path(
    value: float,
    path: list[tuple[int, bool]],
    nodes: np.ndarray,
    bitsets: np.ndarray,
    column_of: np.ndarray,
    representatives: Mapping[int, np.ndarray],
) -> _Leaf:
    leaf = _Leaf(value=value, features=[], agrees={}, ratios={})
    for index, goes_left in path:
        node = nodes[index]
        j = int(column_of[node["feature_idx"]])
        child = nodes[int(node["left"] if goes_left else node["right"])]
        points = representatives[j]
        missing = np.isnan(points)
        if node["is_categorical"]:
            left = np.array(
                [
                    not m and _in_bitset(bitsets[node["bitset_idx"]], int(p))
                    for p, m in zip(points, missing, strict=True)
                ]
            )
        else:
            left = np.nan_to_num(points, nan=0.0) <= float(node["num_threshold"])
        left = np.where(missing, bool(node["missing_go_to_left"]), left)
        follows = left if goes_left else ~left
        if j not in leaf.agrees:
            leaf.features.append(j)
            leaf.agrees[j] = np.ones(len(points), dtype=bool)
            leaf.ratios[j] = 1.0
        leaf.agrees[j] &= follows
        leaf.ratios[j] *= float(child["count"]) / float(node["count"])
    return leaf


def _shapley_tables(leaves: list[_Leaf], depth: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf and agreement pattern, each path feature's Shapley value of the leaf's game.

    Path-dependent TreeSHAP values a leaf as value * prod_j (1[x follows j's splits] if j is known, else
    the training share following them); Shapley values of that product game depend only on which path
    features the applicant follows, so they are tabulated once per leaf and pattern.
    """
    shapley = np.zeros((len(leaves), 1 << depth, max(depth, 1)))
    owners = np.full((len(leaves), max(depth, 1)), width, dtype=np.int64)
    for size in range(1, depth + 1):
        members = [i for i, leaf in enumerate(leaves) if len(leaf.features) == size]
        if not members:
            continue
        ratios = np.array([[leaves[i].ratios[j] for j in leaves[i].features] for i in members])
        values = np.array([leaves[i].value for i in members])
        masks = np.arange(1 << size)
        bits = ((masks[:, None] >> np.arange(size)) & 1).astype(float)  # [pattern, feature]
        known = bits.astype(bool)
        weights = np.array(
            [
                math.factorial(k) * math.factorial(size - k - 1) / math.factorial(size) if k < size else 0.0
                for k in range(size + 1)
            ]
        )
        # unknown_other[S, i, j]: j is neither in S nor i, so it contributes its training share.
        unknown_other = (~known[:, None, :]) & (np.arange(size)[None, :, None] != np.arange(size)[None, None, :])
        products = np.where(unknown_other[None], ratios[:, None, None, :], 1.0).prod(axis=-1)
        terms = products * weights[known.sum(axis=1)][None, :, None] * (~known)[None, :, :]
        subsets = ((masks[:, None] & masks[None, :]) == masks[None, :]).astype(float)  # [A, S]: S ⊆ A
        summed = np.einsum("as,nsi->nai", subsets, terms)
        table = values[:, None, None] * (bits[None] - ratios[:, None, :]) * summed
        shapley[np.ix_(members, range(1 << size), range(size))] = table
        owners[np.ix_(members, range(size))] = np.array([leaves[i].features for i in members])
    return shapley.reshape(len(leaves) << depth, -1), owners


class GradientBoostingModel(FittedModel):
    family = "gbm"
    attribution_unit = "TreeSHAP contribution to the log-odds of default"

    def __init__(self, *, estimator: Any, **common: Any) -> None:
        super().__init__(**common)
        self.estimator = estimator

    def _predict_codes(self, codes: np.ndarray) -> np.ndarray:
        with _threads(len(codes)):
            return self.estimator.predict_proba(codes)[:, 1]

    def _compile(self) -> Kernel:
        return TreeShapKernel(self.estimator, self.coding)

    def _payload(self) -> dict[str, bytes]:
        buffer = io.BytesIO()
        joblib.dump(self.estimator, buffer)
        return {"estimator.joblib": buffer.getvalue()}

    @classmethod
    def _from_payload(cls, files: Mapping[str, bytes], **common: Any) -> GradientBoostingModel:
        return cls(estimator=joblib.load(io.BytesIO(files["estimator.joblib"])), **common)


class GradientBoosting(Family):
    name = "gbm"
    model_class = GradientBoostingModel
    defaults = {
        "learning_rate": 0.1,
        "max_iter": 100,
        "max_depth": 2,
        "max_leaf_nodes": 4,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "monotone": True,
    }
    importance_progress = (80, "tabulating TreeSHAP and computing importance")

    def param_problems(self, params: Mapping[str, Any]) -> dict[str, str]:
        problems = {}
        if not 0 < params["learning_rate"] <= 1:
            problems["learning_rate"] = "must be above 0 and at most 1"
        if not isinstance(params["max_iter"], int) or not 1 <= params["max_iter"] <= 2000:
            problems["max_iter"] = "must be a whole number from 1 to 2000"
        if not isinstance(params["max_depth"], int) or not 1 <= params["max_depth"] <= MAX_DEPTH:
            problems["max_depth"] = f"must be a whole number from 1 to {MAX_DEPTH} (reasons are tabulated per leaf)"
        if not isinstance(params["max_leaf_nodes"], int) or params["max_leaf_nodes"] < 2:
            problems["max_leaf_nodes"] = "must be a whole number of at least 2"
        if not isinstance(params["min_samples_leaf"], int) or params["min_samples_leaf"] < 1:
            problems["min_samples_leaf"] = "must be a whole number of at least 1"
        if params["l2_regularization"] < 0:
            problems["l2_regularization"] = "must not be negative"
        if not isinstance(params["monotone"], bool):
            problems["monotone"] = "must be true (keep the spec's monotone directions) or false"
        return problems

    def _learn(
        self, data: TrainingData, coding: FeatureCoding, params: Mapping[str, Any], seed: int, progress: Progress | None
    ) -> GradientBoostingModel:
        from sklearn.ensemble import HistGradientBoostingClassifier

        crowded = {
            name: f"has {len(values)} categories; at most {MAX_CATEGORIES} can be split natively"
            for name, values in coding.categories.items()
            if len(values) > MAX_CATEGORIES
        }
        if crowded:
            raise ApplicationError("Too many categories for the gbm family.", details=crowded, code="invalid_data")
        categorical = [feature.kind == "categorical" for feature in coding.spec.features]
        estimator = HistGradientBoostingClassifier(
            learning_rate=params["learning_rate"],
            max_iter=params["max_iter"],
            max_depth=params["max_depth"],
            max_leaf_nodes=params["max_leaf_nodes"],
            min_samples_leaf=params["min_samples_leaf"],
            l2_regularization=params["l2_regularization"],
            categorical_features=categorical if any(categorical) else None,
            monotonic_cst=[feature.monotone for feature in coding.spec.features],
            early_stopping=False,
            random_state=seed,
        )
        report(progress, 10, "boosting trees")
        with _threads(len(data)):
            estimator.fit(coding.matrix(data.features), data.target, sample_weight=data.weights)
        return GradientBoostingModel(estimator=estimator, coding=coding, params=params, seed=seed, importance={})
