"""Bias mitigation while training: which method, on which protected attribute, how strongly.

Every method here reads the protected attribute from `TrainingData.protected` while the model learns,
never when it decides (ECOA / Regulation B); methods that would need it at decision time are refused by
`mitigation_method_validate` with the disparate-treatment reason.

- reweighing (pre-processing, any family): Kamiran-Calders weights on the training rows, raised to the
  power `strength` (1 is the textbook weights, 0.5 half-way towards none);
- exponentiated_gradient (in-processing, scorecard): fairlearn's reduction under demographic parity or
  true-positive-rate parity at the policy cut-off, made deterministic; `strength` divides the tolerated
  violation (1 is fairlearn's default, 0.01);
- adversarial (in-processing, neural): an adversary trained to recognise the group from the score, with
  weight `strength` in the network's loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.fairness import MitigationMethod, mitigation_method_validate, reweighing_weights
from analytics.families import FittedModel, TrainingData, family_get
from analytics.families.base import Progress
from analytics.families.scorecard import PARITY_CONSTRAINTS, ParityConstraint, Scorecard
from analytics.policy import DecisionPolicy
from finai.errors import ApplicationError

# Protected fields that hold groups (an age in years does not: its band does).
GROUP_ATTRIBUTES: tuple[str, ...] = ("sex", "marital_status", "age_band", "race_ethnicity", "national_origin")
DEFAULT_ATTRIBUTE = "sex"
MAX_STRENGTH = 10.0
BASE_TOLERANCE = 0.01  # fairlearn's default allowed constraint violation, at strength 1
# The family each in-processing method trains; reweighing works with any.
METHOD_FAMILY = {MitigationMethod.EXPONENTIATED_GRADIENT: "scorecard", MitigationMethod.ADVERSARIAL: "neural"}
# Keys of a version's params that configure mitigation rather than the family.
MITIGATION_PARAMS = ("mitigation_attribute", "mitigation_strength", "mitigation_constraint")


@dataclass(frozen=True)
class Mitigation:
    """A validated mitigation: method, the protected attribute it balances, strength and parity constraint."""

    method: MitigationMethod = MitigationMethod.NONE
    attribute: str = DEFAULT_ATTRIBUTE
    strength: float = 1.0
    constraint: ParityConstraint = "demographic_parity"

    def as_params(self) -> dict[str, Any]:
        """The mitigation's entries in a version's recorded params (none for no mitigation)."""
        if self.method is MitigationMethod.NONE:
            return {}
        params: dict[str, Any] = {"mitigation_attribute": self.attribute, "mitigation_strength": self.strength}
        if self.method is MitigationMethod.EXPONENTIATED_GRADIENT:
            params["mitigation_constraint"] = self.constraint
        return params


def mitigation_resolve(*, method: str, family: str, params: Mapping[str, Any] | None) -> Mitigation:
    """The mitigation asked for, checked against the family; every problem named by its field."""
    chosen = mitigation_method_validate(method=method or MitigationMethod.NONE.value)
    given = {name: value for name, value in (params or {}).items() if name in MITIGATION_PARAMS}
    if chosen is MitigationMethod.NONE:
        return Mitigation()
    problems: dict[str, str] = {}
    needed_family = METHOD_FAMILY.get(chosen)
    if needed_family is not None and family != needed_family:
        problems["mitigation"] = f"{chosen.value} trains the {needed_family} family, not {family}"
    attribute = given.get("mitigation_attribute", DEFAULT_ATTRIBUTE)
    if attribute not in GROUP_ATTRIBUTES:
        problems["mitigation_attribute"] = f"{attribute!r} is not one of {', '.join(GROUP_ATTRIBUTES)}"
    strength = given.get("mitigation_strength", 1.0)
    if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0 < strength <= MAX_STRENGTH:
        problems["mitigation_strength"] = f"must be a number above 0 and at most {MAX_STRENGTH:g}"
    constraint = given.get("mitigation_constraint", "demographic_parity")
    if constraint not in PARITY_CONSTRAINTS:
        problems["mitigation_constraint"] = f"{constraint!r} is not one of {', '.join(PARITY_CONSTRAINTS)}"
    elif "mitigation_constraint" in given and chosen is not MitigationMethod.EXPONENTIATED_GRADIENT:
        problems["mitigation_constraint"] = "applies to exponentiated_gradient only"
    if problems:
        raise ApplicationError("The mitigation cannot be used as asked.", details=problems, code="invalid_mitigation")
    return Mitigation(method=chosen, attribute=attribute, strength=float(strength), constraint=constraint)


def family_params_for(*, mitigation: Mitigation, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The family's own parameters: mitigation keys removed, the adversary configured from the mitigation."""
    family_params = {name: value for name, value in (params or {}).items() if name not in MITIGATION_PARAMS}
    if mitigation.method is MitigationMethod.ADVERSARIAL:
        family_params.update(adversary_weight=mitigation.strength, adversary_attribute=mitigation.attribute)
    return family_params


def _groups(data: TrainingData, attribute: str) -> np.ndarray:
    if attribute not in data.protected.columns:
        known = ", ".join(map(str, data.protected.columns)) or "none"
        raise ApplicationError(
            "The mitigation's protected attribute is not in the training data.",
            details={"mitigation_attribute": f"{attribute!r} is not recorded; the data has {known}"},
            code="invalid_mitigation",
        )
    return data.protected[attribute].to_numpy(dtype=object)


def mitigated_fit(
    *,
    family: str,
    data: TrainingData,
    params: Mapping[str, Any] | None,
    seed: int,
    policy: DecisionPolicy,
    mitigation: Mitigation,
    progress: Progress | None = None,
) -> FittedModel:
    """Fit `family` on the training rows under `mitigation` (the holdout never enters here)."""
    trainer = family_get(family)
    family_params = family_params_for(mitigation=mitigation, params=params)
    if mitigation.method is MitigationMethod.REWEIGHING:
        weights = reweighing_weights(_groups(data, mitigation.attribute), data.target) ** mitigation.strength
        return trainer.fit(data.weighted(weights), family_params, seed=seed, progress=progress)
    if mitigation.method is MitigationMethod.EXPONENTIATED_GRADIENT:
        if not isinstance(trainer, Scorecard):
            raise ApplicationError(
                "The mitigation cannot be used as asked.",
                details={"mitigation": f"exponentiated_gradient trains the scorecard family, not {family}"},
                code="invalid_mitigation",
            )
        return trainer.fit_constrained(
            data,
            family_params,
            seed=seed,
            progress=progress,
            sensitive=_groups(data, mitigation.attribute),
            constraint=mitigation.constraint,
            tolerance=BASE_TOLERANCE / mitigation.strength,
            approve_below=policy.approve_below,
        )
    return trainer.fit(data, family_params, seed=seed, progress=progress)
