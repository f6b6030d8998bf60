"""Production-fairness pages for compliance: the fairness dashboard, reports on windows of live decisions,
and whether customer segments follow protected lines. Pages read stored results and queue new ones."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.fairness_reports.charts import IntervalRow, trend_chart
from analytics.fairness_reports.selectors import fairness_by_attribute, lda_search_list
from analytics.models import ModelVersion
from analytics.selectors import model_version_list
from clustering.models import ClusteringRun
from finai.errors import ApplicationError
from finai.progress import job_progress_response
from finai.roles import COMPLIANCE_ROLES, role_required
from monitoring.forms import WindowReportForm
from monitoring.models import SegmentProxyCheck
from monitoring.selectors import fairness_over_time, fairness_report_trend, segment_proxy_check_latest
from monitoring.services.fairness import PROXY_BAND, segment_proxy_check_request, window_fairness_report_request

TREND_REPORTS = 40
SEARCHES_SHOWN = 5


def _trend_chart(trend: list, threshold: float) -> object | None:
    rows = [
        IntervalRow(
            f"#{report.pk} {report.created_at:%m-%d}",
            lowest.ratio.value,
            lowest.ratio.low,
            lowest.ratio.high,
            "dot-alert" if lowest.ratio.value < threshold else "dot",
        )
        for report, lowest in trend
        if lowest is not None
    ]
    if not rows:
        return None
    return trend_chart(
        title="Lowest adverse impact ratio of each stored report, oldest first",
        description="Against the most favoured group of adequate size, with its interval; the dashed line is "
        f"the four-fifths rule at {threshold:g}.",
        rows=rows,
        threshold=threshold,
    )


@role_required(*COMPLIANCE_ROLES)
def fairness_dashboard(request: HttpRequest) -> HttpResponse:
    """Approval rates and adverse impact ratios by group, per model version, across versions and over reports."""
    versions = list(model_version_list().exclude(status__in=(ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED)))
    selected = next((v for v in versions if str(v.pk) == request.GET.get("version")), None)
    if selected is None:
        selected = next(
            (v for v in versions if v.status == ModelVersion.Status.CHAMPION), versions[0] if versions else None
        )
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    trend = fairness_report_trend(limit=TREND_REPORTS)
    return render(
        request,
        "monitoring/fairness_dashboard.html",
        {
            "versions": versions,
            "selected": selected,
            "fairness": fairness_by_attribute(selected) if selected else [],
            "over_time": fairness_over_time(),
            "threshold": threshold,
            "trend": list(reversed(trend)),
            "trend_chart": _trend_chart(trend, threshold),
            "searches": list(lda_search_list()[:SEARCHES_SHOWN]),
        },
    )


@role_required(*COMPLIANCE_ROLES)
def window_report(request: HttpRequest) -> HttpResponse:
    """Queue the audit of the primary decisions of a window; the report page follows its progress."""
    form = WindowReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = window_fairness_report_request(
                first_day=form.cleaned_data["first_day"],
                last_day=form.cleaned_data["last_day"],
                product=form.cleaned_data["product"] or None,
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Report {report.pk} was queued on the analytics workers.")
            return redirect("analytics:fairness_report_detail", pk=report.pk)
    return render(request, "monitoring/fairness_window.html", {"form": form}, status=400 if form.errors else 200)


@role_required(*COMPLIANCE_ROLES)
def segment_proxy(request: HttpRequest, pk: int) -> HttpResponse:
    """Do a clustering run's segments follow the sex or age of the account owners? The latest check."""
    run = get_object_or_404(ClusteringRun.objects.select_related("experiment"), pk=pk)
    check = segment_proxy_check_latest(run=run)
    shares = check.shares if check is not None else []
    return render(
        request,
        "monitoring/segment_proxy_check.html",
        {
            "run": run,
            "check": check,
            "shares": shares,
            "band": PROXY_BAND,
            "flagged": sum(share.flagged for share in shares),
        },
    )


@role_required(*COMPLIANCE_ROLES)
def segment_proxy_check_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a new check of the run's segments (a check is never recomputed on a page view)."""
    run = get_object_or_404(ClusteringRun, pk=pk)
    if request.method != "POST":
        return redirect("monitoring:segment_proxy", pk=run.pk)
    try:
        segment_proxy_check_request(run=run, requested_by=request.user)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The check was queued on the analytics workers.")
    return redirect("monitoring:segment_proxy", pk=run.pk)


@role_required(*COMPLIANCE_ROLES)
def segment_proxy_check_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the segments page while a worker checks."""
    check = get_object_or_404(SegmentProxyCheck, pk=pk)
    return job_progress_response(check)
