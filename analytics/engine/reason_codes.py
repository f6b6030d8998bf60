"""Adverse-action reasons: a catalogue of stable codes with plain-language text, and how they are chosen.

Regulation B (12 CFR 1002.9) requires the principal reasons for a decline — in practice up to four —
to be specific and to come from the factors the model actually weighed for this applicant. So reasons
are the features with the largest attributions toward default for the applicant, each mapped to a
catalogue code. Codes are stable: a code, once issued, keeps its meaning, so a notice printed years
later still reads right. Data sets without a hand-written catalogue get one generic code per feature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

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


# German credit (Statlog): per feature, the code for any value, then codes for specific values.
GERMAN_CREDIT: dict[str, tuple[tuple[str, str], dict[str, tuple[str, str]]]] = {
    "status_of_existing_checking_account": (
        ("R03", "Checking account status"),
        {
            "... < 0 DM": ("R01", "Checking account is overdrawn"),
            "0 <= ... < 200 DM": ("R02", "Low balance in checking account"),
        },
    ),
    "duration_in_month": (("R04", "Loan term is too long"), {}),
    "credit_history": (
        ("R08", "Credit history does not support the request"),
        {
            "delay in paying off in the past": ("R05", "Credit history shows delinquency"),
            "critical account/ other credits existing (not at this bank)": (
                "R06",
                "Credit history shows a critical account",
            ),
            "no credits taken/ all credits paid back duly": ("R07", "Limited credit history"),
            "all credits at this bank paid back duly": ("R07", "Limited credit history"),
        },
    ),
    "purpose": (("R09", "Purpose of the loan"), {}),
    "credit_amount": (("R10", "Amount requested is too high"), {}),
    "savings_account_and_bonds": (("R11", "Insufficient savings or investments"), {}),
    "present_employment_since": (
        ("R13", "Length of employment"),
        {
            "unemployed": ("R12", "Applicant is not employed"),
            "... < 1 year": ("R14", "Length of employment is too short"),
        },
    ),
    "installment_rate_in_percentage_of_disposable_income": (
        ("R15", "Instalment is high relative to disposable income"),
        {},
    ),
    "other_debtors_or_guarantors": (
        ("R17", "Guarantor or co-applicant arrangement"),
        {"none": ("R16", "No guarantor or co-applicant")},
    ),
    "present_residence_since": (("R18", "Length of time at present address"), {}),
    "property": (
        ("R20", "Type of property held"),
        {"unknown / no property": ("R19", "No property or collateral")},
    ),
    "other_installment_plans": (("R21", "Existing instalment plans with other lenders"), {}),
    "housing": (
        ("R23", "Housing status"),
        {"rent": ("R22", "Does not own residence"), "for free": ("R22", "Does not own residence")},
    ),
    "number_of_existing_credits_at_this_bank": (("R24", "Number of existing loans at this bank"), {}),
    "job": (("R25", "Type of occupation"), {}),
    "number_of_people_being_liable_to_provide_maintenance_for": (("R26", "Number of dependants"), {}),
    "telephone": (("R27", "No telephone registered in the applicant's name"), {}),
}


def generic_code(feature: str) -> str:
    """A stable code for a feature with no written entry: "G" and four hex digits of its name's hash."""
    return "G" + hashlib.sha256(feature.encode()).hexdigest()[:4].upper()


def _generic_text(feature: str, monotone: int) -> str:
    label = feature.replace("_", " ").strip().capitalize()
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


def reason_catalogue_for(spec: FeatureSpec) -> ReasonCatalogue:
    """The catalogue for a spec: written entries where FinAI has them, a generic code for every other feature."""
    by_feature: dict[str, ReasonCode] = {}
    by_value: dict[tuple[str, str], ReasonCode] = {}
    for feature in spec.features:
        written = GERMAN_CREDIT.get(feature.name)
        if written is None:
            by_feature[feature.name] = ReasonCode(
                generic_code(feature.name), _generic_text(feature.name, feature.monotone), feature.name
            )
            continue
        (code, text), specific = written
        by_feature[feature.name] = ReasonCode(code, text, feature.name)
        for value, (value_code, value_text) in specific.items():
            by_value[(feature.name, value)] = ReasonCode(value_code, value_text, feature.name)
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
