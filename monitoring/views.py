"""Production-monitoring pages: for compliance, the fairness dashboard, reports on windows of live decisions
and whether customer segments follow protected lines; for model managers, drift over time and alerts.
Pages read stored results and queue new ones; they never compute."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Case, Q, Value, When
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.fairness_reports.charts import IntervalRow, trend_chart
from analytics.fairness_reports.selectors import fairness_by_attribute, lda_search_list
from analytics.models import ModelVersion
from analytics.selectors import model_version_list
from clustering.models import ClusteringRun
from finai.charts import Bar, bar_chart
from finai.errors import ApplicationError
from finai.progress import job_progress_response
from finai.roles import COMPLIANCE_ROLES, MANAGER_ROLES, role_required
from monitoring.forms import AlertNoteForm, WindowReportForm
from monitoring.models import Alert, MonitoringWindow, SegmentProxyCheck
from monitoring.selectors import (
    alert_list,
    cohort_performance_list,
    drift_heat_map,
    fairness_over_time,
    fairness_report_trend,
    monitoring_window_latest,
    segment_proxy_check_latest,
    vintage_table,
)
from monitoring.services.alerts import alert_acknowledge, alert_resolve
from monitoring.services.fairness import PROXY_BAND, segment_proxy_check_request, window_fairness_report_request

TREND_REPORTS = 40
SEARCHES_SHOWN = 5
ALERTS_SHOWN = 50


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


def _monitored_versions() -> list[ModelVersion]:
    """The versions the scheduled run measures (champions) or has measured, champions first."""
    champion_first = Case(When(status=ModelVersion.Status.CHAMPION, then=Value(0)), default=Value(1))
    return list(
        ModelVersion.objects.filter(Q(status=ModelVersion.Status.CHAMPION) | Q(monitoring_windows__isnull=False))
        .distinct()
        .order_by(champion_first, "-pk")
    )


def _score_chart(window: MonitoringWindow | None) -> object | None:
    """The latest window's score distribution beside the training reference, bin by bin."""
    score = (window.drift.get("score") or {}) if window else {}
    reference, current = score.get("reference_shares") or [], score.get("current_shares") or []
    if not reference or len(reference) != len(current):
        return None
    bars = []
    for number, (was, now) in enumerate(zip(reference, current, strict=True), start=1):
        label = "missing" if number == len(reference) else f"score bin {number}"
        bars += [Bar(f"{label} · training", was, "series-2"), Bar(f"{label} · latest", now, "series-1")]
    return bar_chart(
        title="Score distribution: latest window against training",
        description="Share of decisions per probability-of-default bin fixed at training (deciles of the training "
        f"scores); PSI {score.get('psi') or 0:.3f}.",
        bars=bars,
        maximum=max(max(reference), max(current), 0.01),
        value_format=lambda value: f"{value:.1%}",
        label_width=200,
    )


@role_required(*MANAGER_ROLES)
def model_monitoring(request: HttpRequest) -> HttpResponse:
    """Drift per feature over time (a heat map of PSI), the score against its reference, performance by cohort
    (realised with intervals, estimated without labels), vintage curves, and open alerts."""
    versions = _monitored_versions()
    selected = next((v for v in versions if str(v.pk) == request.GET.get("version")), versions[0] if versions else None)
    period = request.GET.get("period") if request.GET.get("period") in MonitoringWindow.Period.values else "month"
    latest = monitoring_window_latest(version=selected, period=period) if selected else None
    cohorts = cohort_performance_list(version=selected) if selected else []
    return render(
        request,
        "monitoring/model_monitoring.html",
        {
            "versions": versions,
            "selected": selected,
            "period": period,
            "periods": MonitoringWindow.Period.choices,
            "heat_map": drift_heat_map(version=selected, period=period) if selected else None,
            "cohorts": cohorts,
            "vintages": vintage_table(cohorts),
            "latest": latest,
            "score_chart": _score_chart(latest),
            "alerts": list(alert_list()[:ALERTS_SHOWN]),
            "resolved": list(alert_list(status=Alert.Status.RESOLVED)[:ALERTS_SHOWN]),
            "note_form": AlertNoteForm(),
            "thresholds": {"warning": settings.MONITORING_PSI_WARNING, "critical": settings.MONITORING_PSI_CRITICAL},
        },
    )


@role_required(*MANAGER_ROLES)
def alert_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Acknowledge or resolve an alert (POST); the note is recorded with who and when in the audit trail."""
    alert = get_object_or_404(Alert, pk=pk)
    if request.method != "POST":
        return redirect("monitoring:model_monitoring")
    form = AlertNoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    act = alert_acknowledge if action == "acknowledge" else alert_resolve
    try:
        act(alert=alert, user=request.user, note=note)
    except ApplicationError as error:
        problems = "; ".join(f"{name} {problem}" for name, problem in error.details.items())
        messages.error(request, f"{error.message} {problems}".strip())
    else:
        messages.success(request, f"Alert {alert.pk} {'acknowledged' if action == 'acknowledge' else 'resolved'}.")
    return redirect("monitoring:model_monitoring")
