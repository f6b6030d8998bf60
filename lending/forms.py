"""Officer forms: validation at the edge, every invalid field named next to the field itself."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from analytics.engine.dataset_schema import domain_problem
from finai.errors import ApplicationError
from finai.forms import ServiceErrorsMixin
from finai.uploads import CSV_UPLOAD, YAML_UPLOAD
from lending.models import Decision, Loan, LoanApplication, RepaymentOutcome
from lending.selectors import (
    SOURCE_ALL,
    SOURCE_HISTORICAL,
    SOURCE_LIVE,
    FeatureField,
    applicant_protected_values,
    product_default_term,
)
from lending.services.applications import ApplicantDetails, LoanRequest
from lending.services.bank_statements import StatementRow, bank_statement_parse

MAX_STATEMENT_BYTES = 2 * 1024 * 1024
MAX_TERM_MONTHS = 600
MIN_AGE, MAX_AGE = 18, 120
MIN_JUSTIFICATION = 10
APPLICANT_FIELDS = ("full_name", "email", "reference")
LOAN_FIELDS = ("amount", "term_months", "purpose")


def _default_term(product: str) -> int | None:
    """The product's usual term, if its schema gives one (None for an unknown product: the view refuses it)."""
    try:
        return product_default_term(product)
    except ApplicationError:
        return None


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _choice_field(spec: FeatureField, *, required: bool, blank_label: str) -> forms.Field:
    if not spec["choices"]:
        return forms.CharField(label=spec["label"], required=required, max_length=100, help_text=spec["help"])
    return forms.ChoiceField(
        label=spec["label"],
        required=required,
        choices=[
            ("", blank_label),
            *((choice, spec["choice_labels"].get(choice, choice)) for choice in spec["choices"]),
        ],
        help_text=spec["help"],
    )


def _bounds(spec: FeatureField) -> dict[str, str]:
    """The browser's own min and max for a number input (the server checks them again)."""
    bounds = {"min": spec["minimum"], "max": spec["maximum"]}
    return {key: f"{value:g}" for key, value in bounds.items() if value is not None}


def _domain_validators(spec: FeatureField) -> list[Any]:
    """Refuse a value outside the schema's domain with the engine's words: field, value and range."""
    if spec["minimum"] is None and spec["maximum"] is None:
        return []

    def within(value: Any) -> None:
        if value is not None and (problem := domain_problem(float(value), spec["minimum"], spec["maximum"])):
            raise forms.ValidationError(problem)

    return [within]


class ApplicationForm(ServiceErrorsMixin, forms.Form):
    """A new application: the applicant, the loan asked for, the credit characteristics, optional extras.

    Characteristics are built from the product's feature fields (numbers as number inputs, categories as
    selects). Monitoring answers are optional and stored apart; they never reach the decision.
    """

    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email", required=False)
    reference = forms.CharField(
        label="Applicant reference",
        max_length=100,
        required=False,
        help_text="An existing applicant's reference; leave empty for a new applicant.",
    )
    amount = forms.DecimalField(
        label="Amount requested", min_value=Decimal("0.01"), max_digits=14, decimal_places=2, localize=False
    )
    term_months = forms.IntegerField(label="Term (months)", min_value=1, max_value=MAX_TERM_MONTHS)
    transactions = forms.FileField(
        label="Bank transactions (CSV, optional)",
        required=False,
        help_text="Columns date (YYYY-MM-DD), amount (credits positive, debits negative) and optional description.",
        validators=[CSV_UPLOAD],
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(
        self,
        *args: Any,
        feature_fields: list[FeatureField],
        monitoring_fields: list[FeatureField],
        product: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.product = product or settings.DEFAULT_PRODUCT
        self.feature_specs = [spec for spec in feature_fields if spec["maps_to"] not in ("amount", "term_months")]
        self.monitoring_specs = monitoring_fields
        purpose = next((spec for spec in self.feature_specs if spec["maps_to"] == "purpose"), None)
        if purpose:  # asked for only where the product's schema has a purpose
            self.fields["purpose"] = _choice_field(
                purpose, required=purpose["required"], blank_label="Choose a purpose"
            )
        for spec in self.feature_specs:
            if spec["maps_to"] == "purpose":
                continue
            if spec["name"] in self.fields:
                raise ValueError(f"feature {spec['name']!r} clashes with a form field")
            if spec["type"] == "numeric":
                self.fields[spec["name"]] = forms.FloatField(
                    label=spec["label"],
                    help_text=spec["help"],
                    widget=forms.NumberInput(attrs={"step": "any", **_bounds(spec)}),
                    validators=_domain_validators(spec),
                )
            else:
                self.fields[spec["name"]] = _choice_field(spec, required=spec["required"], blank_label="Choose…")
            self.fields[spec["name"]].required = spec["required"]
        for spec in monitoring_fields:
            if spec["type"] == "numeric":
                self.fields[spec["name"]] = forms.IntegerField(
                    label=spec["label"], required=False, min_value=MIN_AGE, max_value=MAX_AGE
                )
            else:
                self.fields[spec["name"]] = _choice_field(spec, required=False, blank_label="Not provided")
        for spec in feature_fields:  # the loan's own amount and term keep the domain of the features they fill
            if spec["maps_to"] in ("amount", "term_months"):
                field = self.fields[spec["maps_to"]]
                field.validators = [*field.validators, *_domain_validators(spec)]
                field.widget.attrs.update(_bounds(spec))
                field.help_text = spec["help"]
        if not any(spec["maps_to"] == "term_months" for spec in feature_fields):
            # Open-ended credit (a card, a line): the product's model reads no term, so none is asked for.
            del self.fields["term_months"]
        elif default_term := _default_term(self.product):
            # A fixed-term product with a usual term (the schema's default_term_months): the officer may leave it.
            term = self.fields["term_months"]
            term.required = False
            term.help_text = f"{term.help_text} Leave empty for the usual {default_term} months.".strip()
        self.order_fields([*APPLICANT_FIELDS, *LOAN_FIELDS])

    def _group(self, names: list[str]) -> Iterator[forms.BoundField]:
        return (self[name] for name in names)

    def applicant_fields(self) -> Iterator[forms.BoundField]:
        return self._group(list(APPLICANT_FIELDS))

    def loan_fields(self) -> Iterator[forms.BoundField]:
        return self._group([name for name in LOAN_FIELDS if name in self.fields])

    def characteristic_fields(self) -> Iterator[forms.BoundField]:
        return self._group([spec["name"] for spec in self.feature_specs if spec["maps_to"] != "purpose"])

    def monitoring_fields(self) -> Iterator[forms.BoundField]:
        return self._group([spec["name"] for spec in self.monitoring_specs])

    def clean_transactions(self) -> list[StatementRow]:
        upload: UploadedFile | None = self.cleaned_data.get("transactions")
        if not upload:
            return []
        if upload.size > MAX_STATEMENT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_STATEMENT_BYTES // (1024 * 1024)} MB.")
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text (save it as CSV UTF-8).") from None
        try:
            return bank_statement_parse(text=text)
        except ApplicationError as error:
            raise forms.ValidationError(
                [error.message, *(f"{where}: {problem}" for where, problem in error.details.items())]
            ) from None

    def submission(self) -> tuple[ApplicantDetails, LoanRequest]:
        """The service's inputs from the cleaned data."""
        data = self.cleaned_data
        purpose_feature = next((s["name"] for s in self.feature_specs if s["maps_to"] == "purpose"), None)
        features: dict[str, Any] = {}
        for spec in self.feature_specs:
            if spec["maps_to"] == "purpose":
                continue
            value = data[spec["name"]]
            if value in (None, ""):  # an optional characteristic left out: the model reads it as missing
                features[spec["name"]] = None
                continue
            features[spec["name"]] = _plain_number(value) if spec["type"] == "numeric" else value
        if purpose_feature:
            features[purpose_feature] = data["purpose"] or None
        answers = {spec["name"]: data.get(spec["name"]) for spec in self.monitoring_specs}
        applicant = ApplicantDetails(
            reference=data["reference"].strip(),
            full_name=data["full_name"].strip(),
            email=data["email"],
            protected=applicant_protected_values(product=self.product, answers=answers),
        )
        request = LoanRequest(
            amount=data["amount"],
            term_months=data.get("term_months"),
            purpose=data.get("purpose") or "",
            features=features,
            product=self.product,
        )
        return applicant, request

    def service_error_field(self, name: str) -> str:
        """A refusal names the request's field ("loan.amount", "features.job"): put it next to the form's own;
        one of the feature that fills the purpose belongs next to the purpose field."""
        name = name.removeprefix("loan.").removeprefix("features.")
        return "purpose" if self._is_purpose_feature(name) else name

    def _is_purpose_feature(self, name: str) -> bool:
        return any(spec["name"] == name and spec["maps_to"] == "purpose" for spec in self.feature_specs)


class LoanFundForm(ServiceErrorsMixin, forms.Form):
    """Book an approved application as a funded loan, so repayment outcomes have something to attach to.

    The service checks the terms against the application (no more than applied for, not in the future).
    """

    principal = forms.DecimalField(label="Principal", min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    term_months = forms.IntegerField(
        label="Term (months)",
        required=False,
        min_value=1,
        max_value=MAX_TERM_MONTHS,
        help_text="Empty: the term applied for; open-ended credit has none.",
    )
    funded_on = forms.DateField(label="Funded on", widget=forms.DateInput(attrs={"type": "date"}))


class LoanWithdrawForm(ServiceErrorsMixin, forms.Form):
    """The applicant withdrew from a funded loan before any repayment: when, and why (kept in the audit trail)."""

    withdrawn_on = forms.DateField(label="Withdrawn on", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(
        label="Why the applicant withdrew",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: found cheaper credit elsewhere; used the cooling-off period.",
    )


class LoanCloseForm(ServiceErrorsMixin, forms.Form):
    """End a running loan: repaid, charged off, or closed otherwise, on a date."""

    status = forms.ChoiceField(label="How it ended", choices=[(s.value, s.label) for s in Loan.CLOSING_STATUSES])
    closed_on = forms.DateField(label="Closed on", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class LoanFilterForm(forms.Form):
    """Search and filters of the loan list; every field optional."""

    q = forms.CharField(label="Reference or name", required=False, max_length=200)
    status = forms.ChoiceField(label="Loan status", required=False, choices=[("", "Any"), *Loan.Status.choices])
    latest_outcome = forms.ChoiceField(
        label="Latest outcome",
        required=False,
        choices=[("", "Any"), *RepaymentOutcome.Status.choices, ("none", "None reported")],
    )
    funded_from = forms.DateField(label="Funded from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    funded_to = forms.DateField(label="Funded to", required=False, widget=forms.DateInput(attrs={"type": "date"}))


class OverrideForm(forms.Form):
    """Replace the model's outcome; a written justification is mandatory (and audited)."""

    outcome = forms.ChoiceField(label="New outcome")
    justification = forms.CharField(
        label="Justification",
        min_length=MIN_JUSTIFICATION,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why the model's outcome is wrong for this applicant; recorded in the audit trail.",
    )

    def __init__(self, *args: Any, decision: Decision, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [
            (value, label) for value, label in Decision.Outcome.choices if value != decision.outcome
        ]


class OverrideReviewForm(ServiceErrorsMixin, forms.Form):
    """A second officer's approval or rejection of a pending override; a rejection must say why."""

    note = forms.CharField(
        label="Note",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with your decision in the audit trail; required to reject.",
    )

    def add_service_errors(self, error: ApplicationError) -> None:
        """The refusal in words first (four eyes, already decided), then each field it names."""
        if error.details and not set(error.details) <= set(self.fields):
            self.add_error(None, error.message)
        super().add_service_errors(error)


class ApplicationFilterForm(forms.Form):
    """Search and filters of the application list; every field optional."""

    q = forms.CharField(label="Reference or name", required=False, max_length=200)
    source = forms.ChoiceField(
        label="Source",
        required=False,
        choices=[
            (SOURCE_LIVE, "Live applications"),
            (SOURCE_HISTORICAL, "Historical and synthetic rows"),
            (SOURCE_ALL, "All sources"),
        ],
        help_text="Live: the portal and the partner API. Historical: rows imported to train on, and generated ones.",
    )
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any"), *LoanApplication.Status.choices])
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any"), *Decision.Outcome.choices, ("pending", "Pending")]
    )
    submitted_from = forms.DateField(
        label="Submitted from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    submitted_to = forms.DateField(label="Submitted to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    mine = forms.BooleanField(label="Only mine", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("submitted_from"), data.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", "must be on or after the start date")
        return data

    def clean_source(self) -> str:
        """Live applications unless another source is asked for: an empty choice is the default, not "any"."""
        return self.cleaned_data.get("source") or SOURCE_LIVE


MAX_DATASET_BYTES = 50 * 1024 * 1024
MAX_SCHEMA_UPLOAD_BYTES = 256 * 1024


class DatasetImportForm(ServiceErrorsMixin, forms.Form):
    """A data set's file, read through an uploaded schema or the schema of a data set FinAI knows."""

    schema_file = forms.FileField(
        label="Schema (YAML)",
        required=False,
        help_text="The data set's schema, written as data/README.md describes. Leave empty to use a known data set's.",
        validators=[YAML_UPLOAD],
    )
    dataset = forms.ChoiceField(label="Or a known data set", required=False)
    data_file = forms.FileField(
        label="Data file (CSV)", help_text="UTF-8, with a header row naming the columns.", validators=[CSV_UPLOAD]
    )

    def __init__(self, *args: Any, datasets: list[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [("", "Upload a schema instead"), *datasets]

    def add_service_errors(self, error: ApplicationError) -> None:
        """The import's summary on the form, and each problem where it is ("row 3, limit: …") on its file."""
        self.add_error(None, error.message)
        for where, problem in error.details.items():
            field = "schema_file" if where.startswith("schema") else "data_file"
            numbered = where.removeprefix("schema, ").isdigit()  # a schema's own problems are numbered
            self.add_error(field, problem if numbered else f"{where}: {problem}")

    def clean_schema_file(self) -> str | None:
        upload: UploadedFile | None = self.cleaned_data.get("schema_file")
        if upload is None:
            return None
        if upload.size > MAX_SCHEMA_UPLOAD_BYTES:
            raise forms.ValidationError(f"The schema is larger than {MAX_SCHEMA_UPLOAD_BYTES // 1024} KiB.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The schema is not UTF-8 text.") from None

    def clean_data_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["data_file"]
        if upload.size > MAX_DATASET_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_DATASET_BYTES // (1024 * 1024)} MB.")
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "schema_file" in cleaned and bool(cleaned.get("schema_file")) == bool(cleaned.get("dataset")):
            self.add_error("schema_file", "Upload a schema or choose a known data set (one of the two).")
        return cleaned


class OutcomesImportForm(ServiceErrorsMixin, forms.Form):
    """A servicing file of repayment outcomes; every problem is put on the file, row and column named."""

    outcomes_file = forms.FileField(
        label="Outcomes file (CSV)",
        help_text="UTF-8, with the header loan_id, status, days_past_due, as_of; status is current, paid or "
        "defaulted; as_of is a date as YYYY-MM-DD.",
        validators=[CSV_UPLOAD],
    )

    def add_service_errors(self, error: ApplicationError) -> None:
        self.add_error(None, error.message)
        for where, problem in error.details.items():
            self.add_error("outcomes_file", f"{where}: {problem}")

    def clean_outcomes_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["outcomes_file"]
        if upload.size > MAX_DATASET_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_DATASET_BYTES // (1024 * 1024)} MB.")
        return upload
