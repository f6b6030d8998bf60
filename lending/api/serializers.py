"""Per-operation serializers: inputs validate the edge (every bad field named), outputs document answers.

Inputs refuse unknown fields instead of ignoring them, so a misspelt characteristic — or a protected
attribute sent by mistake — is reported rather than silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from analytics.engine.dataset_schema import MAX_TERM_MONTHS, domain_problem
from lending.api.features import FeatureRules, protected_names
from lending.models import Batch, BatchItem, Decision, LoanApplication, RepaymentOutcome

MAX_FEATURE_NUMBER = 1e12
MAX_LISTED_CHOICES = 12
PROTECTED_MESSAGE = "is a protected attribute (ECOA / Regulation B) and is never accepted by the API"
OUTCOME_FILTERS = (*Decision.Outcome.values, "pending")


def _choices_text(choices: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(repr(choice) for choice in list(choices)[:MAX_LISTED_CHOICES])
    return shown + (f" and {len(choices) - MAX_LISTED_CHOICES} more" if len(choices) > MAX_LISTED_CHOICES else "")


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare, naming each (protected attributes with the reason)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            for name in data:
                if name not in self.fields:
                    unknown[str(name)] = [PROTECTED_MESSAGE if name in protected_names() else "is not a known field"]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class FeaturesField(serializers.Field):
    """The applicant's credit characteristics, checked against the product's rules in the context.

    The OpenAPI schema of this field is generated from the same rules (see lending.api.openapi).
    """

    default_error_messages = {"not_an_object": "must be an object of characteristic names and values"}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.fail("not_an_object")
        rules: FeatureRules = self.context["feature_rules"]
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in protected_names():
                problems[name] = PROTECTED_MESSAGE
            elif name in rules.from_loan:
                problems[name] = f"is given by {rules.from_loan[name]}"
            elif name not in rules.fields:
                problems[name] = f"is not a credit characteristic of {rules.product}"
            elif value is None and not rules.fields[name]["required"]:
                values[name] = None
            else:
                problem = _feature_problem(rules.fields[name], value)
                if problem:
                    problems[name] = problem
                else:
                    values[name] = value
        for name in rules.required:
            if name not in data:
                problems[name] = "is required"
        if problems:
            raise serializers.ValidationError(problems)
        # An optional characteristic left out is stored as unknown (null), as the model reads it.
        return {**dict.fromkeys(rules.fields), **values}

    def to_representation(self, value: Any) -> Any:
        return value


def _feature_problem(field: Mapping[str, Any], value: Any) -> str:
    if field["type"] == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not math.isfinite(value) or abs(value) > MAX_FEATURE_NUMBER:
            return f"must be a finite number between -{MAX_FEATURE_NUMBER:.0e} and {MAX_FEATURE_NUMBER:.0e}"
        return domain_problem(value, field["minimum"], field["maximum"])
    if not isinstance(value, str):
        return "must be text"
    if field["choices"] and value not in field["choices"]:
        return f"must be one of {_choices_text(field['choices'])}"
    return ""


class PurposeField(serializers.CharField):
    """The loan's purpose; one of the product's purposes when the model knows a fixed set."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=100, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        choices = self.context["feature_rules"].purpose_choices
        if choices and value not in choices:
            raise serializers.ValidationError(f"must be one of {_choices_text(choices)}")
        return value


class ApplicantInput(StrictSerializer):
    """Who applies; all optional. Protected attributes are refused."""

    reference = serializers.CharField(
        max_length=80, required=False, allow_blank=True, help_text="Your own reference for the applicant."
    )
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)


class LoanInput(StrictSerializer):
    """What is asked for."""

    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), help_text="Amount requested."
    )
    term_months = serializers.IntegerField(
        min_value=1,
        max_value=MAX_TERM_MONTHS,
        required=False,
        help_text="Required when the product's schema maps a term; open-ended credit (a card, a line) has none "
        "and refuses one.",
    )
    purpose = PurposeField(
        required=False, help_text="Required when the product's schema maps a purpose; refused when it has none."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        """The term and the purpose are required exactly when the product's schema maps a feature to them."""
        fields = super().get_fields()
        rules: FeatureRules | None = self.context.get("feature_rules")
        if rules is not None:
            for name in ("term_months", "purpose"):
                fields[name].required = rules.needs(name)
        return fields

    def _within_domain(self, name: str, value: Any) -> Any:
        """The amount and term fill characteristics whose schema domain they must respect."""
        bounded = self.context["feature_rules"].loan_domains.get(name)
        if bounded and (problem := domain_problem(float(value), bounded["minimum"], bounded["maximum"])):
            raise serializers.ValidationError(problem)
        return value

    def _read_by_model(self, name: str) -> None:
        """A term or purpose the product's model would never read is refused, not stored as if it counted."""
        rules: FeatureRules = self.context["feature_rules"]
        if not rules.takes(name):
            raise serializers.ValidationError(rules.refusal(name))

    def validate_amount(self, value: Decimal) -> Decimal:
        return self._within_domain("amount", value)

    def validate_term_months(self, value: int) -> int:
        self._read_by_model("term_months")
        return self._within_domain("term_months", value)

    def validate_purpose(self, value: str) -> str:
        self._read_by_model("purpose")
        return value


class ApplicationInput(StrictSerializer):
    """One application: unknown fields are refused by name rather than ignored."""

    product = serializers.CharField(
        max_length=50,
        required=False,
        help_text="The product applied for (its schema says which characteristics to send); the default "
        "product when left out.",
    )
    applicant = ApplicantInput(required=False)
    loan = LoanInput()
    features = FeaturesField(help_text="Credit characteristics by name; see the schema for names and values.")

    def validate_product(self, value: str) -> str:
        """The rules were chosen for one product (a batch's): an application naming another is refused."""
        rules: FeatureRules = self.context["feature_rules"]
        if value != rules.product:
            raise serializers.ValidationError(f"must be {rules.product!r}, the product of the batch")
        return value


class ApplicationSubmitQuery(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=("async", "sync"),
        default="async",
        help_text="sync: decide before answering (201 with the decision); async: answer 202 and decide in "
        "the background.",
    )


class ApplicationFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=LoanApplication.Status.choices, required=False)
    outcome = serializers.ChoiceField(
        choices=OUTCOME_FILTERS, required=False, help_text="The outcome acted on (overrides included); pending."
    )
    submitted_from = serializers.DateField(required=False, help_text="Submitted on or after this date (UTC).")
    submitted_to = serializers.DateField(required=False, help_text="Submitted on or before this date (UTC).")
    applicant_reference = serializers.CharField(max_length=80, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("submitted_from"), attrs.get("submitted_to")
        if start and end and start > end:
            raise serializers.ValidationError({"submitted_to": "must not be before submitted_from"})
        return attrs


class BatchInput(StrictSerializer):
    """Many applications, each validated on its own: a bad row is reported, the others go ahead."""

    product = serializers.CharField(
        max_length=50, required=False, help_text="The product of every application in the batch (default product)."
    )
    applications = serializers.ListField(
        child=serializers.JSONField(), min_length=1, help_text="Up to 10,000 applications, as for a single one."
    )


class OutcomeInput(StrictSerializer):
    """A funded loan's repayment status as of a date."""

    status = serializers.ChoiceField(choices=RepaymentOutcome.Status.choices)
    days_past_due = serializers.IntegerField(min_value=0, max_value=100_000, default=0)
    as_of = serializers.DateField(help_text="The date the status refers to.")


class ReasonOutput(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class DecisionOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices, help_text="The outcome acted on.")
    overridden = serializers.BooleanField(help_text="True when a loan officer changed the model's outcome.")
    probability_of_default = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    score = serializers.IntegerField(allow_null=True)
    reasons = ReasonOutput(many=True, help_text="Up to four principal reasons (Regulation B), most important first.")
    outside_training_range = serializers.ListField(
        child=serializers.CharField(),
        help_text="Characteristics beyond the values the model learnt from (possible, but an extrapolation).",
    )
    model_version = serializers.IntegerField(allow_null=True)
    decided_at = serializers.DateTimeField()


class ApplicantOutput(serializers.Serializer):
    reference = serializers.CharField()
    full_name = serializers.CharField()
    email = serializers.CharField()


class LoanRequestOutput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    term_months = serializers.IntegerField(allow_null=True, help_text="Null for open-ended credit.")
    purpose = serializers.CharField()


class ApplicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    url = serializers.CharField()
    status = serializers.ChoiceField(choices=LoanApplication.Status.choices)
    product = serializers.CharField()
    applicant = ApplicantOutput()
    loan = LoanRequestOutput()
    features = serializers.DictField(child=serializers.JSONField())
    submitted_at = serializers.DateTimeField()
    decision = DecisionOutput(allow_null=True)
    funded_loan_id = serializers.IntegerField(allow_null=True, help_text="The loan to report outcomes on.")


class RowErrorOutput(serializers.Serializer):
    row = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.CharField())


class BatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    results_url = serializers.CharField()
    status = serializers.ChoiceField(choices=Batch.Status.choices)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    pending = serializers.IntegerField()
    submitted = serializers.IntegerField(help_text="Stored, awaiting a decision.")
    decided = serializers.IntegerField()
    invalid = serializers.IntegerField()
    errors = RowErrorOutput(many=True, help_text="Every row with a problem.")


class BatchSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    status = serializers.ChoiceField(choices=Batch.Status.choices)
    total = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class BatchResultOutput(serializers.Serializer):
    row = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BatchItem.Status.choices)
    application_id = serializers.IntegerField(allow_null=True)
    application_reference = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices, allow_null=True)
    probability_of_default = serializers.FloatField(allow_null=True)
    score = serializers.IntegerField(allow_null=True)
    reasons = ReasonOutput(many=True)
    errors = serializers.DictField(child=serializers.CharField())


class OutcomeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    loan_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RepaymentOutcome.Status.choices)
    days_past_due = serializers.IntegerField()
    as_of = serializers.DateField()
    recorded_at = serializers.DateTimeField()


class ProblemOutput(serializers.Serializer):
    """RFC 9457 problem details, with `code` and `errors` (every invalid field) as extension members."""

    class FieldError(serializers.Serializer):
        field = serializers.CharField(help_text='Dotted path, e.g. "loan.amount" or "applications.3.features.job".')
        detail = serializers.CharField()

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    instance = serializers.CharField(required=False)
    errors = FieldError(many=True, required=False)


class ApplicationPageOutput(serializers.Serializer):
    """One page, newest first; follow `next` (a cursor link) until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ApplicationOutput(many=True)


class BatchPageOutput(serializers.Serializer):
    """One page, newest first; follow `next` (a cursor link) until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BatchSummaryOutput(many=True)


class PageQuery(serializers.Serializer):
    """Cursor pagination: pass back the `next` or `previous` link as given."""

    cursor = serializers.CharField(required=False, help_text="Opaque; taken from a `next` or `previous` link.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="Default 50.")
