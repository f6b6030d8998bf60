"""The credit characteristics a partner sends, read from the product's model and data set schema.

The API accepts exactly the features the champion (else the data set) knows, minus those the loan
request itself carries (amount, term, purpose); protected attributes are refused by name (ECOA /
Regulation B), so a partner learns at once that they must not send them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from analytics.engine.dataset_schema import SCHEMA_DIR, schema_load
from finai.errors import ApplicationError
from finai.protected_attributes import PROTECTED_ATTRIBUTES
from lending.selectors import FeatureField, application_feature_fields

LOAN_FIELDS = {"amount": "loan.amount", "term_months": "loan.term_months", "purpose": "loan.purpose"}


@dataclass(frozen=True)
class FeatureRules:
    """What `features` may hold for one product, and where the loan-level fields come from."""

    product: str
    fields: dict[str, FeatureField]
    from_loan: dict[str, str]
    purpose_choices: tuple[str, ...]
    # The loan's own fields whose values fill a characteristic with a domain (amount, term_months).
    loan_domains: dict[str, FeatureField]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.fields)


@functools.lru_cache(maxsize=1)
def protected_names() -> frozenset[str]:
    """Every protected attribute name FinAI knows: the record's fields and each schema's protected columns."""
    names = set(PROTECTED_ATTRIBUTES)
    for path in SCHEMA_DIR.glob("*.yaml"):
        names |= schema_load(path).protected_names
    return frozenset(names)


def feature_rules(product: str = "consumer_loan") -> FeatureRules:
    """The rules for the product now (they follow the champion, so read them per request)."""
    try:
        fields = application_feature_fields(product)
    except ApplicationError:
        fields = []
    return FeatureRules(
        product=product,
        fields={field["name"]: field for field in fields if field["maps_to"] not in LOAN_FIELDS},
        from_loan={field["name"]: LOAN_FIELDS[field["maps_to"]] for field in fields if field["maps_to"] in LOAN_FIELDS},
        purpose_choices=next(
            (tuple(field["choices"]) for field in fields if field["maps_to"] == "purpose" and field["choices"]), ()
        ),
        loan_domains={
            field["maps_to"]: field
            for field in fields
            if field["maps_to"] in ("amount", "term_months")
            and (field["minimum"] is not None or field["maximum"] is not None)
        },
    )
