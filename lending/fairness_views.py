"""Compliance pages that join lending's or clustering's records with protected attributes: live decisions
audited by window, and whether customer segments follow protected lines."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.forms import WindowReportForm
from clustering.models import ClusteringRun
from finai.errors import ApplicationError
from finai.roles import Role, role_required
from lending.services.fairness import window_fairness_report_run
from lending.services.segments import PROXY_BAND, segment_membership_fairness

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


@role_required(*COMPLIANCE_ROLES)
def segment_fairness(request: HttpRequest, pk: int) -> HttpResponse:
    """Do a clustering run's segments follow the sex or age of the account owners?"""
    run = get_object_or_404(ClusteringRun.objects.select_related("experiment"), pk=pk)
    shares = segment_membership_fairness(run=run, reader=request.user)
    return render(
        request,
        "lending/segment_fairness.html",
        {"run": run, "shares": shares, "band": PROXY_BAND, "flagged": sum(share.flagged for share in shares)},
    )
