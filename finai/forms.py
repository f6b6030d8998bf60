"""Forms of the core pages (the audit-trail search) and what every app's forms share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from finai.errors import ApplicationError
from finai.login_throttle import login_throttle_locked, login_throttle_message
from finai.selectors import audit_actions, audit_object_types


class AuditSearchForm(forms.Form):
    action = forms.ChoiceField(label="Action", required=False)
    actor = forms.CharField(label="Actor", required=False, max_length=200)
    object_type = forms.ChoiceField(label="Object type", required=False)
    object_id = forms.CharField(label="Object id", required=False, max_length=100)
    occurred_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    occurred_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actions = audit_actions()
        families = sorted({action.split(".")[0] + "." for action in actions if "." in action})
        self.fields["action"].choices = [
            ("", "Any"),
            ("Groups", [(family, f"{family}*") for family in families]),
            ("Actions", [(action, action) for action in actions]),
        ]
        self.fields["object_type"].choices = [("", "Any"), *((t, t) for t in audit_object_types())]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and start > end:
            self.add_error("occurred_to", "must be on or after the start date")
        return data


class PortalAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, saying so when too many failures locked this username and address out."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            username = self.cleaned_data.get("username") or ""
            remote_addr = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
            if username and login_throttle_locked(username=username, remote_addr=remote_addr):
                raise forms.ValidationError(login_throttle_message(), code="locked_out") from None
            raise


class ServiceErrorsMixin:
    """Puts a service's refusal on the fields it names, and the rest on the form as a whole."""

    def service_error_field(self, name: str) -> str:
        """The form field a service's detail key belongs to: the same name unless a form maps it."""
        return name

    def add_service_errors(self, error: ApplicationError) -> None:
        if not error.details:
            self.add_error(None, error.message)
        for name, problem in error.details.items():
            field = self.service_error_field(name)
            if field in self.fields:
                self.add_error(field, str(problem))
            else:
                self.add_error(None, f"{name}: {problem}")
