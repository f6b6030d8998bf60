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

Post-processing with group-specific thresholds would approve or decline an applicant on a cut-off chosen
by sex, race or age: that is disparate treatment, unlawful for credit under ECOA and Regulation B, so it
is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analytics.engine.families import FittedModel, TrainingData, family_get
from analytics.engine.families.base import Progress
from analytics.engine.families.scorecard import PARITY_CONSTRAINTS, ParityConstraint, Scorecard
from analytics.engine.policy import DecisionPolicy
from finai.errors import ApplicationError
from finai.protected_attributes import GROUP_ATTRIBUTES

DISPARATE_TREATMENT_REASON = (
    "it sets a different approval cut-off according to a protected characteristic, which treats "
    "applicants differently because of it: disparate treatment, prohibited for credit decisions by the "
    "Equal Credit Opportunity Act (15 U.S.C. 1691(a)) and Regulation B (12 CFR 1002.4(a), 1002.6(b))"
)
# Methods that need the protected attribute when a decision is made.
DECISION_TIME_METHODS = frozenset(
    {"group_thresholds", "threshold_optimizer", "reject_option_classification", "equalized_odds_postprocessing"}
)


class MitigationMethod(StrEnum):
    NONE = "none"
    REWEIGHING = "reweighing"
    EXPONENTIATED_GRADIENT = "exponentiated_gradient"
    ADVERSARIAL = "adversarial"


class DisparateTreatmentError(ApplicationError):
    """A fairness method that would use a protected characteristic to decide credit."""

    def __init__(self, method: str) -> None:
        super().__init__(
            f"{method} is refused for credit decisions.",
            details={"mitigation": f"{method} is refused because {DISPARATE_TREATMENT_REASON}"},
            code="disparate_treatment",
        )


def mitigation_method_validate(*, method: str) -> MitigationMethod:
    """The training-time method asked for, or a refusal naming why (group thresholds: ECOA)."""
    if method in DECISION_TIME_METHODS:
        raise DisparateTreatmentError(method)
    try:
        return MitigationMethod(method)
    except ValueError:
        allowed = ", ".join(m.value for m in MitigationMethod)
        raise ApplicationError(
            "Unknown mitigation method.",
            details={"mitigation": f"{method!r} is not one of {allowed}"},
            code="invalid_mitigation",
        ) from None


def group_thresholds_refuse(*, thresholds: dict[str, float] | None = None) -> None:
    """Always raises: a per-group cut-off for credit is disparate treatment (ECOA / Regulation B)."""
    described = "group-specific thresholds" if not thresholds else f"group-specific thresholds {thresholds}"
    raise DisparateTreatmentError(described)


def reweighing_weights(groups: ArrayLike | pd.DataFrame, labels: ArrayLike) -> np.ndarray:
    """Kamiran & Calders (2012) reweighing: w(g, y) = P(g) P(y) / P(g, y), one weight per row.

    Weighted, group and label become independent in the training data, without changing any
    applicant's features or label. `groups` may be a DataFrame: its columns' intersections are the
    groups. Rows whose group is not known are grouped together as one more group.
    """
    label_codes, _ = pd.factorize(pd.Series(np.asarray(labels)), sort=True)
    frame = groups if isinstance(groups, pd.DataFrame) else pd.DataFrame({"group": np.asarray(groups, dtype=object)})
    group_codes = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        group_codes, _ = pd.factorize(group_codes * len(uniques) + codes)
    if len(group_codes) != len(label_codes) or not len(label_codes):
        raise ApplicationError(
            "Reweighing needs one group and one label per training row.",
            details={"groups": f"{len(group_codes)} rows", "labels": f"{len(label_codes)} rows"},
            code="invalid_mitigation",
        )
    if (label_codes < 0).any():
        raise ApplicationError(
            "Reweighing needs a label on every row.",
            details={"labels": "has missing values"},
            code="invalid_mitigation",
        )
    label_count = int(label_codes.max()) + 1
    joint = group_codes.astype(np.int64) * label_count + label_codes
    joint_counts = np.bincount(joint)
    group_counts = np.bincount(group_codes)
    label_counts = np.bincount(label_codes)
    return group_counts[group_codes] * label_counts[label_codes] / (len(label_codes) * joint_counts[joint])


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


def mitigation_resolve(
    *, method: str, family: str, params: Mapping[str, Any] | None, attributes: Iterable[str] = GROUP_ATTRIBUTES
) -> Mitigation:
    """The mitigation asked for, checked against the family; every problem named by its field.

    `attributes` are the protected groupings the data set has (its schema's, any name it gives); the
    mitigated one defaults to sex where the data set records it, else its first.
    """
    chosen = mitigation_method_validate(method=method or MitigationMethod.NONE.value)
    given = {name: value for name, value in (params or {}).items() if name in MITIGATION_PARAMS}
    if chosen is MitigationMethod.NONE:
        return Mitigation()
    problems: dict[str, str] = {}
    needed_family = METHOD_FAMILY.get(chosen)
    if needed_family is not None and family != needed_family:
        problems["mitigation"] = f"{chosen.value} trains the {needed_family} family, not {family}"
    known = tuple(attributes)
    default = DEFAULT_ATTRIBUTE if DEFAULT_ATTRIBUTE in known or not known else known[0]
    attribute = given.get("mitigation_attribute", default)
    if attribute not in known:
        problems["mitigation_attribute"] = f"{attribute!r} is not one of {', '.join(known)}"
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
