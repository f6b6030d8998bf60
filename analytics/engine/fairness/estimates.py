"""Point estimates with their confidence intervals, and the JSON form every result is stored in.

A fairness figure shown to a regulator without its uncertainty invites over-reading a small sample,
so every ratio and difference the engine reports travels as an `Estimate`: value and interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def json_number(value: Any) -> float | None:
    """A finite float for JSON, or None where the figure is undefined (no members, no outcomes)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Estimate:
    """A statistic and its bootstrap percentile interval; None where undefined."""

    value: float | None
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, value: Any, low: Any = None, high: Any = None) -> Estimate:
        return cls(json_number(value), json_number(low), json_number(high))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": [self.low, self.high]}


def percentile_intervals(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along the first axis, ignoring undefined (NaN) resamples.

    Equal to `np.nanquantile(..., method="linear")` at both ends, but one sort for all statistics at
    once instead of NumPy's per-column loop when NaNs are present.
    """
    ordered = np.sort(samples, axis=0)
    valid = np.sum(~np.isnan(samples), axis=0)
    tail = (1 - confidence) / 2
    ends = []
    for quantile in (tail, 1 - tail):
        position = quantile * np.maximum(valid - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(valid - 1, 0))
        low_value = np.take_along_axis(ordered, below[np.newaxis], axis=0)[0]
        high_value = np.take_along_axis(ordered, above[np.newaxis], axis=0)[0]
        value = low_value + (position - below) * (high_value - low_value)
        ends.append(np.where(valid > 0, value, np.nan))
    return ends[0], ends[1]


def to_json(value: Any) -> Any:
    """JSON-ready form of a result: dataclasses as dicts, estimates as {value, ci}, NaN as None."""
    if isinstance(value, Estimate):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return {name: to_json(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return json_number(value)
    return value
