"""The compliance page that audits live decisions: it lives in lending, which owns the decision records."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from analytics.forms import WindowReportForm
from finai.errors import ApplicationError
from finai.roles import Role, role_required
from lending.services.fairness import window_fairness_report_run

COMPLIANCE_ROLES = (Role.COMPLIANCE_OFFICER, Role.ADMIN)


@role_required(*COMPLIANCE_ROLES)
def window_report(request: HttpRequest) -> HttpResponse:
    """Audit the primary decisions of a window and store the report."""
    form = WindowReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = window_fairness_report_run(
                first_day=form.cleaned_data["first_day"],
                last_day=form.cleaned_data["last_day"],
                product=form.cleaned_data["product"] or None,
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Report {report.pk} was stored.")
            return redirect("analytics:fairness_report_detail", pk=report.pk)
    return render(request, "lending/fairness_window.html", {"form": form}, status=400 if form.errors else 200)
