"""The search for a less discriminatory alternative: which models to try, and which of them to prefer.

Fair-lending law (the disparate-impact framework of ECOA, as the CFPB applies it) expects a lender whose
model disadvantages a protected group to look for an alternative that serves its legitimate business
need about as well with less disparity. This module plans that search for a base model — alternatives
that drop the feature most associated with the disadvantaged attribute, coarsen the features, regularise
more, change the monotone constraints, or mitigate at several strengths — and, once each is trained and
measured, marks the accuracy-fairness Pareto frontier and the alternatives worth a closer look.
Plain Python: the Django service trains and registers each plan as a candidate model version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.engine.features import FeatureSpec
from analytics.engine.mitigation import METHOD_FAMILY, MitigationMethod

DEFAULT_TOLERANCE = 0.01  # AUC an alternative may lose and still be flagged as a less discriminatory alternative
REGULARISATION_FACTOR = 10.0
ADVERSARY_STRENGTHS = (0.5, 2.0)


@dataclass(frozen=True)
class LdaPlan:
    """One alternative to train: what changes from the base, as family, params and mitigation."""

    name: str
    change: str
    family: str
    params: dict[str, Any]
    mitigation: str = MitigationMethod.NONE.value
    mitigation_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    """A model on the accuracy-fairness plane: holdout AUC and lowest adverse impact ratio."""

    auc: float
    lowest_ratio: float


def feature_association(*, features: pd.DataFrame, spec: FeatureSpec, groups: pd.Series) -> dict[str, float]:
    """How well each feature tells the protected groups apart, from 0 (not at all) to 1 (a perfect proxy).

    Cramér's V for categorical features, the correlation ratio (eta) for numeric ones: both are 0 when
    the feature's distribution is the same in every group and 1 when the feature determines the group.
    Rows whose group or value is not known are left out.
    """
    known_group = groups.notna().to_numpy()
    group_codes, _ = pd.factorize(groups[known_group])
    strengths = {}
    for feature in spec.features:
        values = features[feature.name][known_group]
        present = values.notna().to_numpy()
        codes = group_codes[present]
        if present.sum() < 2 or len(np.unique(codes)) < 2:
            strengths[feature.name] = 0.0
            continue
        if feature.kind == "numeric":
            numbers = pd.to_numeric(values[present]).to_numpy(dtype=float)
            means = np.bincount(codes, numbers) / np.bincount(codes)
            between = (np.bincount(codes) * (means - numbers.mean()) ** 2).sum()
            total = ((numbers - numbers.mean()) ** 2).sum()
            strengths[feature.name] = float(np.sqrt(between / total)) if total > 0 else 0.0
        else:
            table = pd.crosstab(codes, values[present].astype(str).to_numpy()).to_numpy(dtype=float)
            expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
            chi_square = ((table - expected) ** 2 / expected).sum()
            smaller = min(table.shape) - 1
            strengths[feature.name] = float(np.sqrt(chi_square / (table.sum() * smaller))) if smaller else 0.0
    return strengths


def _regularised(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    if family == "scorecard":
        return {"regularisation": params["regularisation"] / REGULARISATION_FACTOR}
    if family == "gbm":
        return {
            "l2_regularization": max(params["l2_regularization"], 0.1) * REGULARISATION_FACTOR,
            "min_samples_leaf": params["min_samples_leaf"] * 2,
        }
    return {"l2": max(params["l2"], 0.001) * REGULARISATION_FACTOR}


def _coarsened(family: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    if family == "scorecard":
        return {
            "fine_bins": max(2, params["fine_bins"] // 2),
            "min_bin_fraction": min(0.25, max(params["min_bin_fraction"], 0.05) * 2),
        }
    if family == "gbm":
        return {"max_depth": 1, "max_leaf_nodes": 2}
    return None


def lda_plans(
    *,
    family: str,
    params: Mapping[str, Any],
    spec: FeatureSpec,
    attribute: str,
    association: Mapping[str, float],
    mitigation: str = MitigationMethod.NONE.value,
    mitigation_params: Mapping[str, Any] | None = None,
) -> list[LdaPlan]:
    """The default set: small (six to eight models) so that a search on German credit takes about a minute.

    `params` are the base's family parameters and `mitigation` its mitigation, which the structural
    alternatives keep; `attribute` is the protected attribute whose disadvantaged group the mitigation
    alternatives target; `association` ranks the features as its proxies.
    """
    base = dict(params)
    kept = {"mitigation": mitigation, "mitigation_params": dict(mitigation_params or {})}
    names = list(base.get("features") or spec.names)
    plans = [
        LdaPlan(
            f"stronger regularisation (x{REGULARISATION_FACTOR:g})",
            "regularisation",
            family,
            {**base, **_regularised(family, base)},
            **kept,
        )
    ]
    coarser = _coarsened(family, base)
    if coarser is not None:
        plans.append(LdaPlan("coarser features", "coarsening", family, {**base, **coarser}, **kept))
    proxies = sorted((name for name in names if name in association), key=lambda name: -association[name])
    if proxies and len(names) > 1:
        proxy = proxies[0]
        plans.append(
            LdaPlan(
                f"without {proxy} (strongest proxy for {attribute}, association {association[proxy]:.2f})",
                "dropped feature",
                family,
                {**base, "features": [name for name in names if name != proxy]},
                **kept,
            )
        )
    if "monotone" in base:
        plans.append(
            LdaPlan(
                "monotone constraints off" if base["monotone"] else "monotone constraints on",
                "monotone constraints",
                family,
                {**base, "monotone": not base["monotone"]},
                **kept,
            )
        )
    plans.extend(_mitigation_plans(family=family, params=base, attribute=attribute))
    return plans


def _mitigation_plans(*, family: str, params: dict[str, Any], attribute: str) -> list[LdaPlan]:
    """Reweighing at two strengths, then adversarial weights (neural) or the constrained scorecard."""
    own = {key: value for key, value in params.items() if not key.startswith("adversary_")}
    plans = [
        LdaPlan(
            f"reweighing by {attribute}, strength {strength:g}",
            "mitigation",
            family,
            own,
            MitigationMethod.REWEIGHING.value,
            {"mitigation_attribute": attribute, "mitigation_strength": strength},
        )
        for strength in (1.0, 2.0)
    ]
    if family == METHOD_FAMILY[MitigationMethod.ADVERSARIAL]:
        return plans + [
            LdaPlan(
                f"adversarial debiasing by {attribute}, weight {strength:g}",
                "mitigation",
                family,
                own,
                MitigationMethod.ADVERSARIAL.value,
                {"mitigation_attribute": attribute, "mitigation_strength": strength},
            )
            for strength in ADVERSARY_STRENGTHS
        ]
    constrained = METHOD_FAMILY[MitigationMethod.EXPONENTIATED_GRADIENT]
    constrained_params = own if family == constrained else {"features": own.get("features")}
    suffix = "" if family == constrained else f" ({constrained} family)"
    return plans + [
        LdaPlan(
            f"exponentiated gradient, {label} by {attribute}{suffix}",
            "mitigation",
            constrained,
            constrained_params,
            MitigationMethod.EXPONENTIATED_GRADIENT.value,
            {"mitigation_attribute": attribute, "mitigation_strength": 1.0, "mitigation_constraint": constraint},
        )
        for constraint, label in (
            ("demographic_parity", "demographic parity"),
            ("true_positive_rate_parity", "equal opportunity"),
        )
    ]


def pareto_frontier(points: Sequence[Point]) -> list[bool]:
    """Which points no other point beats on both AUC and lowest adverse impact ratio (ties do not beat)."""
    return [
        not any(
            other.auc >= point.auc
            and other.lowest_ratio >= point.lowest_ratio
            and (other.auc > point.auc or other.lowest_ratio > point.lowest_ratio)
            for other in points
        )
        for point in points
    ]


def less_discriminatory(*, alternative: Point, base: Point, tolerance: float) -> bool:
    """The alternative's lowest adverse impact ratio is higher and its AUC at most `tolerance` lower."""
    return alternative.lowest_ratio > base.lowest_ratio and alternative.auc >= base.auc - tolerance
