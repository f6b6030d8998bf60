"""Forms of the production-monitoring pages."""

from __future__ import annotations

from typing import Any

from django import forms

from finai.forms import ServiceErrorsMixin


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
