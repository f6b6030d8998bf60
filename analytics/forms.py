"""Model-management forms: training, comparison and the promotion workflow."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.families import FAMILIES
from analytics.models import ModelVersion
from analytics.selectors import training_datasets
from analytics.services.training import MITIGATIONS
from finai.errors import ApplicationError

FAMILY_LABELS = {"scorecard": "Scorecard (WoE logistic)", "gbm": "Gradient boosting", "neural": "Neural network"}
MAX_SEED = 2**31 - 1


class TrainForm(forms.Form):
    family = forms.ChoiceField(label="Model family")
    dataset = forms.ChoiceField(label="Data set")
    mitigation = forms.ChoiceField(
        label="Bias mitigation",
        help_text="Adversarial debiasing trains the neural family against a protected-group adversary.",
    )
    seed = forms.IntegerField(label="Random seed", min_value=0, max_value=MAX_SEED, initial=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [(name, FAMILY_LABELS.get(name, name)) for name in FAMILIES]
        self.fields["dataset"].choices = training_datasets()
        self.fields["mitigation"].choices = [(name, text.capitalize()) for name, text in MITIGATIONS.items()]

    def add_service_errors(self, error: ApplicationError) -> None:
        if not error.details:
            self.add_error(None, error.message)
        for name, problem in error.details.items():
            if name in self.fields:
                self.add_error(name, str(problem))
            else:
                self.add_error(None, f"{name}: {problem}")


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
