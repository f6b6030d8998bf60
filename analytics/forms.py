"""Model-management and fair-lending forms: training, comparison, promotion, reports and alternative searches."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.alternatives import DEFAULT_TOLERANCE
from analytics.families import FAMILIES
from analytics.families.scorecard import PARITY_CONSTRAINTS
from analytics.mitigation import DEFAULT_ATTRIBUTE, GROUP_ATTRIBUTES, MAX_STRENGTH
from analytics.models import ModelVersion
from analytics.selectors import training_datasets
from analytics.services.alternatives import MAX_TOLERANCE
from analytics.services.fairness import dataset_schemas
from analytics.services.training import MITIGATIONS
from finai.errors import ApplicationError

MITIGATION_FIELDS = ("mitigation_attribute", "mitigation_strength", "mitigation_constraint")
FAMILY_LABELS = {"scorecard": "Scorecard (WoE logistic)", "gbm": "Gradient boosting", "neural": "Neural network"}
MAX_SEED = 2**31 - 1


class ServiceErrorsMixin:
    """Puts a service's refusal on the fields it names, and the rest on the form as a whole."""

    def add_service_errors(self, error: ApplicationError) -> None:
        if not error.details:
            self.add_error(None, error.message)
        for name, problem in error.details.items():
            if name in self.fields:
                self.add_error(name, str(problem))
            else:
                self.add_error(None, f"{name}: {problem}")


class TrainForm(ServiceErrorsMixin, forms.Form):
    family = forms.ChoiceField(label="Model family")
    dataset = forms.ChoiceField(label="Data set")
    mitigation = forms.ChoiceField(
        label="Bias mitigation",
        help_text="Each uses the protected attribute while training only. Reweighing works with any family; "
        "exponentiated gradient trains a scorecard; adversarial debiasing a neural network.",
    )
    mitigation_attribute = forms.ChoiceField(
        label="Protected attribute to balance",
        required=False,
        initial=DEFAULT_ATTRIBUTE,
        choices=[(name, name.replace("_", " ").capitalize()) for name in GROUP_ATTRIBUTES],
    )
    mitigation_strength = forms.FloatField(
        label="Mitigation strength",
        required=False,
        initial=1.0,
        min_value=0.01,
        max_value=MAX_STRENGTH,
        help_text="1 is each method's standard form: the Kamiran-Calders weights, fairlearn's default tolerance, "
        "an adversary weighted like the prediction loss. Higher mitigates more.",
    )
    mitigation_constraint = forms.ChoiceField(
        label="Parity to reach (exponentiated gradient)",
        required=False,
        choices=[
            ("demographic_parity", "Equal approval rates (demographic parity)"),
            ("true_positive_rate_parity", "Equal approval rates among repayers (equal opportunity)"),
        ],
    )
    seed = forms.IntegerField(label="Random seed", min_value=0, max_value=MAX_SEED, initial=0)
    alternative_data = forms.MultipleChoiceField(
        label="Alternative data (opt-in)",
        required=False,
        choices=[("transaction_segment", "Transaction-behaviour segment (the chosen segmentation)")],
        widget=forms.CheckboxSelectMultiple,
        help_text="The version's fairness report then compares it with the same model trained without.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [(name, FAMILY_LABELS.get(name, name)) for name in FAMILIES]
        self.fields["dataset"].choices = training_datasets()
        self.fields["mitigation"].choices = [(name, text.capitalize()) for name, text in MITIGATIONS.items()]

    def clean(self) -> dict[str, Any]:
        """Mitigation settings travel to the training service as params, and only with a mitigation."""
        cleaned = super().clean()
        given = {name: cleaned.pop(name, None) for name in MITIGATION_FIELDS}
        mitigation = cleaned.get("mitigation")
        if mitigation and mitigation != "none":
            params = {name: value for name, value in given.items() if value not in (None, "")}
            if mitigation != "exponentiated_gradient" or params.get("mitigation_constraint") not in PARITY_CONSTRAINTS:
                params.pop("mitigation_constraint", None)
            cleaned["params"] = params
        return cleaned


class CompareForm(forms.Form):
    a = forms.ModelChoiceField(label="Version A", queryset=ModelVersion.objects.none())
    b = forms.ModelChoiceField(label="Version B", queryset=ModelVersion.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        trained = ModelVersion.objects.exclude(status=ModelVersion.Status.TRAINING).order_by("-created_at", "-pk")
        for name in ("a", "b"):
            self.fields[name].queryset = trained
            self.fields[name].label_from_instance = lambda v: f"v{v.pk} · {v.family} · {v.get_status_display()}"


class PromotionRequestForm(forms.Form):
    exception_justification = forms.CharField(
        label="Exception justification",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required only when a gate fails: why this version should be promoted anyway.",
    )


class PromotionApproveForm(forms.Form):
    accept_exception = forms.BooleanField(label="I accept the recorded exception for the failed gates", required=False)
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class PromotionRejectForm(forms.Form):
    note = forms.CharField(
        label="Reason for rejecting", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RollbackForm(forms.Form):
    product = forms.CharField(widget=forms.HiddenInput, max_length=50)
    reason = forms.CharField(label="Reason for the rollback", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


def _decisions_schema_choices() -> list[tuple[str, str]]:
    return [
        (schema.name, schema.description or schema.name) for schema in dataset_schemas() if schema.kind == "decisions"
    ]


def _control_choices() -> list[tuple[str, str]]:
    """Every feature of the decisions schemas; the service checks them against the chosen schema."""
    return [
        (column.name, f"{column.name.replace('_', ' ')} ({schema.name})")
        for schema in dataset_schemas()
        if schema.kind == "decisions"
        for column in schema.features
    ]


class DecisionsUploadForm(ServiceErrorsMixin, forms.Form):
    """Bring your own decisions: a CSV, the schema that reads it, and the declared legitimate credit factors."""

    file = forms.FileField(label="Decisions file (CSV)")
    schema = forms.ChoiceField(
        label="Dataset schema",
        help_text="Which columns hold the decision, the protected attributes and the credit factors (data/schemas/).",
    )
    controls = forms.MultipleChoiceField(
        label="Legitimate credit factors to control for",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="With any, each protected attribute also gets its regression-adjusted disparity.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["schema"].choices = _decisions_schema_choices()
        self.fields["controls"].choices = _control_choices()


class VersionReportForm(forms.Form):
    version = forms.ModelChoiceField(label="Model version", queryset=ModelVersion.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = ModelVersion.objects.exclude(
            status__in=(ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED)
        ).order_by("-created_at", "-pk")
        self.fields["version"].label_from_instance = lambda v: f"v{v.pk} · {v.family} · {v.get_status_display()}"


class WindowReportForm(ServiceErrorsMixin, forms.Form):
    first_day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))
    product = forms.CharField(label="Product", required=False, max_length=50, help_text="Leave empty for all.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", "The window must end on or after its first day.")
        return cleaned


class AlternativeSearchForm(forms.Form):
    tolerance = forms.FloatField(
        label="AUC tolerance",
        initial=DEFAULT_TOLERANCE,
        min_value=0,
        max_value=MAX_TOLERANCE,
        help_text="Flag alternatives whose lowest adverse impact ratio is higher and whose AUC is at most this "
        "much lower than the base's.",
    )
