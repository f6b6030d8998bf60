"""Forms of the production-monitoring pages."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.models import ModelVersion
from finai.forms import ServiceErrorsMixin
from monitoring.services.backtests import TRAINED


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


class AlertNoteForm(ServiceErrorsMixin, forms.Form):
    """Acknowledging or resolving an alert: the note (required to resolve) goes to the audit trail."""

    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class BacktestForm(ServiceErrorsMixin, forms.Form):
    """The policy lab's request: a candidate version and/or new cut-offs, over a period of past applications."""

    candidate = forms.ModelChoiceField(
        label="Candidate version",
        queryset=None,
        required=False,
        empty_label="None: the stored probabilities under new cut-offs",
        help_text="Its model scores the stored feature vectors of the period's decisions.",
    )
    product = forms.CharField(label="Product", max_length=50, initial="consumer_loan")
    first_day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))
    approve_below = forms.FloatField(
        label="Approve below PD",
        required=False,
        help_text="New cut-offs (both, or neither to keep the candidate's own policy).",
    )
    decline_from = forms.FloatField(label="Decline from PD", required=False)
    policy_version = forms.CharField(
        label="Name of the new cut-offs",
        required=False,
        max_length=50,
        help_text="Recorded with the backtest; left empty it is made from the cut-offs.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["candidate"].queryset = ModelVersion.objects.filter(status__in=TRAINED).order_by("-pk")
        self.fields["candidate"].label_from_instance = lambda version: (
            f"v{version.pk} · {version.family} · {version.product} ({version.get_status_display().lower()})"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", "The period must end on or after its first day.")
        return cleaned

    def service_error_field(self, name: str) -> str:
        return "first_day" if name == "period" else name


class ChallengerComparisonForm(ServiceErrorsMixin, forms.Form):
    """The period over which the champion's decisions are compared with the challenger's shadow decisions."""

    first_day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", "The period must end on or after its first day.")
        return cleaned
