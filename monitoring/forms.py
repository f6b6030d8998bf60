"""Forms of the production-monitoring pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from django import forms

from analytics.engine.screening.scenarios import PARAMETERS
from analytics.models import ModelVersion
from finai.forms import ServiceErrorsMixin
from monitoring.models import SCREENING_TYPOLOGIES, ScreeningCase
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


# --- transaction screening (issue 17) -----------------------------------------------------------------------------
# Free text is not required here: the services refuse an empty note or narrative and name the field, once.


class CaseFilterForm(forms.Form):
    """The case queue's filters (GET)."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Open (pending and investigating)"),
            (ScreeningCase.Status.PENDING, "Pending"),
            (ScreeningCase.Status.INVESTIGATING, "Investigating"),
            ("awaiting", "Awaiting second approval"),
        ],
    )
    mine = forms.BooleanField(label="Only cases I hold", required=False)
    typology = forms.ChoiceField(label="Typology", required=False, choices=[("", "Any"), *SCREENING_TYPOLOGIES])
    rule = forms.ChoiceField(label="Rule", required=False)
    account = forms.CharField(label="Account contains", required=False, max_length=100)

    def __init__(self, *args: Any, rules: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", "Any"), *((rule, rule) for rule in rules)]


class CaseNoteForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(label="New note", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class CaseNarrativeForm(ServiceErrorsMixin, forms.Form):
    sar_narrative = forms.CharField(
        label="SAR narrative",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Who, what, when, where, why it is suspicious and how it was found.",
    )


class CaseCloseForm(ServiceErrorsMixin, forms.Form):
    """Closing without a report: the investigator's own call, with the reason."""

    disposition = forms.ChoiceField(
        label="Disposition",
        choices=[
            (ScreeningCase.Disposition.FALSE_POSITIVE, ScreeningCase.Disposition.FALSE_POSITIVE.label),
            (ScreeningCase.Disposition.NOT_SUSPICIOUS, ScreeningCase.Disposition.NOT_SUSPICIOUS.label),
        ],
    )
    closing_note = forms.CharField(
        label="Closing note", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CaseCloseRequestForm(ServiceErrorsMixin, forms.Form):
    closing_note = forms.CharField(
        label="Why it is confirmed",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="A second compliance officer reads it before approving the close and the report.",
    )


class ReviewNoteForm(ServiceErrorsMixin, forms.Form):
    """A second officer's approval or rejection (a rejection needs the note)."""

    note = forms.CharField(
        label="Review note", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ScreeningPeriodForm(ServiceErrorsMixin, forms.Form):
    """A past period of whole days (UTC) for a live or test run."""

    first_day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", "The period must end on or after its first day.")
        return cleaned

    def service_error_field(self, name: str) -> str:
        return {"period_end": "last_day", "period_start": "first_day"}.get(name, name)

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        """[first day 00:00, the day after the last 00:00) in UTC, as the daily run screens."""
        start = dt.datetime.combine(self.cleaned_data["first_day"], dt.time(), tzinfo=dt.UTC)
        return start, dt.datetime.combine(self.cleaned_data["last_day"], dt.time(), tzinfo=dt.UTC) + dt.timedelta(
            days=1
        )


def _parameter_field(name: str, default: Any, limits: tuple[Any, float | None, float | None]) -> forms.Field:
    """A form field for one engine parameter; the bounds are shown and checked by the engine, which words them."""
    kind, lowest, highest = limits
    label = name.replace("_", " ").capitalize()
    if isinstance(kind, tuple):
        return forms.ChoiceField(label=label, choices=[(choice, choice) for choice in kind])
    bounds = [f">= {lowest:g}" if lowest is not None else "", f"<= {highest:g}" if highest is not None else ""]
    attrs = {"step": "1" if kind == "int" else "any"}
    attrs.update({key: f"{value:g}" for key, value in (("min", lowest), ("max", highest)) if value is not None})
    field_class = forms.IntegerField if kind == "int" else forms.FloatField
    return field_class(
        label=label,
        widget=forms.NumberInput(attrs=attrs),
        help_text=" ".join(["Default", f"{default:g}.", *(bound for bound in bounds if bound)]),
    )


class ScenarioParametersForm(ServiceErrorsMixin, forms.Form):
    """A typology's parameters, built from the engine's dataclass and its limits, with the change note.

    `new` adds the fields of a new scenario (name, description); otherwise `enabled` may switch it off.
    """

    def __init__(self, *args: Any, typology: str, new: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parameters_class = PARAMETERS[typology]
        if new:
            self.fields["name"] = forms.SlugField(
                label="Name", max_length=60, help_text="The name alerts carry, e.g. structuring_9k."
            )
            self.fields["description"] = forms.CharField(label="Description", required=False, max_length=300)
        for parameter in fields(parameters_class):
            self.fields[parameter.name] = _parameter_field(
                parameter.name, parameter.default, parameters_class.LIMITS[parameter.name]
            )
            self.initial.setdefault(parameter.name, parameter.default)
        self.parameter_names = [parameter.name for parameter in fields(parameters_class)]
        if not new:
            self.fields["enabled"] = forms.BooleanField(label="Enabled", required=False)
        self.fields["change_note"] = forms.CharField(
            label="Why the change",
            required=False,
            max_length=5000,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="The second officer reads it before approving.",
        )

    def parameters(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.parameter_names}

    def service_error_field(self, name: str) -> str:
        return name.removeprefix("parameters.")


class ScreeningModelForm(ServiceErrorsMixin, forms.Form):
    """Train a screening model on the stored bookings: which family, and whose labels it learns from."""

    family = forms.ChoiceField(
        label="Family",
        choices=[
            ("screening_classifier", "Supervised classifier (learns from labelled accounts)"),
            ("screening_anomaly", "Anomaly score (isolation forest; needs no labels)"),
        ],
    )
    label_source = forms.ChoiceField(
        label="Labels",
        help_text="Whose account labels to learn from and measure against (a data set's known answers).",
    )
    seed = forms.IntegerField(label="Random seed", initial=0, min_value=0, max_value=2**31 - 1)

    def __init__(self, *args: Any, label_sources: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label_source"].choices = [(source, source) for source in label_sources] or [
            ("", "No labelled data set is loaded")
        ]
