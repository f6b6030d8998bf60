"""Model-management and fair-lending forms: training, comparison, promotion, reports and alternative searches."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.engine.families import FAMILIES
from analytics.engine.families.scorecard import PARITY_CONSTRAINTS
from analytics.engine.mitigation import DEFAULT_ATTRIBUTE, MAX_STRENGTH
from analytics.models import ModelVersion
from analytics.selectors import training_datasets
from analytics.services.training_jobs import MITIGATIONS
from finai.forms import ServiceErrorsMixin
from finai.protected_attributes import GROUP_ATTRIBUTES

MITIGATION_FIELDS = ("mitigation_attribute", "mitigation_strength", "mitigation_constraint")
FAMILY_LABELS = {"scorecard": "Scorecard (WoE logistic)", "gbm": "Gradient boosting", "neural": "Neural network"}
MAX_SEED = 2**31 - 1


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


class VersionFilterForm(forms.Form):
    """The version list's filters; the choices are the values versions have, each with its count."""

    product = forms.ChoiceField(label="Product", required=False)
    status = forms.ChoiceField(label="Status", required=False)
    family = forms.ChoiceField(label="Family", required=False)
    alternatives = forms.BooleanField(
        label="Include search alternatives",
        required=False,
        help_text="Versions trained by a search for less discriminatory alternatives and not promoted.",
    )

    def __init__(self, *args: Any, counts: dict[str, list[tuple[str, int]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("product", "status", "family"):
            labels = dict(ModelVersion.Status.choices) if name == "status" else {}
            values = [(value, f"{labels.get(value, value)} ({count})") for value, count in counts.get(name, [])]
            self.fields[name].choices = [("", "Any"), *values]
