"""Adverse-action reasons: a catalogue of stable codes with plain-language text, and how they are chosen.

Regulation B (12 CFR 1002.9) requires the principal reasons for a decline — in practice up to four —
to be specific and to come from the factors the model actually weighed for this applicant. So reasons
are the features with the largest attributions toward default for the applicant, each mapped to a
catalogue code. Codes are stable: a code, once issued, keeps its meaning, so a notice printed years
later still reads right. The texts and codes are the lender's, written in the data set's schema
(`reason`, `value_reasons`) and carried in the model's spec; a feature without one gets a generic code
and a text from its label and risk direction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from analytics.engine.dataset_schema import SchemaError, schema_load
from analytics.engine.features import FeatureSpec

MAX_REASONS = 4


@dataclass(frozen=True)
class ReasonCode:
    code: str
    text: str
    feature: str


class Reason(NamedTuple):
    """One principal reason of one decision: the catalogue entry and the attribution that earned it."""

    code: str
    text: str
    feature: str
    attribution: float

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "feature": self.feature, "attribution": self.attribution}


def generic_code(feature: str) -> str:
    """A stable code for a feature with no written entry: "G" and four hex digits of its name's hash."""
    return "G" + hashlib.sha256(feature.encode()).hexdigest()[:4].upper()


def _generic_text(label: str, monotone: int) -> str:
    return {1: f"{label} is too high", -1: f"{label} is too low"}.get(monotone, label)


class ReasonCatalogue:
    """Codes by feature, and by feature and value where a value has a more specific text."""

    def __init__(self, by_feature: Mapping[str, ReasonCode], by_value: Mapping[tuple[str, str], ReasonCode]) -> None:
        self.by_feature = dict(by_feature)
        self.by_value = dict(by_value)
        self.codes: dict[str, ReasonCode] = {}
        for entry in (*self.by_feature.values(), *self.by_value.values()):
            known = self.codes.setdefault(entry.code, entry)
            if (known.text, known.feature) != (entry.text, entry.feature):
                raise ValueError(f"reason code {entry.code} is given two meanings")

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def reason_for(self, feature: str, value: Any = None) -> ReasonCode:
        if isinstance(value, str):
            specific = self.by_value.get((feature, value))
            if specific is not None:
                return specific
        return self.by_feature[feature]


def _spec_wording(spec: FeatureSpec) -> Mapping[str, Mapping[str, Any]]:
    """The spec's wording; a model trained before specs carried it reads its bundled schema's (same codes)."""
    if spec.wording:
        return spec.wording
    try:
        return schema_load(spec.dataset).wording()
    except SchemaError:
        return {}


def reason_catalogue_for(spec: FeatureSpec) -> ReasonCatalogue:
    """The catalogue for a spec: the schema's reasons where written, a generic code for every other feature."""
    wording = _spec_wording(spec)
    by_feature: dict[str, ReasonCode] = {}
    by_value: dict[tuple[str, str], ReasonCode] = {}
    for feature in spec.features:
        words = wording.get(feature.name, {})
        label = words.get("label") or feature.name.replace("_", " ").strip().capitalize()
        code, text = words.get("reason") or ("", "")
        by_feature[feature.name] = ReasonCode(
            code or generic_code(feature.name), text or _generic_text(label, feature.monotone), feature.name
        )
        for value, (value_code, value_text) in (words.get("value_reasons") or {}).items():
            by_value[(feature.name, value)] = ReasonCode(
                value_code or generic_code(f"{feature.name}={value}"), value_text, feature.name
            )
    return ReasonCatalogue(by_feature, by_value)


def principal_reasons(
    attributions: Mapping[str, float] | Iterable[tuple[str, float]],
    *,
    catalogue: ReasonCatalogue,
    features: Mapping[str, Any] | None = None,
    max_reasons: int = MAX_REASONS,
) -> tuple[Reason, ...]:
    """The up-to-`max_reasons` features that pushed this applicant furthest toward default.

    Only positive attributions count (a feature that helped is no reason to decline); the order is by
    attribution, largest first, ties in feature order. Each code belongs to one feature, so none repeats.
    """
    pairs = attributions.items() if isinstance(attributions, Mapping) else attributions
    ranked = sorted((-value, index, name) for index, (name, value) in enumerate(pairs) if value > 0)
    reasons = []
    for negated, _, name in ranked[:max_reasons]:
        entry = catalogue.reason_for(name, None if features is None else features.get(name))
        reasons.append(Reason(entry.code, entry.text, name, -float(negated)))
    return tuple(reasons)
