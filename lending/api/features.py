"""The credit characteristics a partner sends, read from the product's model and data set schema.

An application names its product (else the default product); the API accepts exactly the features
that product's champion (else its data set) knows, minus those the loan request itself carries
(amount, and the term and purpose where the schema maps a feature to them: open-ended credit has no
term). Protected attributes are refused by name (ECOA / Regulation B), so a partner learns at once
that they must not send them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.conf import settings

from analytics.engine.dataset_schema import SCHEMA_DIR, schema_load
from analytics.models import ModelVersion
from analytics.services.dataset_schemas import dataset_schemas_known
from analytics.services.serving import scoring_versions
from finai.errors import ApplicationError
from finai.protected_attributes import PROTECTED_ATTRIBUTES
from lending.selectors import FeatureField, application_feature_fields, product_default_term

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
    # The term an application without one gets (the schema's default_term_months), if any.
    default_term_months: int | None = None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, field in self.fields.items() if field["required"])

    def takes(self, loan_field: str) -> bool:
        """Whether the product's schema maps a feature to the loan's `term_months` or `purpose`."""
        return LOAN_FIELDS[loan_field] in self.from_loan.values()

    def needs(self, loan_field: str) -> bool:
        """Whether an application must give the loan field: the schema maps it and has no default for it."""
        return self.takes(loan_field) and not (loan_field == "term_months" and self.default_term_months)

    def refusal(self, loan_field: str) -> str:
        """Why a loan field the product's schema does not map is refused, rather than stored unread."""
        if loan_field == "purpose":
            return f"must be left out: {self.product} has no purpose (its model reads none)"
        if self.default_term_months:
            return f"must be left out: {self.product} has a fixed term of {self.default_term_months} months"
        return f"must be left out: {self.product} has no term: open-ended credit"


@functools.lru_cache(maxsize=1)
def protected_names() -> frozenset[str]:
    """Every protected attribute name FinAI knows: the record's fields and each schema's protected columns."""
    names = set(PROTECTED_ATTRIBUTES)
    for path in SCHEMA_DIR.glob("*.yaml"):
        names |= schema_load(path).protected_names
    return frozenset(names)


def known_products() -> tuple[str, ...]:
    """The products FinAI can decide: those of its outcomes data sets and of every champion (for messages)."""
    products = {schema.product for schema in dataset_schemas_known() if schema.kind == "outcomes"}
    products |= set(ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).values_list("product", flat=True))
    return tuple(sorted(products))


# Rules built for a champion, per process, under its identity (id, artifact hash and row version: see
# analytics.services.serving); a promotion or any change to the champion's row gives another key. Read-only.
_rules_by_champion: dict[tuple[str, int, str, str], FeatureRules] = {}
_RULES_KEPT = 32


def product_rules(product: str) -> FeatureRules:
    """The rules for the product now: they follow the champion, so they are looked up per request, and built
    once per champion (a product without one is read from its data set each time).

    Raises ApplicationError naming `product` when neither a champion nor a known outcomes data set
    describes it: nothing could decide such an application.
    """
    champion, _ = scoring_versions(product=product)
    row_version = getattr(champion, "row_version", None)  # Postgres only: elsewhere nothing tells a change
    key = None
    if champion is not None and row_version is not None:
        key = (product, champion.pk, champion.artifact_sha256, row_version)
    if key is not None and (cached := _rules_by_champion.get(key)) is not None:
        return cached
    rules = _product_rules_build(product)
    if key is not None:
        if len(_rules_by_champion) >= _RULES_KEPT:
            _rules_by_champion.clear()
        _rules_by_champion[key] = rules
    return rules


def _product_rules_build(product: str) -> FeatureRules:
    fields = application_feature_fields(product)
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
        default_term_months=product_default_term(product),
    )


def feature_rules(product: str | None = None) -> FeatureRules:
    """The rules for the product (the default product when none is named); empty for an unknown product, so
    the published schema still renders before any data set is known."""
    product = product or settings.DEFAULT_PRODUCT
    try:
        return product_rules(product)
    except ApplicationError:
        return FeatureRules(product=product, fields={}, from_loan={}, purpose_choices=(), loan_domains={})
