"""Screening scenarios as plain data: a typology, its parameters, and a name, built from a dict.

Later the scenarios are stored and versioned (a compliance officer changes a threshold, an auditor asks
which threshold produced last March's alerts), so a scenario must round-trip through JSON: each
typology's parameters are a frozen dataclass with defaults, `scenario_from_dict` refuses unknown
typologies, unknown parameters, wrong types and out-of-range values, naming every field at once
("parameters.threshold": "must be > 0"), and `Scenario.as_dict` gives the stored form back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from finai.errors import ApplicationError

INVALID_SCENARIO = "The screening scenario is invalid."
UNKNOWN_TYPOLOGY = "unknown typology; one of: {known}"
UNKNOWN_PARAMETER = "unknown parameter"
NOT_A_NUMBER = "must be a number"
NOT_AN_INTEGER = "must be a whole number"
NOT_TEXT = "must be non-empty text"
BELOW = "must be >= {bound}"
ABOVE = "must be <= {bound}"
NOT_ONE_OF = "must be one of: {choices}"

# (kind, lowest, highest); kind is "int", "float" or a tuple of allowed texts.
Limits = dict[str, tuple[Any, float | None, float | None]]


@dataclass(frozen=True)
class StructuringParameters:
    """Several cash deposits just under a reporting threshold within a few days (e.g. US CTR: $10,000)."""

    threshold: float = 10_000.0
    margin: float = 0.1
    minimum_deposits: int = 3
    window_days: float = 7.0
    LIMITS: ClassVar[Limits] = {
        "threshold": ("float", 0.01, None),
        "margin": ("float", 0.001, 0.99),
        "minimum_deposits": ("int", 2, None),
        "window_days": ("float", 0.01, 366),
    }


@dataclass(frozen=True)
class PassThroughParameters:
    """Most of a large inflow leaving again within hours: the account is a conduit, not a destination."""

    minimum_amount: float = 5_000.0
    share: float = 0.8
    maximum_share: float = 1.25  # far more out than in is spending a balance, not passing money on
    window_hours: float = 48.0
    LIMITS: ClassVar[Limits] = {
        "minimum_amount": ("float", 0.0, None),
        "share": ("float", 0.01, 10.0),
        "maximum_share": ("float", 0.01, 100.0),
        "window_hours": ("float", 0.01, 24 * 366),
    }


@dataclass(frozen=True)
class FanParameters:
    """Many distinct counterparties on one side of an account within a window (fan-in or fan-out)."""

    minimum_counterparties: int = 8
    window_days: float = 7.0
    minimum_amount: float = 250.0  # below it, a week of card purchases at many shops is ordinary fan-out
    LIMITS: ClassVar[Limits] = {
        "minimum_counterparties": ("int", 2, None),
        "window_days": ("float", 0.01, 366),
        "minimum_amount": ("float", 0.0, None),
    }


@dataclass(frozen=True)
class CycleParameters:
    """Money returning to where it started through other accounts, in time order, within T days.

    `amount_tolerance` bounds each hop's amount against the previous hop's (launderers pass on roughly
    what they received, less a fee), which keeps the path search small and ordinary round trips out.
    """

    minimum_hops: int = 3
    maximum_hops: int = 4
    window_days: float = 14.0
    minimum_amount: float = 1_000.0
    amount_tolerance: float = 0.2
    LIMITS: ClassVar[Limits] = {
        "minimum_hops": ("int", 2, 6),
        "maximum_hops": ("int", 2, 6),
        "window_days": ("float", 0.01, 366),
        "minimum_amount": ("float", 0.0, None),
        "amount_tolerance": ("float", 0.0, 10.0),
    }


@dataclass(frozen=True)
class DormancyParameters:
    """An account silent for months that wakes with large activity (a bought or taken-over account)."""

    dormant_days: float = 90.0
    minimum_amount: float = 5_000.0
    activity_window_days: float = 7.0
    LIMITS: ClassVar[Limits] = {
        "dormant_days": ("float", 1, None),
        "minimum_amount": ("float", 0.0, None),
        "activity_window_days": ("float", 0.01, 366),
    }


@dataclass(frozen=True)
class VelocityParameters:
    """A window's count (or total amount) many times the account's own recent baseline."""

    metric: str = "count"
    window_days: float = 7.0
    baseline_days: float = 60.0
    multiple: float = 5.0
    minimum_in_window: float = 25.0
    minimum_baseline: float = 1.0
    LIMITS: ClassVar[Limits] = {
        "metric": (("count", "amount"), None, None),
        "window_days": ("float", 0.01, 366),
        "baseline_days": ("float", 0.01, 3660),
        "multiple": ("float", 1.0, None),
        "minimum_in_window": ("float", 0.0, None),
        "minimum_baseline": ("float", 0.000001, None),
    }


@dataclass(frozen=True)
class RoundAmountParameters:
    """Repeated amounts that are exact multiples of a large unit: invented sums rather than real bills."""

    unit: float = 1_000.0
    minimum_amount: float = 1_000.0
    minimum_transactions: int = 3
    window_days: float = 30.0
    LIMITS: ClassVar[Limits] = {
        "unit": ("float", 0.01, None),
        "minimum_amount": ("float", 0.0, None),
        "minimum_transactions": ("int", 1, None),
        "window_days": ("float", 0.01, 366),
    }


PARAMETERS: dict[str, type] = {
    "structuring": StructuringParameters,
    "pass_through": PassThroughParameters,
    "fan_in": FanParameters,
    "fan_out": FanParameters,
    "cycle": CycleParameters,
    "dormant_reactivation": DormancyParameters,
    "velocity_spike": VelocityParameters,
    "round_amounts": RoundAmountParameters,
}
TYPOLOGIES = tuple(PARAMETERS)


@dataclass(frozen=True)
class Scenario:
    """One rule: which typology, with which parameters, under which name (the name alerts carry)."""

    name: str
    typology: str
    parameters: Any

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "typology": self.typology, "parameters": asdict(self.parameters)}


def _check_value(value: Any, kind: Any, lowest: float | None, highest: float | None) -> tuple[Any, str | None]:
    if isinstance(kind, tuple):
        return (value, None) if value in kind else (value, NOT_ONE_OF.format(choices=", ".join(kind)))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value, NOT_A_NUMBER
    if kind == "int":
        if float(value) != int(value):
            return value, NOT_AN_INTEGER
        value = int(value)
    else:
        value = float(value)
    if value != value:  # NaN
        return value, NOT_A_NUMBER
    if lowest is not None and value < lowest:
        return value, BELOW.format(bound=lowest)
    if highest is not None and value > highest:
        return value, ABOVE.format(bound=highest)
    return value, None


def scenario_from_dict(data: Mapping[str, Any]) -> Scenario:
    """A validated scenario from its stored form `{"name", "typology", "parameters": {...}}`.

    Missing parameters take their defaults; every problem is reported in one `ApplicationError`
    (code "invalid_scenario") whose details name the field.
    """
    details: dict[str, str] = {}
    typology = data.get("typology")
    name = data.get("name", typology)
    if not isinstance(name, str) or not name.strip():
        details["name"] = NOT_TEXT
    if typology not in PARAMETERS:
        details["typology"] = UNKNOWN_TYPOLOGY.format(known=", ".join(TYPOLOGIES))
        raise ApplicationError(INVALID_SCENARIO, details=details, code="invalid_scenario")
    parameters_class = PARAMETERS[typology]
    given = data.get("parameters") or {}
    if not isinstance(given, Mapping):
        details["parameters"] = "must be an object"
        raise ApplicationError(INVALID_SCENARIO, details=details, code="invalid_scenario")
    known = {field.name for field in fields(parameters_class)}
    values: dict[str, Any] = {}
    for key in given:
        if key not in known:
            details[f"parameters.{key}"] = UNKNOWN_PARAMETER
    for key in sorted(known & set(given)):
        kind, lowest, highest = parameters_class.LIMITS[key]
        values[key], problem = _check_value(given[key], kind, lowest, highest)
        if problem:
            details[f"parameters.{key}"] = problem
    if not details:
        parameters = parameters_class(**values)
        if typology == "cycle" and parameters.minimum_hops > parameters.maximum_hops:
            details["parameters.minimum_hops"] = "must be <= maximum_hops"
        if typology == "pass_through" and parameters.share > parameters.maximum_share:
            details["parameters.share"] = "must be <= maximum_share"
    if details:
        raise ApplicationError(INVALID_SCENARIO, details=details, code="invalid_scenario")
    return Scenario(name=name, typology=typology, parameters=parameters)


def default_scenarios() -> tuple[Scenario, ...]:
    """One scenario per typology with default parameters, named after the typology."""
    return tuple(scenario_from_dict({"name": typology, "typology": typology}) for typology in TYPOLOGIES)


def scenario_history_days(scenario: Scenario) -> float:
    """How many days before a window's end its rule reads: the history a period's screening must load."""
    parameters = scenario.parameters
    if isinstance(parameters, PassThroughParameters):
        return parameters.window_hours / 24
    if isinstance(parameters, DormancyParameters):
        return parameters.dormant_days + parameters.activity_window_days
    if isinstance(parameters, VelocityParameters):
        return parameters.window_days + parameters.baseline_days
    return parameters.window_days
