"""Deciding one application fast: the scoring path a partner's request waits on.

A `Scorer` is built once per model version and policy (and cached per process by its caller). Deciding
then touches no DataFrame and no scikit-learn or TensorFlow call: the coding turns the application into
numbers, the model's kernel (precomputed numpy tables) gives the probability of default, and only for a
referral or decline are attributions computed and turned into reasons. The returned feature values are
the exact inputs used, so storing them lets anyone replay the decision and get the same answer; the
inputs beyond the range the model saw in training are named with it, never silently extrapolated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.engine.families.base import FittedModel
from analytics.engine.features import FeatureValue
from analytics.engine.policy import DecisionPolicy, Outcome
from analytics.engine.reason_codes import Reason, ReasonCatalogue, principal_reasons, reason_catalogue_for


@dataclass(frozen=True)
class ScoredDecision:
    probability_of_default: float
    score: int
    outcome: Outcome
    reasons: tuple[Reason, ...]
    features: dict[str, FeatureValue]
    policy_version: str
    outside_training_range: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as a decision record stores it."""
        return {
            "probability_of_default": self.probability_of_default,
            "score": self.score,
            "outcome": self.outcome.value,
            "reasons": [reason.as_dict() for reason in self.reasons],
            "features": dict(self.features),
            "policy_version": self.policy_version,
            "outside_training_range": list(self.outside_training_range),
        }


class Scorer:
    """One model version under one policy, ready to decide applications given as dicts of raw values."""

    def __init__(self, model: FittedModel, policy: DecisionPolicy, catalogue: ReasonCatalogue | None = None) -> None:
        self.model = model
        self.policy = policy
        self.catalogue = catalogue or reason_catalogue_for(model.spec)
        self.kernel = model.kernel()
        self.coding = model.coding
        self.names = model.input_names

    def check(self, application: Mapping[str, Any]) -> None:
        """Raise FeatureValueError naming each missing or unusable feature; computes no probability."""
        self.coding.vector(application)

    def decide(self, application: Mapping[str, Any]) -> ScoredDecision:
        """Probability, score, outcome and — for referrals and declines — up to four principal reasons.

        Extra keys in `application` are ignored; a missing or unusable feature raises FeatureValueError
        naming each field.
        """
        codes, used = self.coding.vector(application)
        located = self.kernel.locate(codes)
        probability = self.kernel.probability_of_default(located)
        outcome = self.policy.outcome(probability)
        reasons: tuple[Reason, ...] = ()
        if outcome is not Outcome.APPROVE:
            attributions = self.kernel.attributions(located).tolist()
            reasons = principal_reasons(
                zip(self.names, attributions, strict=True), catalogue=self.catalogue, features=used
            )
        return ScoredDecision(
            probability,
            self.policy.score(probability),
            outcome,
            reasons,
            used,
            self.policy.version,
            self.coding.outside_training(used),
        )
