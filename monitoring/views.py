"""Production-monitoring pages: for compliance, the fairness dashboard, reports on windows of live decisions
and whether customer segments follow protected lines; for model managers, drift over time and alerts.
Pages read stored results and queue new ones; they never compute."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.fairness_reports.charts import IntervalRow, trend_chart
from analytics.fairness_reports.selectors import fairness_by_attribute, lda_search_list
from analytics.models import ModelVersion, PromotionRequest
from analytics.selectors import model_version_list
from clustering.models import ClusteringRun
from finai.charts import Bar, bar_chart
from finai.errors import ApplicationError
from finai.progress import job_progress_response
from finai.roles import (
    COMPLIANCE_ROLES,
    MANAGER_ROLES,
    REVIEWER_ROLES,
    can_read_protected_attributes,
    ensure_role,
    role_required,
    user_has_role,
)
from monitoring.forms import AlertNoteForm, BacktestForm, ChallengerComparisonForm, WindowReportForm
from monitoring.models import Alert, Backtest, ChallengerComparison, MonitoringWindow, SegmentProxyCheck
from monitoring.selectors import (
    alert_list,
    cohort_performance_list,
    drift_heat_map,
    fairness_over_time,
    fairness_report_trend,
    fairness_windows,
    monitored_versions,
    monitoring_window_latest,
    segment_proxy_check_latest,
    vintage_table,
)
from monitoring.services.alerts import alert_acknowledge, alert_resolve
from monitoring.services.backtests import backtest_attach, backtest_request
from monitoring.services.challengers import challenger_comparison_request
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
    period = "week" if request.GET.get("period") == "week" else "month"
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
            "live": fairness_windows(version=selected, period=period) if selected else None,
            "min_group_size": settings.FAIRNESS_MIN_GROUP_SIZE,
            "period": period,
            "periods": [(value, label) for value, label in MonitoringWindow.Period.choices if value != "day"],
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


def _score_chart(window: MonitoringWindow | None) -> object | None:
    """The latest window's score distribution beside the training reference, bin by bin."""
    score = (window.drift.get("score") or {}) if window else {}
    reference, current = score.get("reference_shares") or [], score.get("current_shares") or []
    if not reference or len(reference) != len(current):
        return None
    bars = []
    for number, (was, now) in enumerate(zip(reference, current, strict=True), start=1):
        label = "missing" if number == len(reference) else f"score bin {number}"
        bars += [Bar(f"{label} · training", was, "bar-muted"), Bar(f"{label} · latest", now, "")]
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
    versions = monitored_versions()
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


# --- the policy lab and champion against challenger (issue 16) ---------------------------------------------------
# Model managers request backtests and comparisons; managers and compliance read the stored reports. Each group's
# figures over past applicants are shown to compliance officers only (`can_read_protected_attributes`, as the
# fairness dashboard and the override analysis by group); a manager sees each side's lowest adverse impact ratio,
# the headline the promotion gate already shows them.

LAB_RECORDS_SHOWN = 30


def _comparison_context(request: HttpRequest, job: Backtest | ChallengerComparison) -> dict:
    results = job.results or {}
    comparison = results.get("comparison") or {}
    return {
        "results": results,
        "comparison": comparison,
        "swaps": [comparison[name] for name in ("swap_in", "swap_out") if name in comparison],
        "show_groups": can_read_protected_attributes(request.user),
        "may_request": user_has_role(request.user, *MANAGER_ROLES),
    }


@role_required(*REVIEWER_ROLES)
def backtest_list(request: HttpRequest) -> HttpResponse:
    """The policy lab: the stored backtests, newest first, and for model managers the form that requests one."""
    if request.method == "POST":
        ensure_role(request.user, *MANAGER_ROLES)
    form = BacktestForm(request.POST or None, initial={"candidate": request.GET.get("candidate")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            backtest = backtest_request(
                product=data["product"],
                candidate=data["candidate"],
                first_day=data["first_day"],
                last_day=data["last_day"],
                approve_below=data["approve_below"],
                decline_from=data["decline_from"],
                policy_version=data["policy_version"],
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Backtest {backtest.pk} was queued on the analytics workers.")
            return redirect("monitoring:backtest_detail", pk=backtest.pk)
    backtests = Backtest.objects.select_related("candidate", "requested_by", "promotion_request")[:LAB_RECORDS_SHOWN]
    return render(
        request,
        "monitoring/backtest_list.html",
        {"form": form, "backtests": list(backtests), "may_request": user_has_role(request.user, *MANAGER_ROLES)},
        status=400 if form.errors else 200,
    )


def _pending_request(backtest: Backtest) -> PromotionRequest | None:
    if backtest.candidate_id is None:
        return None
    return PromotionRequest.objects.filter(
        version_id=backtest.candidate_id, status=PromotionRequest.Status.PENDING
    ).first()


@role_required(*REVIEWER_ROLES)
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored, printable report of one backtest (its progress while a worker replays it)."""
    backtest = get_object_or_404(
        Backtest.objects.select_related("candidate", "requested_by", "promotion_request", "attached_by"), pk=pk
    )
    pending = _pending_request(backtest)
    context = _comparison_context(request, backtest)
    return render(
        request,
        "monitoring/backtest_detail.html",
        {
            **context,
            "backtest": backtest,
            "pending": pending,
            "may_attach": context["may_request"]
            and backtest.status == Backtest.Status.DONE
            and pending is not None
            and backtest.promotion_request_id != pending.pk,
        },
    )


@role_required(*REVIEWER_ROLES)
def backtest_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the backtest page while a worker replays."""
    return job_progress_response(get_object_or_404(Backtest, pk=pk))


@role_required(*MANAGER_ROLES)
def backtest_attach_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach the backtest to its candidate's pending promotion request (POST), for the second approver."""
    backtest = get_object_or_404(Backtest.objects.select_related("candidate"), pk=pk)
    if request.method != "POST":
        return redirect("monitoring:backtest_detail", pk=pk)
    pending = _pending_request(backtest)
    if pending is None:
        messages.error(request, "There is no pending promotion request of this backtest's version to attach it to.")
        return redirect("monitoring:backtest_detail", pk=pk)
    try:
        backtest_attach(backtest=backtest, promotion_request=pending, actor=request.user)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Attached to the promotion request of v{pending.version_id}; its approver sees it.")
    return redirect("monitoring:backtest_detail", pk=pk)


@role_required(*REVIEWER_ROLES)
def challenger_comparison_list(request: HttpRequest) -> HttpResponse:
    """Champion against challenger: the stored comparisons, and for model managers the form that requests one
    for the product's current pair."""
    if request.method == "POST":
        ensure_role(request.user, *MANAGER_ROLES)
    product = request.GET.get("product") or "consumer_loan"
    current = {
        version.status: version
        for version in ModelVersion.objects.filter(
            product=product, status__in=(ModelVersion.Status.CHAMPION, ModelVersion.Status.CHALLENGER)
        )
    }
    champion, challenger = current.get(ModelVersion.Status.CHAMPION), current.get(ModelVersion.Status.CHALLENGER)
    form = ChallengerComparisonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if champion is None or challenger is None:
            form.add_error(None, f"{product} needs a champion and a challenger running in shadow to compare.")
        else:
            try:
                comparison = challenger_comparison_request(
                    champion=champion,
                    challenger=challenger,
                    first_day=form.cleaned_data["first_day"],
                    last_day=form.cleaned_data["last_day"],
                    requested_by=request.user,
                )
            except ApplicationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Comparison {comparison.pk} was queued on the analytics workers.")
                return redirect("monitoring:challenger_comparison_detail", pk=comparison.pk)
    comparisons = ChallengerComparison.objects.select_related("champion", "challenger", "requested_by")
    return render(
        request,
        "monitoring/challenger_comparison_list.html",
        {
            "form": form,
            "product": product,
            "champion": champion,
            "challenger": challenger,
            "comparisons": list(comparisons[:LAB_RECORDS_SHOWN]),
            "may_request": user_has_role(request.user, *MANAGER_ROLES),
        },
        status=400 if form.errors else 200,
    )


@role_required(*REVIEWER_ROLES)
def challenger_comparison_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored, printable comparison of a champion with its challenger (its progress while it runs)."""
    comparison = get_object_or_404(
        ChallengerComparison.objects.select_related("champion", "challenger", "requested_by"), pk=pk
    )
    return render(
        request,
        "monitoring/challenger_comparison_detail.html",
        {**_comparison_context(request, comparison), "job": comparison},
    )


@role_required(*REVIEWER_ROLES)
def challenger_comparison_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the comparison page while a worker compares."""
    return job_progress_response(get_object_or_404(ChallengerComparison, pk=pk))
