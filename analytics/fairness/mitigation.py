"""Bias mitigation allowed in credit models, and the one kind that is refused.

Pre-processing (reweighing) and in-processing (a constrained or adversarial fit) use the protected
attribute only while training; the model that decides never sees it. Post-processing with
group-specific thresholds would approve or decline an applicant on a cut-off chosen by sex, race or
age: that is disparate treatment, unlawful for credit under ECOA and Regulation B, so it is refused.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from finai.errors import ApplicationError

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
