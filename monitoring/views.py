"""Production-monitoring pages: for compliance, the fairness dashboard, reports on windows of live decisions
and whether customer segments follow protected lines; for model managers, drift over time and alerts.
Pages read stored results and queue new ones; they never compute."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.engine.screening.scenarios import PARAMETERS
from analytics.fairness_reports.charts import IntervalRow, trend_chart
from analytics.fairness_reports.selectors import fairness_by_attribute, lda_search_list
from analytics.models import ModelVersion, PromotionRequest
from analytics.selectors import model_version_list
from clustering.models import ClusteringRun
from finai.charts import Bar, Series, bar_chart, line_chart
from finai.errors import ApplicationError
from finai.exports import csv_export_response, in_chunks, queryset_csv_response, queryset_stream
from finai.progress import job_progress_response
from finai.roles import (
    COMPLIANCE_ROLES,
    MANAGER_ROLES,
    REVIEWER_ROLES,
    Role,
    can_read_protected_attributes,
    ensure_role,
    role_required,
    user_has_role,
)
from monitoring.forms import (
    AlertNoteForm,
    BacktestForm,
    CaseCloseForm,
    CaseCloseRequestForm,
    CaseFilterForm,
    CaseNarrativeForm,
    CaseNoteForm,
    ChallengerComparisonForm,
    ReviewNoteForm,
    ScenarioParametersForm,
    ScreeningModelForm,
    ScreeningPeriodForm,
    WindowReportForm,
)
from monitoring.models import (
    SCREENING_TYPOLOGIES,
    Alert,
    Backtest,
    ChallengerComparison,
    MonitoringWindow,
    ScenarioVersion,
    ScreeningCase,
    ScreeningRun,
    ScreeningScenario,
    SegmentProxyCheck,
)
from monitoring.selectors import (
    Neighbourhood,
    account_bookings,
    alert_bookings,
    alert_list,
    alerts_span,
    balance_series,
    case_audit_trail,
    case_typologies,
    cohort_performance_list,
    counterparty_neighbourhood,
    default_screening_period,
    drift_heat_map,
    fairness_over_time,
    fairness_report_trend,
    fairness_windows,
    monitored_versions,
    monitoring_window_latest,
    scenario_version_diff,
    screening_case_queue,
    screening_detection_quality,
    screening_label_sources,
    screening_model_versions,
    screening_open_rules,
    screening_queue_counts,
    screening_scenario_overview,
    segment_proxy_check_latest,
    vintage_table,
)
from monitoring.services.alerts import alert_acknowledge, alert_resolve
from monitoring.services.backtests import backtest_attach, backtest_request
from monitoring.services.cases import (
    case_assign,
    case_close,
    case_close_approve,
    case_close_reject,
    case_close_request,
    case_narrative_save,
    case_note_add,
    case_release,
)
from monitoring.services.challengers import challenger_comparison_request
from monitoring.services.fairness import PROXY_BAND, segment_proxy_check_request, window_fairness_report_request
from monitoring.services.sar import case_sar_csv, case_sar_pdf, sar_is_draft
from monitoring.services.scenarios import (
    active_versions,
    scenario_change_propose,
    scenario_create,
    scenario_version_approve,
    scenario_version_reject,
)
from monitoring.services.screening import screening_run_request
from monitoring.services.screening_models import screening_model_train_request

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


# --- transaction screening (issue 17) -----------------------------------------------------------------------------
# The compliance officer's side: the case queue, a case's evidence and its four-eyes close, the SAR draft, the
# scenarios under four eyes, test and live runs, and detection quality over time. Every refusal of a service is
# shown with the field it names, on the page the officer was on (status 400), never as a server error.

CASES_PER_PAGE = 25
BOOKINGS_PER_PAGE = 50
COUNTERPARTIES_SHOWN = 10
RUNS_SHOWN = 30
CASE_FORMS = {
    "note": CaseNoteForm,
    "narrative": CaseNarrativeForm,
    "close": CaseCloseForm,
    "close_request": CaseCloseRequestForm,
    "review": ReviewNoteForm,
}
CASE_ACTION_FORM = {
    "take": None,
    "release": None,
    "note": "note",
    "narrative": "narrative",
    "close": "close",
    "close_request": "close_request",
    "close_approve": "review",
    "close_reject": "review",
}


def _refusal(error: ApplicationError) -> str:
    """A service's refusal in words, naming each field it concerns."""
    problems = "; ".join(f"{name.replace('_', ' ')}: {problem}" for name, problem in error.details.items())
    return f"{error.message} ({problems})" if problems else error.message


def _page_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@role_required(*COMPLIANCE_ROLES)
def screening_queue(request: HttpRequest) -> HttpResponse:
    """Open cases by priority (the sum of their alerts' scores), with filters and the queue's counts."""
    form = CaseFilterForm(request.GET or None, rules=screening_open_rules())
    filters = form.cleaned_data if form.is_valid() else {}
    cases = screening_case_queue(
        status=filters.get("status", ""),
        holder=request.user if filters.get("mine") else None,
        typology=filters.get("typology", ""),
        rule=filters.get("rule", ""),
        account=filters.get("account", ""),
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    typologies = case_typologies(page.object_list)
    return render(
        request,
        "monitoring/screening/queue.html",
        {
            "form": form,
            "filtered": any(filters.values()),
            "page": page,
            "rows": [(case, typologies.get(case.pk, [])) for case in page.object_list],
            "query": _page_query(request),
            "counts": screening_queue_counts(),
        },
    )


def _neighbourhood_chart(neighbourhood: Neighbourhood) -> object | None:
    bars = []
    for flow in neighbourhood.flows:
        if flow.received:
            bars.append(Bar(f"received from {flow.counterparty}", float(flow.received), ""))
        if flow.sent:
            bars.append(Bar(f"sent to {flow.counterparty}", float(flow.sent), "bar-muted"))
    if not bars:
        return None
    return bar_chart(
        title="Counterparty neighbourhood: amounts received from and sent to each counterparty",
        description=f"The {len(neighbourhood.flows)} largest counterparties by amount, one hop from the account.",
        bars=bars,
        maximum=max(bar.value for bar in bars) or 1.0,
        value_format=lambda value: f"{value:,.0f}",
        label_width=240,
    )


def _balance_chart(series: list, since: dt.datetime) -> object | None:
    """The running net flow in its own units: days since `since` across (from zero), the balance up on ticks
    that cover it (the chart picks them)."""
    if not series:
        return None
    series = [(since.date(), Decimal("0")), *series] if series[0][0] > since.date() else series
    first, last = series[0][0], series[-1][0]
    points = [((day - first).days, float(value)) for day, value in series]
    return line_chart(
        title="Net flow over time (in minus out), running from zero",
        description=f"Daily from {first:%Y-%m-%d} to {last:%Y-%m-%d}, from the lowest "
        f"({min(v for _, v in points):,.2f}) to the highest ({max(v for _, v in points):,.2f}) running balance.",
        series=[Series("running net flow", points, "series-1", markers=len(points) <= 60)],
        x_label=f"Days since {first:%Y-%m-%d}",
        y_label="Running net flow",
        diagonal=False,
    )


def _case_page(
    request: HttpRequest, case: ScreeningCase, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The case page: evidence, charts, notes, the audit timeline and the forms the viewer may use."""
    alerts = list(case.alerts.select_related("run").order_by("window_start", "pk"))
    triggering = alert_bookings(alerts)
    span = alerts_span(alerts)
    context: dict[str, Any] = {"bookings_page": None, "neighbourhood": None, "balance": []}
    if span is not None:
        since, until = span
        neighbourhood = counterparty_neighbourhood(
            account=case.account, since=since, until=until, top=COUNTERPARTIES_SHOWN
        )
        balance = balance_series(account=case.account, since=since, until=until)
        context = {
            "bookings_page": Paginator(
                account_bookings(account=case.account, since=since, until=until), BOOKINGS_PER_PAGE
            ).get_page(request.GET.get("page")),
            "neighbourhood": neighbourhood,
            "neighbourhood_chart": _neighbourhood_chart(neighbourhood),
            "balance": balance,
            "balance_chart": _balance_chart(balance, since),
        }
    forms_ = {name: form_class(prefix=name) for name, form_class in CASE_FORMS.items()}
    forms_["narrative"] = CaseNarrativeForm(prefix="narrative", initial={"sar_narrative": case.sar_narrative})
    forms_.update(bound or {})
    holder = case.assigned_to_id == request.user.pk
    is_open = case.status != ScreeningCase.Status.CLOSED
    awaiting = case.awaiting_second_approval
    return render(
        request,
        "monitoring/screening/case_detail.html",
        {
            **context,
            "case": case,
            "span": span,
            "alerts": [(alert, triggering[alert.pk]) for alert in alerts],
            "notes": list(case.notes.select_related("author")),
            "timeline": case_audit_trail(case),
            "forms": forms_,
            "holder": holder,
            "may_take": is_open
            and not awaiting
            and not holder
            and (case.assigned_to_id is None or user_has_role(request.user, Role.ADMIN)),
            "may_work": is_open and holder and not awaiting,
            "may_review": awaiting and case.close_requested_by_id != request.user.pk,
            "sar_draft": sar_is_draft(case),
        },
        status=status,
    )


def _screening_case(pk: int) -> ScreeningCase:
    return get_object_or_404(
        ScreeningCase.objects.select_related("assigned_to", "close_requested_by", "closed_by"), pk=pk
    )


@role_required(*COMPLIANCE_ROLES)
def screening_case(request: HttpRequest, pk: int) -> HttpResponse:
    """One case: its alerts and their bookings, the account's neighbourhood and flow, notes, narrative, trail."""
    return _case_page(request, _screening_case(pk))


def _case_act(action: str, case: ScreeningCase, user: Any, data: dict[str, Any]) -> str:
    """Call the service for one of the case page's buttons; the words of its success."""
    if action == "take":
        case_assign(case=case, assignee=user, assigned_by=user)
        return "You hold the case now."
    if action == "release":
        case_release(case=case, released_by=user)
        return "The case is back in the queue."
    if action == "note":
        case_note_add(case=case, author=user, text=data["text"])
        return "Note added."
    if action == "narrative":
        case_narrative_save(case=case, author=user, narrative=data["sar_narrative"])
        return "Narrative saved."
    if action == "close":
        closed = case_close(
            case=case, closed_by=user, disposition=data["disposition"], closing_note=data["closing_note"]
        )
        return f"Case closed: {closed.get_disposition_display().lower()}."
    if action == "close_request":
        case_close_request(case=case, requested_by=user, closing_note=data["closing_note"])
        return "The confirmation waits for a second compliance officer's approval."
    if action == "close_approve":
        case_close_approve(case=case, approved_by=user, note=data["note"])
        return "Approved: the case is closed as confirmed and its report is final."
    case_close_reject(case=case, rejected_by=user, note=data["note"])
    return "The confirmation was sent back to its investigator."


@role_required(*COMPLIANCE_ROLES)
def screening_case_act(request: HttpRequest, pk: int) -> HttpResponse:
    """Take, release, note, narrative, close, request or review a confirmed close (POST, `action` names which)."""
    case = _screening_case(pk)
    action = request.POST.get("action", "")
    if request.method != "POST" or action not in CASE_ACTION_FORM:
        return redirect("monitoring:screening_case", pk=case.pk)
    form_name = CASE_ACTION_FORM[action]
    form = CASE_FORMS[form_name](request.POST, prefix=form_name) if form_name else None
    if form is not None and not form.is_valid():
        return _case_page(request, case, bound={form_name: form}, status=400)
    try:
        done = _case_act(action, case, request.user, form.cleaned_data if form else {})
    except ApplicationError as error:
        messages.error(request, _refusal(error))
        if form is not None:
            form.add_service_errors(error)
        return _case_page(request, _screening_case(pk), bound={form_name: form} if form else None, status=400)
    messages.success(request, done)
    return redirect("monitoring:screening_case", pk=case.pk)


def _sar_download(request: HttpRequest, pk: int, *, file_format: str) -> HttpResponse:
    case = _screening_case(pk)
    name = f"sar-{'draft-' if sar_is_draft(case) else ''}case-{case.pk}.{file_format}"
    if file_format == "pdf":
        response = HttpResponse(case_sar_pdf(case=case, exported_by=request.user), content_type="application/pdf")
    else:
        response = HttpResponse(case_sar_csv(case=case, exported_by=request.user), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(*COMPLIANCE_ROLES)
def screening_case_sar_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The report (a draft until the case closes confirmed) as a PDF; the export is audited."""
    return _sar_download(request, pk, file_format="pdf")


@role_required(*COMPLIANCE_ROLES)
def screening_case_sar_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The report's triggering bookings as CSV; the export is audited."""
    return _sar_download(request, pk, file_format="csv")


@role_required(*COMPLIANCE_ROLES)
def screening_scenario_list(request: HttpRequest) -> HttpResponse:
    """Every scenario with its active parameters and its pending change."""
    return render(
        request,
        "monitoring/screening/scenario_list.html",
        {"overview": screening_scenario_overview(), "typologies": SCREENING_TYPOLOGIES},
    )


@role_required(*COMPLIANCE_ROLES)
def screening_scenario_new(request: HttpRequest) -> HttpResponse:
    """A new scenario of a typology (chosen first, as its parameters depend on it), pending a second officer."""
    typology = request.GET.get("typology") or "structuring"
    if typology not in PARAMETERS:
        typology = "structuring"
    form = ScenarioParametersForm(request.POST or None, typology=typology, new=True)
    if request.method == "POST" and form.is_valid():
        try:
            version = scenario_create(
                name=form.cleaned_data["name"],
                typology=typology,
                description=form.cleaned_data["description"],
                parameters=form.parameters(),
                change_note=form.cleaned_data["change_note"],
                proposed_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{version.rule_name} was proposed; a second compliance officer approves it.")
            return redirect("monitoring:screening_version", pk=version.pk)
    return render(
        request,
        "monitoring/screening/scenario_new.html",
        {
            "form": form,
            "typology": typology,
            "typologies": SCREENING_TYPOLOGIES,
            "typology_doc": PARAMETERS[typology].__doc__,
        },
        status=400 if form.errors else 200,
    )


@role_required(*COMPLIANCE_ROLES)
def screening_scenario(request: HttpRequest, pk: int) -> HttpResponse:
    """A scenario's versions and the editor that proposes its next one (POST)."""
    scenario = get_object_or_404(ScreeningScenario, pk=pk)
    versions = list(scenario.versions.select_related("proposed_by", "reviewed_by"))
    active = next((v for v in versions if v.status == ScenarioVersion.Status.ACTIVE), None)
    pending = next((v for v in versions if v.status == ScenarioVersion.Status.PENDING), None)
    initial = {**active.parameters, "enabled": active.enabled} if active else {"enabled": True}
    form = ScenarioParametersForm(request.POST or None, typology=scenario.typology, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            version = scenario_change_propose(
                scenario=scenario,
                parameters=form.parameters(),
                enabled=form.cleaned_data["enabled"],
                change_note=form.cleaned_data["change_note"],
                proposed_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{version.rule_name} was proposed; a second compliance officer approves it.")
            return redirect("monitoring:screening_version", pk=version.pk)
    return render(
        request,
        "monitoring/screening/scenario_detail.html",
        {
            "scenario": scenario,
            "versions": versions,
            "active": active,
            "pending": pending,
            "form": form,
            "typology_doc": PARAMETERS[scenario.typology].__doc__,
        },
        status=400 if form.errors else 200,
    )


def _version_page(
    request: HttpRequest,
    version: ScenarioVersion,
    *,
    review_form: ReviewNoteForm | None = None,
    run_form: ScreeningPeriodForm | None = None,
    status: int = 200,
) -> HttpResponse:
    before, changes = scenario_version_diff(version)
    first_day, last_day = default_screening_period()
    return render(
        request,
        "monitoring/screening/version_detail.html",
        {
            "version": version,
            "before": before,
            "changes": changes,
            "runs": list(version.runs.filter(kind=ScreeningRun.Kind.TEST).select_related("requested_by")),
            "review_form": review_form or ReviewNoteForm(),
            "run_form": run_form or ScreeningPeriodForm(initial={"first_day": first_day, "last_day": last_day}),
            "is_pending": version.status == ScenarioVersion.Status.PENDING,
            "is_proposer": version.proposed_by_id == request.user.pk,
            "may_test": version.status in (ScenarioVersion.Status.PENDING, ScenarioVersion.Status.ACTIVE),
        },
        status=status,
    )


def _scenario_version(pk: int) -> ScenarioVersion:
    return get_object_or_404(ScenarioVersion.objects.select_related("scenario", "proposed_by", "reviewed_by"), pk=pk)


@role_required(*COMPLIANCE_ROLES)
def screening_version(request: HttpRequest, pk: int) -> HttpResponse:
    """One version: its parameters against the active ones, its test runs, and the second officer's review."""
    return _version_page(request, _scenario_version(pk))


@role_required(*COMPLIANCE_ROLES)
def screening_version_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a pending version (POST); the proposer is refused by the service, with the reason."""
    version = _scenario_version(pk)
    if request.method != "POST":
        return redirect("monitoring:screening_version", pk=pk)
    form = ReviewNoteForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    try:
        if request.POST.get("action") == "approve":
            scenario_version_approve(version=version, approved_by=request.user, note=note)
            messages.success(request, f"{version.rule_name} is active; the version before it is retired.")
        else:
            scenario_version_reject(version=version, rejected_by=request.user, note=note)
            messages.success(request, f"{version.rule_name} was rejected; the active version stays.")
    except ApplicationError as error:
        messages.error(request, _refusal(error))
        form.add_service_errors(error)
        return _version_page(request, _scenario_version(pk), review_form=form, status=400)
    return redirect("monitoring:screening_version", pk=pk)


@role_required(*COMPLIANCE_ROLES)
def screening_test_run_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a test run of this version over a past period (POST): counts and precision, no alerts recorded."""
    version = _scenario_version(pk)
    if request.method != "POST":
        return redirect("monitoring:screening_version", pk=pk)
    form = ScreeningPeriodForm(request.POST)
    if form.is_valid():
        since, until = form.period()
        try:
            run = screening_run_request(
                kind=ScreeningRun.Kind.TEST,
                period_start=since,
                period_end=until,
                versions=[version],
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Test run {run.pk} was queued on the analytics workers.")
            return redirect("monitoring:screening_run", pk=run.pk)
    return _version_page(request, version, run_form=form, status=400)


@role_required(*COMPLIANCE_ROLES)
def screening_run_list(request: HttpRequest) -> HttpResponse:
    """Live and test runs, newest first, and the form that runs live screening now with the active versions."""
    first_day, last_day = default_screening_period()
    form = ScreeningPeriodForm(request.POST or None, initial={"first_day": first_day, "last_day": last_day})
    if request.method == "POST" and form.is_valid():
        since, until = form.period()
        try:
            run = screening_run_request(
                kind=ScreeningRun.Kind.LIVE,
                period_start=since,
                period_end=until,
                versions=active_versions(),
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Live run {run.pk} was queued on the analytics workers.")
            return redirect("monitoring:screening_run", pk=run.pk)
    runs = ScreeningRun.objects.select_related("requested_by").prefetch_related("versions__scenario")
    return render(
        request,
        "monitoring/screening/run_list.html",
        {"form": form, "runs": list(runs[:RUNS_SHOWN]), "active": active_versions()},
        status=400 if form.errors else 200,
    )


@role_required(*COMPLIANCE_ROLES)
def screening_run(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: its progress while a worker screens, then alerts, accounts and precision per rule."""
    run = get_object_or_404(ScreeningRun.objects.select_related("requested_by"), pk=pk)
    return render(
        request,
        "monitoring/screening/run_detail.html",
        {"run": run, "results": run.results or {}, "versions": list(run.versions.select_related("scenario"))},
    )


@role_required(*COMPLIANCE_ROLES)
def screening_run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the run page while a worker screens."""
    return job_progress_response(get_object_or_404(ScreeningRun, pk=pk))


@role_required(*COMPLIANCE_ROLES)
def screening_quality(request: HttpRequest) -> HttpResponse:
    """Detection quality per month: alerts per scenario, cases opened and closed by disposition, share confirmed."""
    quality = screening_detection_quality()
    bars = [Bar(f"{month.month:%Y-%m}", month.share_confirmed, "") for month in quality.months]
    chart = (
        bar_chart(
            title="Share of closed cases confirmed suspicious, per month",
            description="Confirmed over all cases closed in the month; n/a where none closed.",
            bars=bars,
            value_format=lambda value: f"{value:.0%}",
        )
        if any(bar.value is not None for bar in bars)
        else None
    )
    return render(request, "monitoring/screening/quality.html", {"quality": quality, "chart": chart})


@role_required(*MANAGER_ROLES, *COMPLIANCE_ROLES)
def screening_models(request: HttpRequest) -> HttpResponse:
    """Screening models in the registry: their held-out figures, and a form to train one on a worker.

    Promotion happens on the registry's version page, with four eyes, as for every model."""
    form = ScreeningModelForm(request.POST or None, label_sources=screening_label_sources())
    if request.method == "POST" and form.is_valid():
        try:
            version = screening_model_train_request(
                family=form.cleaned_data["family"],
                label_source=form.cleaned_data["label_source"],
                seed=form.cleaned_data["seed"],
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Screening model v{version.pk} is training on the analytics workers.")
            return redirect("monitoring:screening_models")
    return render(
        request,
        "monitoring/screening/models.html",
        {
            "form": form,
            "versions": screening_model_versions(),
            "may_open_registry": user_has_role(request.user, *MANAGER_ROLES),
        },
        status=400 if form.errors else 200,
    )


# --- exports (issue 18): each list's rows under the page's filters, streamed as CSV and audited -----------------

ALERT_EXPORT_COLUMNS = (
    ("alert", lambda alert: alert.pk),
    ("rule", lambda alert: alert.rule),
    ("subject", lambda alert: alert.subject),
    ("model_version", lambda alert: alert.model_version_id),
    ("severity", lambda alert: alert.severity),
    ("status", lambda alert: alert.status),
    ("summary", lambda alert: alert.summary),
    ("breaches", lambda alert: alert.breaches),
    ("first_breached_at", lambda alert: alert.first_breached_at),
    ("last_breached_at", lambda alert: alert.last_breached_at),
    ("acknowledged_by", lambda alert: alert.acknowledged_by),
    ("acknowledged_at", lambda alert: alert.acknowledged_at),
    ("acknowledgement_note", lambda alert: alert.acknowledgement_note),
    ("resolved_by", lambda alert: alert.resolved_by),
    ("resolved_at", lambda alert: alert.resolved_at),
    ("resolution_note", lambda alert: alert.resolution_note),
)


@role_required(*MANAGER_ROLES)
def alert_export(request: HttpRequest) -> HttpResponse:
    """The monitoring page's alerts as CSV: open and acknowledged ones, or those of one `status`; every one, where
    the page shows the latest 50."""
    status = request.GET.get("status", "")
    if status and status not in Alert.Status.values:
        return HttpResponse(
            f"status: must be one of {', '.join(Alert.Status.values)}, or empty for open alerts.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return queryset_csv_response(
        request=request, name="alerts", queryset=alert_list(status=status or None), columns=ALERT_EXPORT_COLUMNS
    )


SCREENING_CASE_EXPORT_HEADER = (
    "case",
    "account",
    "status",
    "awaiting_second_approval",
    "priority",
    "alerts",
    "typologies",
    "held_by",
    "opened_at",
)


def _screening_case_rows(cases: QuerySet[ScreeningCase]) -> Iterator[tuple[Any, ...]]:
    """One row per case; the typologies of each chunk of cases read in one query."""
    for chunk in in_chunks(queryset_stream(cases)):
        typologies = case_typologies(chunk)
        for case in chunk:
            yield (
                case.pk,
                case.account,
                case.status,
                case.awaiting_second_approval,
                case.priority,
                case.alert_count,
                "; ".join(typologies.get(case.pk, [])),
                case.assigned_to,
                case.created_at,
            )


@role_required(*COMPLIANCE_ROLES)
def screening_case_export(request: HttpRequest) -> HttpResponse:
    """The case queue under its filters, in its order (highest priority first), as CSV."""
    form = CaseFilterForm(request.GET or None, rules=screening_open_rules())
    filters = form.cleaned_data if form.is_valid() else {}
    cases = screening_case_queue(
        status=filters.get("status", ""),
        holder=request.user if filters.get("mine") else None,
        typology=filters.get("typology", ""),
        rule=filters.get("rule", ""),
        account=filters.get("account", ""),
    )
    return csv_export_response(
        request=request,
        name="screening_cases",
        header=SCREENING_CASE_EXPORT_HEADER,
        rows=_screening_case_rows(cases),
        row_count=cases.count(),
    )
