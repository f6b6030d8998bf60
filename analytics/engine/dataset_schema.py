"""Dataset schemas: which column of a lending data set plays which role.

A schema is a small YAML file (see `data/schemas/`, format in `data/README.md`), so a new data set
loads, trains and is audited without code changes. Protected columns are named here once and every
consumer honours it: the feature pipeline refuses them (ECOA / Regulation B), the loader stores them
apart.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml

from analytics.engine.policy import DecisionPolicy
from finai.errors import ApplicationError
from finai.protected_attributes import PROTECTED_ATTRIBUTES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "data" / "schemas"

Role = Literal["id", "feature", "target", "decision", "protected", "ignored"]
ColumnType = Literal["numeric", "categorical"]
ROLES: tuple[str, ...] = ("id", "feature", "target", "decision", "protected", "ignored")
TYPES: tuple[str, ...] = ("numeric", "categorical")
MONOTONE: tuple[str, ...] = ("increasing", "decreasing")

# Where a feature value may also land on the application record.
APPLICATION_FIELDS: tuple[str, ...] = ("amount", "term_months", "purpose")
NUMERIC_APPLICATION_FIELDS: frozenset[str] = frozenset({"amount", "term_months"})
# A protected column without `maps_to` is kept under its own name in the protected record's `other` mapping.
AGE_LIMITS = (0, 150)

SCHEMA_KEYS = frozenset(
    {
        "name",
        "description",
        "provenance",
        "file",
        "kind",
        "delimiter",
        "product",
        "default_term_months",
        "period",
        "positive_label",
        "negative_label",
        "approve_label",
        "decline_label",
        "columns",
        "policy",
        "default_definition",
    }
)
COLUMN_KEYS = frozenset(
    {
        "role",
        "type",
        "monotone",
        "maps_to",
        "split",
        "labels",
        "missing",
        "bands",
        "min",
        "max",
        "required",
        "label",
        "help",
        "reason",
        "value_labels",
        "value_reasons",
    }
)
POLICY_KEYS = frozenset({"version", "approve_below", "decline_from"})
DEFINITION_KEYS = frozenset({"days_past_due", "horizon_months", "text"})
REASON_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
MAX_LABEL_LENGTH = 80
MAX_TEXT_LENGTH = 200
OUTCOME_KEYS = ("positive_label", "negative_label")
DECISION_KEYS = ("approve_label", "decline_label")
# The name prefixes references ("<name>:<row>") and policy versions ("historical:<name>", 50 chars).
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,38}$")
MAX_TERM_MONTHS = 600
DEFAULT_PERIOD = (dt.date(2000, 1, 1), dt.date(2000, 12, 31))
_INTEGRAL_CODE = re.compile(r"^(-?\d+)\.0+$")


class SchemaError(ValueError):
    """A schema file that cannot be used, with every problem listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def code_normalise(text: str) -> str:
    """Integer codes written as floats ("5.0", as in HMDA's race column) read as the code ("5")."""
    match = _INTEGRAL_CODE.match(text)
    return match.group(1) if match else text


def band_label(value: float, bands: tuple[float, ...]) -> str:
    """The band of a value between cut points: "<25", "25-<35", ">=35" (the style of HMDA's bands)."""
    cuts = [_number_text(cut) for cut in bands]
    if value < bands[0]:
        return f"<{cuts[0]}"
    for index in range(1, len(bands)):
        if value < bands[index]:
            return f"{cuts[index - 1]}-<{cuts[index]}"
    return f">={cuts[-1]}"


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@dataclass(frozen=True)
class ReasonText:
    """An adverse-action reason in the schema's words; `code`, once issued, keeps its meaning (blank: derived)."""

    text: str
    code: str = ""

    def as_list(self) -> list[str]:
        return [self.code, self.text]


@dataclass(frozen=True)
class DefaultDefinition:
    """What counts as a default: this many days past due within this many months of funding."""

    days_past_due: int = 90
    horizon_months: int | None = 12
    text: str = ""

    def describe(self) -> str:
        if self.text:
            return self.text
        within = f" within {self.horizon_months} months of funding" if self.horizon_months else ""
        return f"{self.days_past_due}+ days past due{within}"

    def as_dict(self) -> dict[str, Any]:
        return {"days_past_due": self.days_past_due, "horizon_months": self.horizon_months, "text": self.describe()}


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its role, type and, where relevant, how it maps onto FinAI's record.

    `monotone` is the direction of default risk as the value rises (features only).
    `maps_to` names the field a value lands in: for features `amount`, `term_months` or `purpose`
    (they are also kept as features); for protected columns a ProtectedAttributes field, or a list
    of fields when `split` divides one value into parts (German credit's "male : single").
    `labels` translates codes to readable values (HMDA race codes); `missing` lists values that mean
    "not known"; `bands` are cut points that derive `age_band` from an age in years. `minimum` and
    `maximum` bound a numeric feature's possible values (both included): an application outside them is
    impossible, so it is refused rather than scored. `required` is False for a feature an application may
    leave out (it is then missing, as `missing` values are). `label` and `help` are what a loan officer
    reads; `reason` words the adverse-action reason the feature gives, `value_reasons` one per category;
    `value_labels` shows a category in readable words without changing the value the model learnt.
    """

    name: str
    role: Role
    type: ColumnType = "categorical"
    monotone: str | None = None
    maps_to: str | tuple[str, ...] | None = None
    split: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    bands: tuple[float, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = True
    label: str = ""
    help: str = ""
    reason: ReasonText | None = None
    value_labels: dict[str, str] = field(default_factory=dict)
    value_reasons: dict[str, ReasonText] = field(default_factory=dict)

    @property
    def display_label(self) -> str:
        """The schema's label, else the column name in words ("credit_amount" reads "Credit amount")."""
        return self.label or self.name.replace("_", " ").strip().capitalize()

    def wording(self) -> dict[str, Any]:
        """The texts a model carries for this feature into its artifact (see FeatureSpec.wording)."""
        return {
            "label": self.display_label,
            "reason": self.reason.as_list() if self.reason else None,
            "value_reasons": {value: reason.as_list() for value, reason in self.value_reasons.items()},
        }

    def domain_problem(self, number: float) -> str:
        """Why a numeric value is outside the column's declared range, or "" when it is inside."""
        below = self.minimum is not None and number < self.minimum
        above = self.maximum is not None and number > self.maximum
        return (
            f"{number:g} is outside the allowed range {domain_text(self.minimum, self.maximum)}"
            if below or above
            else ""
        )

    def parse(self, raw: str) -> str | int | float | None:
        """A cell's typed value: None when missing, a number for numeric columns, else the label or text.

        Raises ValueError saying what is wrong with the cell, so a loader can name every bad cell.
        """
        text = raw.strip()
        if text in self.missing or code_normalise(text) in self.missing:
            return None
        if not text:
            raise ValueError('is empty (list "" under missing if an empty cell means not known)')
        if self.type == "numeric":
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a number") from None
            if not math.isfinite(number):
                raise ValueError(f"{text!r} is not a finite number")
            if problem := domain_problem(number, self.minimum, self.maximum):
                raise ValueError(problem)
            return int(number) if number.is_integer() else number
        if self.labels:
            code = code_normalise(text)
            if code not in self.labels:
                raise ValueError(f"{text!r} is not one of the codes listed under labels")
            return self.labels[code]
        return text

    def protected_values(self, value: str | int | float | None) -> dict[str, Any]:
        """The ProtectedAttributes fields a parsed value fills (split into parts, age banded).

        A column without `maps_to` is keyed by its own name (the loader keeps it in `other`).
        Raises ValueError when a value cannot be split as declared or is not a plausible age.
        """
        if value is None:
            return {}
        if self.split:
            parts = [part.strip() for part in str(value).split(self.split)]
            if len(parts) != len(self.maps_to or ()):
                raise ValueError(f"{value!r} does not split on {self.split!r} into {len(self.maps_to or ())} parts")
            return dict(zip(self.maps_to or (), parts, strict=True))
        # A decisions file is read with pandas: its numbers arrive as numpy scalars, which are Real too.
        number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
        if self.maps_to == "age_years":
            if number is None or not AGE_LIMITS[0] <= number <= AGE_LIMITS[1]:
                raise ValueError(f"{value!r} is not an age in years")
            values: dict[str, Any] = {"age_years": int(number)}
            if self.bands:
                values["age_band"] = band_label(number, self.bands)
            return values
        if self.bands:
            if number is None or not math.isfinite(number):
                raise ValueError(f"{value!r} is not a number to band")
            return {self.name: band_label(number, self.bands)}
        return {self.maps_to if isinstance(self.maps_to, str) else self.name: value}


@dataclass(frozen=True)
class DatasetSchema:
    """A whole data set's layout.

    `kind` is `outcomes` when the target is repayment (default or not: models can learn from it) or
    `decisions` when the file records a lender's approve/deny decisions (auditable, not for training).
    `product`, `default_term_months` and `period` say what the loader records where the file is
    silent: the product, the term of a loan whose term is not in the file, and the historical period
    over which rows without dates are spread.
    """

    name: str
    kind: Literal["outcomes", "decisions"]
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    file: str | None = None
    delimiter: str = ","
    positive_label: str | None = None
    negative_label: str | None = None
    approve_label: str | None = None
    decline_label: str | None = None
    provenance: str = ""
    product: str = "consumer_loan"
    default_term_months: int | None = None
    period: tuple[dt.date, dt.date] = DEFAULT_PERIOD
    policy: DecisionPolicy | None = None
    default_definition: DefaultDefinition = field(default_factory=DefaultDefinition)
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def with_role(self, role: Role) -> tuple[ColumnSpec, ...]:
        return tuple(spec for spec in self.columns if spec.role == role)

    def mapped_to(self, application_field: str) -> ColumnSpec | None:
        """The feature column that fills an application field (`amount`, `term_months`, `purpose`)."""
        found = [spec for spec in self.features if spec.maps_to == application_field]
        return found[0] if found else None

    @property
    def features(self) -> tuple[ColumnSpec, ...]:
        return self.with_role("feature")

    @property
    def protected(self) -> tuple[ColumnSpec, ...]:
        return self.with_role("protected")

    @property
    def protected_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.protected)

    @property
    def group_attributes(self) -> tuple[str, ...]:
        """The protected groupings the data set yields, fairness is measured over: the record's fields it
        fills (age as its band) and, by their own names, the protected columns it keeps apart (education)."""
        found: list[str] = []
        for spec in self.protected:
            targets = spec.maps_to if isinstance(spec.maps_to, tuple) else (spec.maps_to or spec.name,)
            found.extend(target for target in targets if target != "age_years")
            if spec.maps_to == "age_years" and spec.bands:
                found.append("age_band")
        return tuple(dict.fromkeys(found))

    @property
    def own_attributes(self) -> tuple[str, ...]:
        """The protected columns kept by their own name (no field of the record): stored in `other`."""
        return tuple(spec.name for spec in self.protected if spec.maps_to is None)

    @property
    def target(self) -> ColumnSpec | None:
        found = self.with_role("target")
        return found[0] if found else None

    @property
    def decision(self) -> ColumnSpec | None:
        found = self.with_role("decision")
        return found[0] if found else None

    @property
    def id_column(self) -> ColumnSpec | None:
        found = self.with_role("id")
        return found[0] if found else None

    def resolve_file(self) -> Path:
        if not self.file:
            raise SchemaError([f"schema {self.name!r} names no data file; pass one explicitly"])
        return (SCHEMA_DIR.parent.parent / self.file).resolve()

    def as_dict(self) -> dict[str, Any]:
        """The schema as written (JSON-ready), stored with each snapshot so later steps read that copy."""
        return self.source

    @property
    def sha256(self) -> str:
        """SHA-256 of the schema's canonical JSON: the lineage names the exact schema a model learnt under."""
        return hashlib.sha256(json.dumps(self.source, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def wording(self) -> dict[str, dict[str, Any]]:
        """Each feature's label and reason texts, for the model artifact (reasons read as the lender wrote them)."""
        return {spec.name: spec.wording() for spec in self.features}


def _string_list(raw: Any, key: str, name: str, problems: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"column {name!r}: {key} must be a list")
        return ()
    return tuple("" if v is None else str(v) for v in raw)


def _bands_from(raw: Any, name: str, problems: list[str]) -> tuple[float, ...]:
    if raw is None:
        return ()
    numbers = raw if isinstance(raw, list) else [raw]
    if not numbers or any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers):
        problems.append(f"column {name!r}: bands must be a list of numbers (cut points)")
        return ()
    if any(a >= b for a, b in pairwise(numbers)):
        problems.append(f"column {name!r}: bands must rise strictly")
    return tuple(float(v) for v in numbers)


def _maps_to_problems(name: str, role: Any, kind: Any, maps_to: Any, split: Any) -> list[str]:
    """What is wrong with a column's `maps_to` / `split` for its role."""
    targets = list(maps_to) if isinstance(maps_to, tuple) else [maps_to]
    if maps_to is None:
        return [f"column {name!r}: split needs maps_to, a list of fields"] if split else []
    if any(not isinstance(t, str) for t in targets):
        return [f"column {name!r}: maps_to must be a field name or a list of field names"]
    problems = []
    if role == "feature":
        if isinstance(maps_to, tuple) or maps_to not in APPLICATION_FIELDS:
            problems.append(f"column {name!r}: a feature maps_to one of {', '.join(APPLICATION_FIELDS)}")
        elif maps_to in NUMERIC_APPLICATION_FIELDS and kind != "numeric":
            problems.append(f"column {name!r}: a column mapped to {maps_to} must be numeric")
    elif role == "protected":
        unknown = [t for t in targets if t not in PROTECTED_ATTRIBUTES]
        if unknown:
            problems.append(
                f"column {name!r}: protected maps_to must name fields among {', '.join(PROTECTED_ATTRIBUTES)}"
                f" (got {', '.join(map(repr, unknown))})"
            )
        if "age_years" in targets and kind != "numeric":
            problems.append(f"column {name!r}: a column mapped to age_years must be numeric")
    else:
        problems.append(f"column {name!r}: maps_to applies to feature and protected columns only")
    if isinstance(maps_to, tuple) != bool(split):
        problems.append(f"column {name!r}: split and a list under maps_to go together")
    elif split and (role != "protected" or len(targets) < 2 or not isinstance(split, str)):
        problems.append(f"column {name!r}: split (a separator) divides a protected value into 2 or more fields")
    return problems


def _column_from(name: str, raw: Any, problems: list[str]) -> ColumnSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"column {name!r}: expected a mapping with at least a role")
        return None
    unknown = sorted(set(raw) - COLUMN_KEYS)
    if unknown:
        problems.append(f"column {name!r}: unknown keys {', '.join(map(str, unknown))}")
    role, kind, monotone = raw.get("role"), raw.get("type", "categorical"), raw.get("monotone")
    if role not in ROLES:
        problems.append(f"column {name!r}: role must be one of {', '.join(ROLES)} (got {role!r})")
    if kind not in TYPES:
        problems.append(f"column {name!r}: type must be one of {', '.join(TYPES)} (got {kind!r})")
    if monotone is not None and (role != "feature" or monotone not in MONOTONE):
        problems.append(f"column {name!r}: monotone must be increasing or decreasing, on a feature only")
    maps_to, split = raw.get("maps_to"), raw.get("split")
    if isinstance(maps_to, list):
        maps_to = tuple(maps_to)
    problems.extend(_maps_to_problems(name, role, kind, maps_to, split))
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict):
        problems.append(f"column {name!r}: labels must map each code to its meaning")
        labels = {}
    if labels and kind != "categorical":
        problems.append(f"column {name!r}: labels apply to categorical columns only")
    minimum, maximum = _domain_from(raw, name, kind, role, problems)
    wording = _wording_from(raw, name, kind, role, problems)
    bands = _bands_from(raw.get("bands"), name, problems)
    if bands and (role != "protected" or kind != "numeric" or maps_to not in (None, "age_years")):
        problems.append(
            f"column {name!r}: bands group a numeric protected column (mapped to age_years, or kept by its own name)"
        )
    return ColumnSpec(
        name=name,
        role=role,
        type=kind,
        monotone=monotone,
        maps_to=maps_to,
        split=split,
        labels={code_normalise(str(k)): str(v) for k, v in labels.items()},
        missing=_string_list(raw.get("missing"), "missing", name, problems),
        bands=bands,
        minimum=minimum,
        maximum=maximum,
        **wording,
    )


def _text_from(raw: Any, where: str, limit: int, problems: list[str]) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > limit:
        problems.append(f"{where} must be text of 1 to {limit} characters")
        return ""
    return raw.strip()


def _reason_from(raw: Any, where: str, problems: list[str]) -> ReasonText | None:
    """A reason as text, or as {code, text} when the lender issues its own stable code."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        unknown = sorted(set(map(str, raw)) - {"code", "text"})
        code = raw.get("code", "")
        if unknown or not isinstance(code, str) or (code and not REASON_CODE.match(code)):
            problems.append(
                f"{where} must be a text, or a code (a capital letter, then letters or digits: R07) and a text"
            )
            return None
        text = _text_from(raw.get("text"), f"{where} text", MAX_TEXT_LENGTH, problems)
        return ReasonText(text, code) if text else None
    text = _text_from(raw, where, MAX_TEXT_LENGTH, problems)
    return ReasonText(text) if text else None


def _wording_from(raw: dict[str, Any], name: str, kind: Any, role: Any, problems: list[str]) -> dict[str, Any]:
    """A column's required flag, label, help and reason texts, each checked."""
    where = f"column {name!r}:"
    required = raw.get("required", True)
    if not isinstance(required, bool):
        problems.append(f"{where} required must be true or false")
        required = True
    if not required and role != "feature":
        problems.append(f"{where} required applies to features only")
    if any(key in raw for key in ("reason", "value_labels", "value_reasons")) and role != "feature":
        problems.append(f"{where} reason, value_labels and value_reasons apply to features only")
    value_labels: dict[str, str] = {}
    value_reasons: dict[str, ReasonText] = {}
    for key in ("value_labels", "value_reasons"):
        entries = raw.get(key) or {}
        if not isinstance(entries, dict):
            problems.append(f"{where} {key} must map each category to its text")
            continue
        if entries and kind != "categorical":
            problems.append(f"{where} {key} apply to categorical columns only")
        for value, text in entries.items():
            if key == "value_labels":
                value_labels[str(value)] = _text_from(
                    text, f"{where} value_labels[{value!r}]", MAX_LABEL_LENGTH, problems
                )
            elif reason := _reason_from(text, f"{where} value_reasons[{value!r}]", problems):
                value_reasons[str(value)] = reason
    return {
        "required": required,
        "label": _text_from(raw.get("label"), f"{where} label", MAX_LABEL_LENGTH, problems),
        "help": _text_from(raw.get("help"), f"{where} help", MAX_TEXT_LENGTH, problems),
        "reason": _reason_from(raw.get("reason"), f"{where} reason", problems),
        "value_labels": value_labels,
        "value_reasons": value_reasons,
    }


def _policy_from(raw: Any, problems: list[str]) -> DecisionPolicy | None:
    """The data set's own cut-offs, versioned (every decision records the version it was made under)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(map(str, raw)) != POLICY_KEYS:
        problems.append("policy must give version, approve_below and decline_from (probabilities of default)")
        return None
    try:
        return DecisionPolicy(
            version=str(raw["version"]), approve_below=raw["approve_below"], decline_from=raw["decline_from"]
        )
    except (ApplicationError, TypeError) as exc:
        details = getattr(exc, "details", {}) or {"policy": str(exc)}
        problems.extend(f"policy {key}: {problem}" for key, problem in details.items())
        return None


def _definition_from(raw: Any, problems: list[str]) -> DefaultDefinition:
    if raw is None:
        return DefaultDefinition()
    if not isinstance(raw, dict) or not set(map(str, raw)) <= DEFINITION_KEYS:
        problems.append(f"default_definition may give {', '.join(sorted(DEFINITION_KEYS))}")
        return DefaultDefinition()
    days, horizon = raw.get("days_past_due", 90), raw.get("horizon_months", 12)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 720:
        problems.append("default_definition days_past_due must be a whole number of days from 1 to 720")
        days = 90
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= 600):
        problems.append("default_definition horizon_months must be a whole number of months from 1 to 600, or null")
        horizon = 12
    return DefaultDefinition(days, horizon, _text_from(raw.get("text"), "default_definition text", 200, problems))


def domain_problem(number: float, minimum: float | None, maximum: float | None) -> str:
    """Why a number is outside a numeric domain (both bounds included), or "" when it is inside."""
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return f"{_readable(number)} is outside the allowed range {domain_text(minimum, maximum)}"
    return ""


def _readable(number: float) -> str:
    """999999999999 as "999,999,999,999", 2.5 as "2.5": never "1e+12" to a loan officer."""
    return f"{int(number):,}" if float(number).is_integer() else f"{number:,}"


def domain_text(minimum: float | None, maximum: float | None) -> str:
    """A numeric domain as people read it: "1 to 4", "at least 0", "at most 72"."""
    if minimum is not None and maximum is not None:
        return f"{_readable(minimum)} to {_readable(maximum)}"
    return f"at least {_readable(minimum)}" if minimum is not None else f"at most {_readable(maximum)}"


def _domain_from(
    raw: dict[str, Any], name: str, kind: Any, role: Any, problems: list[str]
) -> tuple[float | None, float | None]:
    """A numeric feature's declared `min` and `max` (either may be left out), checked for sense."""
    bounds: dict[str, float | None] = {}
    for key in ("min", "max"):
        value = raw.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            problems.append(f"column {name!r}: {key} must be a finite number (got {value!r})")
            value = None
        bounds[key] = float(value) if value is not None else None
    if (bounds["min"] is not None or bounds["max"] is not None) and (kind != "numeric" or role != "feature"):
        problems.append(f"column {name!r}: min and max bound numeric features only")
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        problems.append(f"column {name!r}: min {bounds['min']:g} is above max {bounds['max']:g}")
    return bounds["min"], bounds["max"]


def _period_from(raw: Any, problems: list[str]) -> tuple[dt.date, dt.date]:
    if raw is None:
        return DEFAULT_PERIOD
    try:
        start, end = (v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)) for v in raw)
    except (TypeError, ValueError):
        problems.append("period must be [start, end], two dates as YYYY-MM-DD")
        return DEFAULT_PERIOD
    if start > end:
        problems.append("period must start on or before its end")
    return start, end


def _top_level_problems(raw: dict[str, Any], kind: Any) -> list[str]:
    problems = []
    unknown = sorted(set(raw) - SCHEMA_KEYS)
    if unknown:
        problems.append(f"unknown keys {', '.join(map(str, unknown))}")
    name = raw.get("name")
    if not name:
        problems.append("name is required")
    elif not NAME_PATTERN.match(str(name)):
        problems.append(
            "name must be lower-case letters, digits and underscores, starting with a letter, at most 39 characters"
        )
    if kind not in ("outcomes", "decisions"):
        problems.append(f"kind must be outcomes or decisions (got {kind!r})")
    if kind == "outcomes" and raw.get("positive_label") is None:
        problems.append("positive_label (the target value that means default) is required")
    if kind == "decisions" and raw.get("approve_label") is None:
        problems.append("approve_label (the decision value that means approved) is required")
    if kind in ("outcomes", "decisions"):
        other_kind, misplaced = ("decisions", DECISION_KEYS) if kind == "outcomes" else ("outcomes", OUTCOME_KEYS)
        problems.extend(f"{key} applies to {other_kind} schemas only" for key in misplaced if key in raw)
    term = raw.get("default_term_months")
    if term is not None and (isinstance(term, bool) or not isinstance(term, int) or not 0 < term <= MAX_TERM_MONTHS):
        problems.append(f"default_term_months must be a whole number of months from 1 to {MAX_TERM_MONTHS}")
    product = raw.get("product", "consumer_loan")
    if not isinstance(product, str) or not NAME_PATTERN.match(product):
        problems.append("product must be lower-case letters, digits and underscores, e.g. mortgage")
    if not isinstance(raw.get("delimiter", ","), str) or len(raw.get("delimiter", ",")) != 1:
        problems.append("delimiter must be one character")
    return problems


def _columns_problems(kind: Any, columns: tuple[ColumnSpec, ...]) -> list[str]:
    problems = []
    roles = [c.role for c in columns]
    if kind == "outcomes" and roles.count("target") != 1:
        problems.append("an outcomes schema needs exactly one target column")
    if kind == "decisions" and roles.count("decision") != 1:
        problems.append("a decisions schema needs exactly one decision column")
    if roles.count("id") > 1:
        problems.append("at most one id column")
    if "feature" not in roles:
        problems.append("at least one feature column is required")
    filled: list[str] = []
    for column in columns:
        targets = column.maps_to if isinstance(column.maps_to, tuple) else (column.maps_to,)
        filled.extend(t for t in targets if isinstance(t, str))
        if column.bands and column.maps_to == "age_years":
            filled.append("age_band")
    twice = sorted({t for t in filled if filled.count(t) > 1})
    if twice:
        problems.append(f"more than one column fills {', '.join(twice)}")
    return problems


def _unstorable_problems(node: Any, where: str = "", seen: set[int] | None = None) -> list[str]:
    """Each value the stored copy of the schema could not hold, by its path: a schema is stored as JSON (Postgres
    jsonb), which has no NaN or infinity (YAML's .nan, .inf) and no NUL character or unpaired surrogate in text;
    none is a meaningful value either (`name: .nan` would read "nan").

    Each mapping or list is visited once: YAML aliases share them, and an alias bomb must not be expanded.
    """
    where_text = where or "the schema"
    if isinstance(node, float) and not math.isfinite(node):
        return [f"{where_text} is {node}, which is not a finite number"]
    if isinstance(node, str):
        return [f"{where_text} holds a NUL or an unpaired surrogate character"] if not _storable_text(node) else []
    seen = set() if seen is None else seen
    if not isinstance(node, dict | list) or id(node) in seen:
        return []
    seen.add(id(node))
    problems = []
    for key, value in node.items() if isinstance(node, dict) else enumerate(node):
        if isinstance(key, str) and not _storable_text(key):
            problems.append(f"a key in {where_text} holds a NUL or an unpaired surrogate character")
        problems.extend(_unstorable_problems(value, _at(where, key), seen))
    return problems


def _storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _at(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def schema_from_dict(raw: Any) -> DatasetSchema:
    """Build and validate a schema; every problem is reported at once."""
    if not isinstance(raw, dict):
        raise SchemaError(["a schema must be a mapping with name, kind and columns"])
    kind = raw.get("kind")
    problems = [*_unstorable_problems(raw), *_top_level_problems(raw, kind)]
    raw_columns = raw.get("columns")
    if not isinstance(raw_columns, dict) or not raw_columns:
        problems.append("columns must map each column name to its role")
        raw_columns = {}
    columns = tuple(c for n, r in raw_columns.items() if (c := _column_from(str(n), r, problems)))
    problems.extend(_columns_problems(kind, columns))
    period = _period_from(raw.get("period"), problems)
    policy = _policy_from(raw.get("policy"), problems)
    if policy is not None and kind != "outcomes":
        problems.append("policy applies to outcomes schemas only (models decide from repayment data)")
    definition = _definition_from(raw.get("default_definition"), problems)
    if problems:
        raise SchemaError(problems)

    def label(key: str) -> str | None:
        return None if raw.get(key) is None else str(raw[key])

    return DatasetSchema(
        name=str(raw["name"]),
        kind=kind,
        columns=columns,
        description=str(raw.get("description", "")),
        file=raw.get("file"),
        delimiter=str(raw.get("delimiter", ",")),
        positive_label=label("positive_label"),
        negative_label=label("negative_label"),
        approve_label=label("approve_label"),
        decline_label=label("decline_label"),
        provenance=str(raw.get("provenance", "")),
        product=str(raw.get("product", "consumer_loan")),
        default_term_months=raw.get("default_term_months"),
        period=period,
        policy=policy,
        default_definition=definition,
        source=json.loads(json.dumps(raw, default=str)),
    )


def schema_load(name_or_path: str | Path) -> DatasetSchema:
    """Load a schema by file path, or by name from `data/schemas/`.

    Parsed once per file version (path and modification time): scoring reads the schema on every
    decision, and parsing YAML costs milliseconds.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = SCHEMA_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise SchemaError([f"no schema file at {path}"])
    return _schema_parse(path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _schema_parse(path: Path, modified_ns: int) -> DatasetSchema:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SchemaError([f"{path.name} is not valid YAML: {exc}"]) from exc
    return schema_from_dict(raw)
