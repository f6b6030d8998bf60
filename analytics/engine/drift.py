"""Drift against bins fixed at training: PSI for every feature and the score; KS, Jensen-Shannon and
Wasserstein for numeric ones.

Tools that rebuild bins from reference and current data together on every run (Evidently) give reports
that cannot be compared with each other. Here the reference is fitted once, from the rows a model
version learnt from, and stored with the version (`DriftReference.as_dict`, JSON-ready and compact);
every later window is measured against those same bins.

What the reference holds, per feature:

- numeric: up to `bins` quantile bins of the training values (interior edges `e_1 < ... < e_k`, bin j
  holding `e_{j-1} < x <= e_j`, the two end bins open, so values outside the training range fall into
  them), a bin for missing values (None, NaN, ±inf), the training rows per bin, and a sorted reference
  sample of at most `sample_size` values (all of them when the training data are no larger; otherwise
  a deterministic quantile sketch: the values at sorted positions ⌊(i + ½)·N/m⌋). KS and Wasserstein are
  exact against that sample: with ≤ 2,000 values the sketch is within 1/2,000 of the full training
  distribution in KS.
- categorical: the training categories (compared as text, so 1, 1.0 and "1" are one category) and one
  "unseen/missing" bin for values never seen in training and missing ones.
- the score (probability of default) gets its own numeric bins.

The statistics (`FeatureDrift`):

- PSI = Σ (c_i - r_i) · ln(c_i / r_i) over the bins, missing bin included, with additive smoothing: each
  side's shares are (count + ½) / (rows + ½·K) (a Jeffreys pseudo-count of ½ per bin), so an empty bin
  gives a finite value; bins empty on both sides carry no evidence and are left out (K counts the rest).
- Jensen-Shannon distance: on the same bins, unsmoothed, with base-2 logarithms (so it lies in [0, 1]);
  equal to `scipy.spatial.distance.jensenshannon(reference_counts, current_counts, base=2)`.
- KS statistic and Wasserstein-1: over the non-missing values, current values against the stored
  reference sample, equal to `scipy.stats.ks_2samp(sample, current).statistic` and
  `scipy.stats.wasserstein_distance(sample, current)` (no subsample of the current rows).

Speed (10^6 current rows, 50 features, ≤ 2 s on two cores; see benchmarks/test_bench_drift.py): a sort or
an `np.searchsorted` of 10^6 values costs 50-70 ms here, too much for 50 features. Instead each current
value is placed among the reference points (the sample's values and the bin edges) through a uniform
grid of 65,536 cells over the reference range: the cell index is a monotone function of the value, so a
value is below every point of a lower cell and above every point of a higher one, and only values in
cells that hold reference points are compared with those points (at most 8 per cell; crowded cells
fall back to `np.searchsorted`). One `np.bincount` of the resulting position codes gives the bin
counts and the current distribution function just before and at every reference point, which is
where the KS supremum is attained. Wasserstein-1 = ∫|F_ref - F_cur| follows from the same counts and
the sums of the values between consecutive reference points, except in the intervals where F_cur
crosses F_ref; there the crossing value is found by counting the interval's values in 64 equal
sub-intervals and sorting only the sub-interval that holds it. Values go through in chunks that stay
in the processor's cache. Features run one after another: a thread pool was measured slower on two
cores, since `np.bincount` and boolean indexing hold the GIL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd

from finai.errors import ApplicationError

Kind = Literal["numeric", "categorical"]

FORMAT_VERSION = 1
DEFAULT_BINS = 10
DEFAULT_SAMPLE_SIZE = 2000
PSEUDO_COUNT = 0.5
UNSEEN_OR_MISSING = "unseen/missing"
SCORE = "score"
MAX_UNSEEN_LISTED = 10

GRID_CELLS = 1 << 16
CROWDED_CELL = 8
SUB_BUCKETS = 64
CHUNK_ROWS = 1 << 17


# --- the statistics on bins -------------------------------------------------------------------------


def population_stability_index(
    reference_counts: Iterable[float], current_counts: Iterable[float], *, pseudo_count: float = PSEUDO_COUNT
) -> float | None:
    """PSI between two binnings of the same bins, with additive smoothing (see the module docstring).

    None when either side has no rows.
    """
    reference = np.asarray(list(reference_counts), dtype=np.float64)
    current = np.asarray(list(current_counts), dtype=np.float64)
    if reference.sum() <= 0 or current.sum() <= 0:
        return None
    kept = (reference > 0) | (current > 0)
    reference, current = reference[kept], current[kept]
    bins = len(reference)
    expected = (reference + pseudo_count) / (reference.sum() + pseudo_count * bins)
    actual = (current + pseudo_count) / (current.sum() + pseudo_count * bins)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def jensen_shannon_distance(reference_counts: Iterable[float], current_counts: Iterable[float]) -> float | None:
    """The Jensen-Shannon distance (square root of the divergence), base 2, between two binnings."""
    reference = np.asarray(list(reference_counts), dtype=np.float64)
    current = np.asarray(list(current_counts), dtype=np.float64)
    if reference.sum() <= 0 or current.sum() <= 0:
        return None
    p, q = reference / reference.sum(), current / current.sum()
    middle = (p + q) / 2
    divergence = _relative_entropy(p, middle) + _relative_entropy(q, middle)
    return float(math.sqrt(max(divergence / math.log(2) / 2, 0.0)))


def _relative_entropy(p: np.ndarray, q: np.ndarray) -> float:
    present = p > 0
    return float(np.sum(p[present] * np.log(p[present] / q[present])))


# --- the reference ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NumericReference:
    """A numeric feature's (or the score's) reference: bin edges and counts, and the sorted sample.

    `counts` has one entry per range bin (len(edges) + 1), then the missing bin. The sample is stored
    as its distinct values with how often each occurs.
    """

    edges: np.ndarray
    counts: np.ndarray
    sample_values: np.ndarray
    sample_counts: np.ndarray
    kind: Kind = field(default="numeric", init=False)
    _locator: _Locator | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", np.asarray(self.edges, dtype=np.float64))
        object.__setattr__(self, "counts", np.asarray(self.counts, dtype=np.int64))
        object.__setattr__(self, "sample_values", np.asarray(self.sample_values, dtype=np.float64))
        object.__setattr__(self, "sample_counts", np.asarray(self.sample_counts, dtype=np.int64))
        problems = {}
        if len(self.counts) != len(self.edges) + 2:
            problems["counts"] = "needs one count per range bin and one for missing values"
        if np.any(np.diff(self.edges) <= 0) or np.any(np.diff(self.sample_values) <= 0):
            problems["edges"] = "edges and sample values must be strictly increasing"
        if len(self.sample_values) != len(self.sample_counts) or np.any(self.sample_counts <= 0):
            problems["sample"] = "needs one positive count per sample value"
        if problems:
            raise ApplicationError("The drift reference is invalid.", details=problems, code="invalid_reference")
        points = np.union1d(self.sample_values, self.edges)
        object.__setattr__(self, "_locator", _Locator(points) if len(points) else None)

    @classmethod
    def fit(
        cls, values: np.ndarray, *, bins: int = DEFAULT_BINS, sample_size: int = DEFAULT_SAMPLE_SIZE
    ) -> NumericReference:
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        ordered = np.sort(values[finite])
        missing = int(len(values) - len(ordered))
        if not len(ordered):
            return cls(edges=[], counts=[0, missing], sample_values=[], sample_counts=[])
        probabilities = np.arange(1, bins) / bins
        edges = np.unique(np.quantile(ordered, probabilities, method="inverted_cdf"))
        counts = np.bincount(np.searchsorted(edges, ordered, side="left"), minlength=len(edges) + 1)
        rows = len(ordered)
        if rows > sample_size:
            ordered = ordered[((np.arange(sample_size) + 0.5) * rows / sample_size).astype(np.int64)]
        sample_values, sample_counts = np.unique(ordered, return_counts=True)
        return cls(
            edges=edges,
            counts=np.append(counts, missing),
            sample_values=sample_values,
            sample_counts=sample_counts,
        )

    @property
    def rows(self) -> int:
        return int(self.counts.sum())

    @property
    def bin_labels(self) -> tuple[str, ...]:
        """The bins as a reader sees them: "<= e_1", "(e_1, e_2]", ..., "> e_k", then "missing"."""
        edges = [f"{edge:g}" for edge in self.edges.tolist()]
        if not edges:
            return ("all values", "missing")
        inner = [f"({low}, {high}]" for low, high in pairwise(edges)]
        return (f"<= {edges[0]}", *inner, f"> {edges[-1]}", "missing")

    def as_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "kind": "numeric",
            "edges": _compact(self.edges),
            "counts": self.counts.tolist(),
            "sample_values": _compact(self.sample_values),
        }
        if np.any(self.sample_counts != 1):  # a continuous feature's sample has no repeats: leave the ones out
            raw["sample_counts"] = self.sample_counts.tolist()
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> NumericReference:
        values = raw["sample_values"]
        return cls(
            edges=raw["edges"],
            counts=raw["counts"],
            sample_values=values,
            sample_counts=raw.get("sample_counts", [1] * len(values)),
        )

    def compare(self, name: str, values: np.ndarray) -> FeatureDrift:
        """Drift of `values` (floats, NaN for missing) against this reference."""
        if self._locator is None:  # no value at training was present: one range bin
            present = int(np.isfinite(values).sum())
            current_counts = np.array([present, len(values) - present])
            return _feature_drift(name, "numeric", self.counts, current_counts, len(values))
        located = self._locator.locate(values)
        rows = len(values) - located.missing
        distribution = np.cumsum(located.counts)
        edge_positions = np.searchsorted(self._locator.points, self.edges)
        at_or_below_edges = distribution[2 * edge_positions + 1]
        range_counts = np.diff(np.concatenate([[0], at_or_below_edges, [rows]]))
        current_counts = np.append(range_counts, located.missing)
        ks = wasserstein = None
        if rows and len(self.sample_values):
            ks, wasserstein = self._ks_and_wasserstein(values, located, rows)
        return _feature_drift(
            name, "numeric", self.counts, current_counts, len(values), ks_statistic=ks, wasserstein_distance=wasserstein
        )

    def _ks_and_wasserstein(self, current: np.ndarray, located: _Located, rows: int) -> tuple[float, float]:
        """KS and W1 of the non-missing current values (`rows` of them) against the reference sample."""
        points = self._locator.points
        sample_rows = int(self.sample_counts.sum())
        cumulative_sample = np.concatenate([[0], np.cumsum(self.sample_counts)])
        reference_at = cumulative_sample[np.searchsorted(self.sample_values, points, side="right")]
        reference_before = cumulative_sample[np.searchsorted(self.sample_values, points, side="left")]
        distribution = np.cumsum(located.counts)
        current_at = distribution[1::2]  # codes up to 2k+1: at or below point k
        current_before = distribution[0:-1:2]  # codes up to 2k: below point k
        ks = max(
            np.abs(reference_at / sample_rows - current_at / rows).max(),
            np.abs(reference_before / sample_rows - current_before / rows).max(),
        )

        # W1 = ∫ |F_ref - F_cur|: the two tails, then each interval [point k, point k+1), where F_ref is
        # constant and F_cur rises from F_cur(point k) through the values strictly inside the interval.
        counts, sums = located.counts, located.sums
        below = (counts[0] * points[0] - sums[0]) / rows
        above = (sums[-1] - counts[-1] * points[-1]) / rows
        if len(points) == 1:
            return float(ks), float(below + above)
        intervals = _Intervals(
            points=points,
            level=reference_at[:-1] / sample_rows,
            start=current_at[:-1] / rows,
            inside_counts=counts[2:-1:2],
            inside_sums=sums[2:-1:2],
            rows=rows,
        )
        length = np.diff(points)
        integral_current = (
            intervals.start * length + (intervals.inside_counts * points[1:] - intervals.inside_sums) / rows
        )
        # F_cur crosses F_ref inside interval k when F_cur(p_k) < F_ref(p_k) < F_cur(p_{k+1}-), in integers.
        level_scaled = reference_at[:-1] * rows
        crossing = (current_at[:-1] * sample_rows < level_scaled) & (level_scaled < current_before[1:] * sample_rows)
        wasserstein = below + above + np.abs(intervals.level * length - integral_current)[~crossing].sum()
        if crossing.any():
            crossed = np.flatnonzero(crossing)
            # the rank, among the values inside, of the first one that takes F_cur above F_ref
            rank = (level_scaled[crossed] - current_at[:-1][crossed] * sample_rows) // sample_rows + 1
            wasserstein += intervals.crossing_integral(current, located.codes, crossed, rank)
        return float(ks), float(wasserstein)


@dataclass(frozen=True)
class _Intervals:
    """The intervals [p_k, p_{k+1}) between reference points: F_ref there (`level`), F_cur at p_k
    (`start`), and the number and sum of the current values strictly inside."""

    points: np.ndarray
    level: np.ndarray
    start: np.ndarray
    inside_counts: np.ndarray
    inside_sums: np.ndarray
    rows: int

    def crossing_integral(self, current: np.ndarray, codes: np.ndarray, crossed: np.ndarray, rank: np.ndarray) -> float:
        """∫ |F_ref - F_cur| over the intervals where F_cur crosses F_ref, exactly.

        The crossing is at Y, the `rank`-th smallest value inside the interval: F_cur <= F_ref before Y
        and > F_ref from Y on, so the integral needs Y and the count and sum of the values below it. Y is
        found without sorting the interval: its values are counted in `SUB_BUCKETS` equal sub-intervals
        (a monotone map again), and only the values of the sub-interval holding the rank are sorted.
        """
        points, rows = self.points, self.rows
        wanted = np.full(2 * len(points) + 2, -1, dtype=np.int64)  # the last code: missing
        wanted[2 * crossed + 2] = np.arange(len(crossed))
        position = wanted[codes]
        chosen = np.flatnonzero(position >= 0)
        values = current[chosen]
        group = position[chosen]
        low = points[crossed]
        scale = SUB_BUCKETS / (points[crossed + 1] - low)
        scale[~np.isfinite(scale)] = 1.0
        bucket = values - low[group]
        bucket *= scale[group]
        np.clip(bucket, 0, SUB_BUCKETS - 1, out=bucket)
        key = group * SUB_BUCKETS + bucket.astype(np.int64)
        slots = len(crossed) * SUB_BUCKETS
        bucket_counts = np.bincount(key, minlength=slots).reshape(len(crossed), SUB_BUCKETS)
        bucket_sums = np.bincount(key, weights=values, minlength=slots).reshape(len(crossed), SUB_BUCKETS)
        cumulative_counts = np.cumsum(bucket_counts, axis=1)
        cumulative_sums = np.cumsum(bucket_sums, axis=1)
        holding = (cumulative_counts < rank[:, None]).sum(axis=1)  # the sub-interval holding the rank
        groups = np.arange(len(crossed))
        counted_before = cumulative_counts[groups, holding] - bucket_counts[groups, holding]
        summed_before = cumulative_sums[groups, holding] - bucket_sums[groups, holding]

        target = np.zeros(slots, dtype=bool)
        target[groups * SUB_BUCKETS + holding] = True
        held = np.sort(values[target[key]])  # sub-intervals are disjoint and ordered: one sort groups them
        held_starts = np.concatenate([[0], np.cumsum(bucket_counts[groups, holding])[:-1]])
        crossing_value = held[held_starts + rank - counted_before - 1]
        prefix = np.concatenate([[0.0], np.cumsum(held)])
        less = np.searchsorted(held, crossing_value, side="left")
        count_below = counted_before + less - held_starts
        sum_below = summed_before + prefix[less] - prefix[held_starts]
        below_crossing = count_below * crossing_value - sum_below  # Σ (Y - x) over x < Y

        level, start = self.level[crossed], self.start[crossed]
        left, right = points[crossed], points[crossed + 1]
        inside = self.inside_counts[crossed] * right - self.inside_sums[crossed]  # Σ (p_{k+1} - x)
        integral = (
            (level - start) * (crossing_value - left)
            - below_crossing / rows
            + (start - level) * (right - crossing_value)
            + (inside - below_crossing) / rows
        )
        return float(integral.sum())


@dataclass(frozen=True)
class _Located:
    """Where current values lie among the reference points p_0 < ... < p_{P-1}.

    Code 2k: strictly between p_{k-1} and p_k (k = 0: below p_0; k = P: above p_{P-1}); code 2k+1:
    equal to p_k; code 2P+1: missing. `counts` and `sums` are the number and the sum of the present
    values per code (missing left out, `missing` of them).
    """

    codes: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    missing: int


class _Locator:
    """Places values among sorted reference points without sorting or binary-searching them all.

    The cell of a value, trunc(clip((x - p_0) · scale, -1, G)) + 1, is monotone in x (each floating-point
    step is), so every point of a lower cell is below x and every point of a higher one above it: only
    values sharing a cell with points need comparing, and only with those points. Values are taken in
    chunks that stay in the processor's cache.
    """

    def __init__(self, points: np.ndarray) -> None:
        self.points = points
        self.low = float(points[0])
        span = float(points[-1]) - self.low
        scale = GRID_CELLS / span if span > 0 else 1.0
        self.scale = scale if math.isfinite(scale) and scale > 0 else 1.0
        cells = self._cells(points)
        first = np.searchsorted(cells, np.arange(GRID_CELLS + 3), side="left")  # points in lower cells
        sizes = np.minimum(np.diff(first), CROWDED_CELL + 1)
        # One gather gives both: the code of a value below all the cell's points (twice the points in
        # lower cells), and how many points the cell holds (more than CROWDED_CELL: crowded).
        self.table = (first[:-1] * 2 * 16 + sizes).astype(np.int32)
        self.missing_code = 2 * len(points) + 1

    def _cells(self, values: np.ndarray, *, finite: bool = True) -> np.ndarray:
        scaled = values - self.low
        scaled *= self.scale
        if finite:
            np.clip(scaled, -1, GRID_CELLS, out=scaled)
        else:  # fmax and fmin put NaN in range too (its code is set after); clip would keep it NaN
            np.fmax(scaled, -1, out=scaled)
            np.fmin(scaled, GRID_CELLS, out=scaled)
        cells = scaled.astype(np.intp)
        cells += 1
        return cells

    def locate(self, values: np.ndarray) -> _Located:
        codes = np.empty(len(values), dtype=np.intp)
        counts = np.zeros(self.missing_code + 1, dtype=np.int64)
        sums = np.zeros(self.missing_code + 1, dtype=np.float64)
        for begin in range(0, len(values), CHUNK_ROWS):
            chunk = values[begin : begin + CHUNK_ROWS]
            chunk_codes = self._codes(chunk)
            codes[begin : begin + CHUNK_ROWS] = chunk_codes
            counts += np.bincount(chunk_codes, minlength=len(counts))
            sums += np.bincount(chunk_codes, weights=chunk, minlength=len(sums))
        return _Located(codes=codes, counts=counts[:-1], sums=sums[:-1], missing=int(counts[-1]))

    def _codes(self, values: np.ndarray) -> np.ndarray:
        points = self.points
        finite = np.isfinite(values)
        all_finite = bool(finite.all())
        entry = np.take(self.table, self._cells(values, finite=all_finite))
        sizes = entry & 15
        codes = entry >> 4
        shared = np.flatnonzero(sizes != 0)
        if len(shared):
            shared_values = values[shared]
            shared_sizes = sizes[shared]
            position = codes[shared] >> 1
            equal = np.zeros(len(shared), dtype=bool)
            crowded = shared_sizes > CROWDED_CELL
            if crowded.any():
                crowded_values = shared_values[crowded]
                found = np.searchsorted(points, crowded_values, side="left")
                position[crowded] = found
                equal[crowded] = points[np.minimum(found, len(points) - 1)] == crowded_values
                shared_sizes[crowded] = 0
            base = position.copy()
            for offset in range(int(shared_sizes.max(initial=0))):
                every = offset == 0 and not crowded.any()
                active = slice(None) if every else np.flatnonzero(shared_sizes > offset)
                point = points[base[active] + offset]
                value = shared_values[active]
                position[active] += point < value
                equal[active] |= point == value
            codes[shared] = position * 2 + equal
        if not all_finite:
            codes[~finite] = self.missing_code
        return codes


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical feature's reference: its training categories (as text) and their rows, then the
    rows of the "unseen/missing" bin (missing values at training; at comparison also unseen ones)."""

    categories: tuple[str, ...]
    counts: tuple[int, ...]
    kind: Kind = field(default="categorical", init=False)

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.categories) + 1:
            raise ApplicationError(
                "The drift reference is invalid.",
                details={"counts": "needs one count per category and one for unseen or missing values"},
                code="invalid_reference",
            )

    @classmethod
    def fit(cls, values: pd.Series) -> CategoricalReference:
        seen: dict[str, int] = {}
        missing = 0
        for value, count in _value_counts(values):
            key = category_key(value)
            if key is None:
                missing += count
            else:
                seen[key] = seen.get(key, 0) + count
        categories = tuple(sorted(seen))
        return cls(categories=categories, counts=(*(seen[c] for c in categories), missing))

    @property
    def rows(self) -> int:
        return int(sum(self.counts))

    @property
    def bin_labels(self) -> tuple[str, ...]:
        return (*self.categories, UNSEEN_OR_MISSING)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "categorical", "categories": list(self.categories), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CategoricalReference:
        return cls(categories=tuple(raw["categories"]), counts=tuple(int(c) for c in raw["counts"]))

    def compare(self, name: str, values: pd.Series) -> FeatureDrift:
        index = {category: position for position, category in enumerate(self.categories)}
        unseen_bin = len(self.categories)
        current = np.zeros(len(self.categories) + 1, dtype=np.int64)
        unseen: dict[str, int] = {}
        for value, count in _value_counts(values):
            key = category_key(value)
            position = index.get(key, unseen_bin) if key is not None else unseen_bin
            current[position] += count
            if key is not None and position == unseen_bin:
                unseen[key] = unseen.get(key, 0) + count
        listed = dict(sorted(unseen.items(), key=lambda item: (-item[1], item[0]))[:MAX_UNSEEN_LISTED])
        return _feature_drift(
            name, "categorical", np.array(self.counts), current, len(values), unseen_categories=listed
        )


def category_key(value: Any) -> str | None:
    """A category as text (None when missing): 1, 1.0 and "1" are the same category."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _value_counts(values: pd.Series) -> list[tuple[Any, int]]:
    counted = values.value_counts(dropna=False, sort=False)
    return list(zip(counted.index.tolist(), counted.to_numpy().tolist(), strict=True))


FeatureReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class DriftReference:
    """The bins every later drift comparison of one model version uses, fixed from its training data."""

    features: dict[str, FeatureReference]
    score: NumericReference | None = None

    @property
    def rows(self) -> int:
        first = next(iter(self.features.values()), None) or self.score
        return first.rows if first is not None else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "pseudo_count": PSEUDO_COUNT,
            "features": {name: reference.as_dict() for name, reference in self.features.items()},
            "score": self.score.as_dict() if self.score is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DriftReference:
        if not raw or raw.get("format") != FORMAT_VERSION:
            raise ApplicationError(
                "There is no drift reference to compare with.",
                details={"drift_reference": f"expected a stored reference of format {FORMAT_VERSION}"},
                code="invalid_reference",
            )
        readers = {"numeric": NumericReference.from_dict, "categorical": CategoricalReference.from_dict}
        return cls(
            features={name: readers[entry["kind"]](entry) for name, entry in raw["features"].items()},
            score=NumericReference.from_dict(raw["score"]) if raw.get("score") else None,
        )


def drift_reference_fit(
    *,
    features: pd.DataFrame,
    kinds: Mapping[str, Kind],
    scores: np.ndarray | None = None,
    bins: int = DEFAULT_BINS,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
) -> DriftReference:
    """Fix the reference bins from the training rows (`kinds`: each feature's kind) and their scores."""
    absent = {name: "is not a column of the training frame" for name in kinds if name not in features.columns}
    if absent:
        raise ApplicationError("The drift reference cannot be fitted.", details=absent, code="invalid_data")
    fitted: dict[str, FeatureReference] = {}
    for name, kind in kinds.items():
        if kind == "numeric":
            fitted[name] = NumericReference.fit(_numbers(features[name]), bins=bins, sample_size=sample_size)
        else:
            fitted[name] = CategoricalReference.fit(features[name])
    score = None
    if scores is not None:
        score = NumericReference.fit(np.asarray(scores, dtype=np.float64), bins=bins, sample_size=sample_size)
    return DriftReference(features=fitted, score=score)


# --- the comparison -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's (or the score's) drift against its reference bins; shares are unsmoothed."""

    name: str
    kind: Kind
    current_rows: int
    psi: float | None
    js_distance: float | None
    ks_statistic: float | None = None
    wasserstein_distance: float | None = None
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()
    unseen_categories: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "current_rows": self.current_rows,
            "psi": self.psi,
            "js_distance": self.js_distance,
            "ks_statistic": self.ks_statistic,
            "wasserstein_distance": self.wasserstein_distance,
            "reference_shares": list(self.reference_shares),
            "current_shares": list(self.current_shares),
            "unseen_categories": dict(self.unseen_categories),
        }


@dataclass(frozen=True)
class DriftReport:
    """Drift of one window of rows against a version's reference: per feature, and for the score."""

    features: dict[str, FeatureDrift]
    score: FeatureDrift | None
    current_rows: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "current_rows": self.current_rows,
            "pseudo_count": PSEUDO_COUNT,
            "js_base": 2,
            "features": {name: drift.as_dict() for name, drift in self.features.items()},
            "score": self.score.as_dict() if self.score is not None else None,
        }


def drift_compute(
    *,
    reference: DriftReference,
    features: pd.DataFrame,
    scores: np.ndarray | None = None,
) -> DriftReport:
    """Drift of every reference feature in `features` (and of `scores`, when given) on the stored bins.

    Extra columns are ignored; a reference feature missing from the frame is refused, named.
    """
    absent = {name: "is not a column of the current rows" for name in reference.features if name not in features}
    if absent:
        raise ApplicationError("Drift cannot be computed.", details=absent, code="invalid_data")
    compared = {}
    for name, feature in reference.features.items():
        if isinstance(feature, NumericReference):
            compared[name] = feature.compare(name, _numbers(features[name]))
        else:
            compared[name] = feature.compare(name, features[name])
    score = None
    if scores is not None and reference.score is not None:
        score = reference.score.compare(SCORE, np.asarray(scores, dtype=np.float64))
    return DriftReport(features=compared, score=score, current_rows=len(features))


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as floats; missing and non-numeric values become NaN (the missing bin)."""
    if pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _feature_drift(
    name: str,
    kind: Kind,
    reference_counts: np.ndarray,
    current_counts: np.ndarray,
    current_rows: int,
    **statistics: Any,
) -> FeatureDrift:
    reference_total, current_total = reference_counts.sum(), current_counts.sum()
    return FeatureDrift(
        name=name,
        kind=kind,
        current_rows=int(current_rows),
        psi=population_stability_index(reference_counts, current_counts),
        js_distance=jensen_shannon_distance(reference_counts, current_counts),
        reference_shares=tuple((reference_counts / reference_total).tolist()) if reference_total else (),
        current_shares=tuple((current_counts / current_total).tolist()) if current_total else (),
        **statistics,
    )


def _compact(values: np.ndarray) -> list[float | int]:
    """Floats for JSON, integral ones written as integers (German credit's amounts and months)."""
    return [int(v) if v.is_integer() and abs(v) < 2**53 else v for v in values.tolist()]
