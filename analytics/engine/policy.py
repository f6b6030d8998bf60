"""The decision policy: how a probability of default becomes approve, refer or decline, and a score.

A policy is versioned and frozen because every decision records the policy it was made under; a
decision is reproducible only if the cut-offs it used can never change behind its back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from finai.errors import ApplicationError

MAX_VERSION_LENGTH = 50  # Decision.policy_version
PD_FLOOR = 1e-12  # keeps the score finite for a model that is certain


class Outcome(StrEnum):
    APPROVE = "approve"
    REFER = "refer"
    DECLINE = "decline"


@dataclass(frozen=True)
class ScoreScale:
    """Points from odds, as scorecards print them: `base_score` at `base_odds` (good:bad), and every
    `points_to_double_odds` more points double the odds of repaying. score = offset + factor * ln(odds)."""

    base_score: float = 600.0
    base_odds: float = 50.0
    points_to_double_odds: float = 20.0
    factor: float = field(init=False, repr=False, compare=False)
    offset: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        factor = self.points_to_double_odds / math.log(2)
        object.__setattr__(self, "factor", factor)
        object.__setattr__(self, "offset", self.base_score - factor * math.log(self.base_odds))

    def as_dict(self) -> dict[str, float]:
        return {
            "base_score": self.base_score,
            "base_odds": self.base_odds,
            "points_to_double_odds": self.points_to_double_odds,
        }

    def points(self, probability_of_default: float) -> float:
        clipped = min(max(probability_of_default, PD_FLOOR), 1.0 - PD_FLOOR)
        return self.offset + self.factor * math.log((1.0 - clipped) / clipped)


@dataclass(frozen=True)
class DecisionPolicy:
    """Approve when PD < `approve_below`, decline when PD >= `decline_from`, refer in between."""

    version: str
    approve_below: float
    decline_from: float
    scale: ScoreScale = field(default_factory=ScoreScale)

    def __post_init__(self) -> None:
        problems = {}
        if not self.version or len(self.version) > MAX_VERSION_LENGTH:
            problems["version"] = f"is required, at most {MAX_VERSION_LENGTH} characters"
        if not 0 < self.approve_below <= 1:
            problems["approve_below"] = "must be a probability above 0 and at most 1"
        if not 0 < self.decline_from <= 1:
            problems["decline_from"] = "must be a probability above 0 and at most 1"
        elif self.decline_from < self.approve_below:
            problems["decline_from"] = "must not be below approve_below"
        if problems:
            raise ApplicationError("The decision policy is invalid.", details=problems, code="invalid_policy")

    def outcome(self, probability_of_default: float) -> Outcome:
        if probability_of_default < self.approve_below:
            return Outcome.APPROVE
        if probability_of_default >= self.decline_from:
            return Outcome.DECLINE
        return Outcome.REFER

    def score(self, probability_of_default: float) -> int:
        """The scaled score a decision shows and stores, rounded to whole points."""
        return round(self.scale.points(probability_of_default))

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "approve_below": self.approve_below,
            "decline_from": self.decline_from,
            "scale": self.scale.as_dict(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DecisionPolicy:
        return cls(
            version=raw["version"],
            approve_below=raw["approve_below"],
            decline_from=raw["decline_from"],
            scale=ScoreScale(**raw.get("scale", {})),
        )


# German credit defaults run at 30%: approve the safer half, decline where default is the likelier outcome.
DEFAULT_POLICY = DecisionPolicy(version="consumer-2025.1", approve_below=0.25, decline_from=0.5)
