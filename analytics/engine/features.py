"""Feature specification and coding: which columns a model may read, and how raw values become numbers.

ECOA / Regulation B forbid protected characteristics as decision inputs. A spec can never name one as a
feature (it raises), and coding reads only the spec's features, so extra columns in a frame — protected
ones included — never reach a model. The same coding serves training (a DataFrame) and the scoring fast
path (one application as a dict), so both see identical numbers.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.engine.dataset_schema import DatasetSchema, domain_problem
from finai.errors import ApplicationError

Kind = Literal["numeric", "categorical"]
FeatureValue = float | int | str | None
MAX_LISTED_VALUES = 5


class ProtectedAttributeError(ApplicationError):
    """A protected attribute was asked for as a model input (ECOA / Regulation B forbid it)."""

    def __init__(self, names: Iterable[str]) -> None:
        names = sorted(names)
        super().__init__(
            "Protected attributes cannot be model features.",
            details={name: "is a protected attribute and may only be used to measure fairness" for name in names},
            code="protected_attribute",
        )


class FeatureValueError(ApplicationError):
    """Feature values a model cannot use, each named with its problem."""

    def __init__(self, details: dict[str, str]) -> None:
        super().__init__("Some feature values cannot be used.", details=details, code="invalid_features")


@dataclass(frozen=True)
class Feature:
    """One model input. `monotone` is +1 when default risk rises with the value, -1 when it falls, 0 if free;
    `minimum` and `maximum` bound the values an application may have (the schema's domain, both included)."""

    name: str
    kind: Kind
    monotone: int = 0
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class FeatureSpec:
    """The inputs a model may read, its target and the protected attributes it must never read.

    `wording` carries each feature's label and reason texts from the schema into the artifact, so a
    decision's reasons read as the lender wrote them for as long as the model serves.
    """

    dataset: str
    features: tuple[Feature, ...]
    target: str
    positive_label: str
    protected: frozenset[str] = frozenset()
    wording: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        names = [feature.name for feature in self.features]
        forbidden = set(names) & self.protected
        if forbidden:
            raise ProtectedAttributeError(forbidden)
        problems = {name: "is listed more than once" for name in names if names.count(name) > 1}
        for feature in self.features:
            if feature.kind not in ("numeric", "categorical"):
                problems[feature.name] = f"kind must be numeric or categorical (got {feature.kind!r})"
            elif feature.monotone not in (-1, 0, 1):
                problems[feature.name] = "monotone must be -1, 0 or 1"
            elif feature.monotone and feature.kind != "numeric":
                problems[feature.name] = "a monotone direction applies to numeric features only"
        if not names:
            problems["features"] = "at least one feature is required"
        if problems:
            raise ApplicationError("The feature specification is invalid.", details=problems, code="invalid_spec")

    @classmethod
    def from_schema(cls, schema: DatasetSchema) -> FeatureSpec:
        """The spec a data set's schema declares: its feature columns, target and protected columns."""
        target = schema.target
        if schema.kind != "outcomes" or target is None or schema.positive_label is None:
            raise ApplicationError(
                "Models learn from repayment outcomes only.",
                details={"schema": f"{schema.name!r} records {schema.kind}, not outcomes with a positive label"},
                code="invalid_spec",
            )
        direction = {"increasing": 1, "decreasing": -1, None: 0}
        return cls(
            dataset=schema.name,
            features=tuple(
                Feature(c.name, c.type, direction[c.monotone], c.minimum, c.maximum) for c in schema.features
            ),
            target=target.name,
            positive_label=schema.positive_label,
            protected=schema.protected_names,
            wording=schema.wording(),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    def restrict(self, names: Iterable[str]) -> FeatureSpec:
        """A spec reading only `names`; asking for a protected attribute raises, whatever else is asked."""
        wanted = list(names)
        forbidden = set(wanted) & self.protected
        if forbidden:
            raise ProtectedAttributeError(forbidden)
        unknown = {name: "is not a feature of this data set" for name in wanted if name not in self.names}
        if unknown:
            raise ApplicationError("Unknown features were asked for.", details=unknown, code="invalid_spec")
        return replace(self, features=tuple(feature for feature in self.features if feature.name in wanted))

    def with_alternative_data(self, names: Iterable[str]) -> FeatureSpec:
        """The spec with opt-in alternative-data features appended (a name already read is not repeated)."""
        added = tuple(
            ALTERNATIVE_DATA_FEATURES[name] for name in alternative_data_validate(names) if name not in self.names
        )
        return replace(self, features=self.features + added)

    def without(self, names: Iterable[str]) -> FeatureSpec:
        """The spec without some features: the baseline a feature's effect is measured against."""
        dropped = set(names)
        return replace(self, features=tuple(feature for feature in self.features if feature.name not in dropped))

    def without_monotone(self) -> FeatureSpec:
        """The same inputs with no declared risk direction: the data alone shape each feature's effect."""
        return replace(self, features=tuple(replace(feature, monotone=0) for feature in self.features))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "features": [[f.name, f.kind, f.monotone, f.minimum, f.maximum] for f in self.features],
            "target": self.target,
            "positive_label": self.positive_label,
            "protected": sorted(self.protected),
            "wording": dict(self.wording),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureSpec:
        return cls(
            dataset=raw["dataset"],
            # Specs stored before features had domains list three fields.
            features=tuple(Feature(*entry) for entry in raw["features"]),
            target=raw["target"],
            positive_label=raw["positive_label"],
            protected=frozenset(raw["protected"]),
            wording=raw.get("wording", {}),
        )


# Opt-in alternative-data features: not columns of any data set's files, but values FinAI derives from
# its own records when a training asks for them (lending computes them; see lending.services.segments).
# `transaction_segment` is the customer's behaviour segment from their bank transactions
# ("no-history" for applicants without any), as a clustering run assigned it.
ALTERNATIVE_DATA_FEATURES: dict[str, Feature] = {
    "transaction_segment": Feature("transaction_segment", "categorical"),
}


def alternative_data_validate(names: Iterable[str]) -> tuple[str, ...]:
    """The names, each checked to be an alternative-data feature; unknown ones are named."""
    wanted = tuple(names)
    unknown = {
        name: f"is not an alternative-data feature (known: {', '.join(ALTERNATIVE_DATA_FEATURES)})"
        for name in wanted
        if name not in ALTERNATIVE_DATA_FEATURES
    }
    if unknown:
        raise ApplicationError("Unknown alternative-data features.", details=unknown, code="invalid_spec")
    return wanted


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class FeatureCoding:
    """A spec fitted to training data: the categories seen and which features may be missing.

    Numeric values stay as they are; a category becomes its index in the sorted categories seen in
    training; missing is NaN. A category never seen in training, or a missing value where training had
    none, is refused rather than guessed: a decision must rest on values the model has learnt from.
    """

    spec: FeatureSpec
    categories: Mapping[str, tuple[str, ...]]
    missing_allowed: frozenset[str] = frozenset()
    # The smallest and largest value of each numeric feature in training: a value beyond them is possible
    # (inside the schema's domain) but the model never saw one like it, which a decision must say.
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict, compare=False)
    _lookup: dict[str, dict[str, float]] = field(init=False, repr=False, compare=False)
    _slots: tuple[tuple[str, dict[str, float] | None, bool, Feature | None], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        lookup = {name: {value: float(i) for i, value in enumerate(values)} for name, values in self.categories.items()}
        object.__setattr__(self, "_lookup", lookup)
        slots = tuple(
            (
                feature.name,
                lookup.get(feature.name),
                feature.name in self.missing_allowed,
                feature if feature.minimum is not None or feature.maximum is not None else None,
            )
            for feature in self.spec.features
        )
        object.__setattr__(self, "_slots", slots)

    @classmethod
    def fit(cls, spec: FeatureSpec, frame: pd.DataFrame) -> FeatureCoding:
        absent = {name: "column is missing from the data" for name in spec.names if name not in frame.columns}
        if absent:
            raise FeatureValueError(absent)
        categories = {
            f.name: tuple(sorted({str(v) for v in frame[f.name] if not _is_missing(v)}))
            for f in spec.features
            if f.kind == "categorical"
        }
        missing = frozenset(name for name in spec.names if frame[name].isna().any())
        ranges = {}
        for feature in spec.features:
            values = pd.to_numeric(frame[feature.name], errors="coerce") if feature.kind == "numeric" else None
            if values is not None and values.notna().any():
                ranges[feature.name] = (float(values.min()), float(values.max()))
        return cls(spec=spec, categories=categories, missing_allowed=missing, ranges=ranges)

    def outside_training(self, used: Mapping[str, FeatureValue]) -> tuple[str, ...]:
        """The numeric inputs beyond the range the model learnt from (an extrapolation, said out loud)."""
        found = []
        for name, (low, high) in self.ranges.items():
            value = used.get(name)
            if isinstance(value, int | float) and not low <= value <= high:
                found.append(name)
        return tuple(found)

    def category_count(self, name: str) -> int:
        return len(self.categories[name])

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Codes for every row (rows by features); raises naming each column with unusable values."""
        problems: dict[str, str] = {}
        columns = []
        for feature in self.spec.features:
            if feature.name not in frame.columns:
                problems[feature.name] = "column is missing from the data"
                continue
            raw = frame[feature.name]
            if feature.kind == "numeric":
                values = _numbers(raw)
                bad = raw[np.isnan(values) & raw.notna().to_numpy()]
                if len(bad):
                    problems[feature.name] = f"not numbers: {_listed(bad)}"
                if np.isinf(values).any():
                    problems[feature.name] = "infinite values"
            else:
                lookup = self._lookup[feature.name]
                values = np.array([math.nan if _is_missing(v) else lookup.get(str(v), -1.0) for v in raw])
                unknown = raw[values < 0]
                if len(unknown):
                    problems[feature.name] = f"categories not seen in training: {_listed(unknown)}"
            if feature.name not in self.missing_allowed and np.isnan(values).any():
                problems.setdefault(feature.name, "missing values, which training data did not have")
            columns.append(values)
        if problems:
            raise FeatureValueError(problems)
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def vector(self, application: Mapping[str, Any]) -> tuple[list[float], dict[str, FeatureValue]]:
        """Codes for one application, and the canonical values used (JSON-ready, to replay the decision).

        On the scoring fast path: plain ints, floats and known category strings take no detour. A number
        outside its feature's domain is refused, naming the value and the range: a model must never be
        asked to score an impossible application.
        """
        codes: list[float] = []
        used: dict[str, FeatureValue] = {}
        problems: dict[str, str] = {}
        for name, lookup, missing_ok, bounded in self._slots:
            if name not in application:
                problems[name] = "is required"
                continue
            value = application[name]
            kind = type(value)
            # An int beyond the float range (JSON allows 10**400) leaves the fast path and is refused as not finite.
            finite_int = kind is int and -sys.float_info.max <= value <= sys.float_info.max
            if lookup is None and (finite_int or (kind is float and math.isfinite(value))):
                if bounded is not None and (problem := domain_problem(value, bounded.minimum, bounded.maximum)):
                    problems[name] = problem
                codes.append(float(value))
                used[name] = value
                continue
            if kind is str and lookup is not None and value in lookup:
                codes.append(lookup[value])
                used[name] = value
                continue
            code, canonical, problem = _coerce(value, lookup, missing_ok)
            if not problem and bounded is not None and canonical is not None:
                problem = domain_problem(float(canonical), bounded.minimum, bounded.maximum)
            if problem:
                problems[name] = problem
            codes.append(code)
            used[name] = canonical
        if problems:
            raise FeatureValueError(problems)
        return codes, used

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.as_dict(),
            "categories": {name: list(values) for name, values in self.categories.items()},
            "missing_allowed": sorted(self.missing_allowed),
            "ranges": {name: list(bounds) for name, bounds in self.ranges.items()},
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureCoding:
        return cls(
            spec=FeatureSpec.from_dict(raw["spec"]),
            categories={name: tuple(values) for name, values in raw["categories"].items()},
            missing_allowed=frozenset(raw["missing_allowed"]),
            # Artifacts written before ranges were recorded have none: nothing is flagged for them.
            ranges={name: (float(low), float(high)) for name, (low, high) in raw.get("ranges", {}).items()},
        )


def _coerce(value: Any, lookup: dict[str, float] | None, missing_ok: bool) -> tuple[float, FeatureValue, str]:
    """(code, canonical value, problem or "") for a value off the fast path: missing, numpy, text numbers."""
    if _is_missing(value):
        return math.nan, None, "" if missing_ok else "is required"
    if lookup is None:
        number = _number(value)
        if number is None:
            return math.nan, None, f"{value!r} is not a finite number"
        return number, number, ""
    text = value if isinstance(value, str) else _category_text(value)
    if text is None or text not in lookup:
        return math.nan, None, f"{value!r} is not one of the categories the model knows"
    return lookup[text], text, ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _numbers(raw: pd.Series) -> np.ndarray:
    """A column as floats, NaN where a value is not a number; an integer beyond the float range (JSON allows
    10**400) overflows pandas' conversion, so such a column is converted value by value and the integer is NaN."""
    try:
        return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    except OverflowError:
        return np.array([math.nan if (number := _number(value)) is None else number for value in raw], dtype=float)


def _category_text(value: Any) -> str | None:
    """Integer codes are accepted as their text ("3"); anything else non-textual is refused."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return None
    return str(int(value))


def _listed(values: pd.Series) -> str:
    distinct = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(v) for v in distinct[:MAX_LISTED_VALUES])
    return shown + (f" and {len(distinct) - MAX_LISTED_VALUES} more" if len(distinct) > MAX_LISTED_VALUES else "")
