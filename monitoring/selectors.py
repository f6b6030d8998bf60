"""Reads for production monitoring: fairness over time across versions and stored reports, segment-proxy checks,
drift windows as a heat map, and alerts."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth

from analytics.fairness_reports.selectors import (
    Lowest,
    fairness_by_attribute,
    fairness_report_list,
    report_lowest_ratio,
)
from analytics.models import FairnessReport, ModelVersion
from clustering.models import ClusteringRun
from lending.models import Decision
from monitoring.models import Alert, CohortPerformance, MonitoringWindow, SegmentProxyCheck


@dataclass(frozen=True)
class FairnessOverTime:
    """Per version, oldest first: each monitored attribute's lowest adverse impact ratio."""

    attributes: list[str]
    rows: list[tuple[ModelVersion, list[float | None]]]


def fairness_over_time(*, product: str = "consumer_loan") -> FairnessOverTime:
    """How the lowest adverse impact ratio moved across the product's trained versions."""
    versions = list(
        ModelVersion.objects.filter(product=product)
        .exclude(status__in=(ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED))
        .order_by("created_at", "pk")
    )
    per_version = [(v, {a.attribute: a.lowest_ratio for a in fairness_by_attribute(v)}) for v in versions]
    attributes = sorted({name for _, lowest in per_version for name in lowest})
    return FairnessOverTime(attributes, [(v, [lowest.get(a) for a in attributes]) for v, lowest in per_version])


def fairness_report_trend(*, limit: int = 40) -> list[tuple[FairnessReport, Lowest | None]]:
    """The stored reports, oldest first, each with its lowest adverse impact ratio and interval."""
    reports = list(fairness_report_list().filter(status=FairnessReport.Status.DONE)[:limit])
    return [(report, report_lowest_ratio(report)) for report in reversed(reports)]


def segment_proxy_check_latest(*, run: ClusteringRun) -> SegmentProxyCheck | None:
    """The run's most recent proxy check, finished or not."""
    return run.proxy_checks.select_related("requested_by").first()


@dataclass(frozen=True)
class HeatCell:
    """One feature's PSI in one window, and how it stands against the thresholds it was judged by."""

    psi: float | None
    level: str  # "", "warning" or "critical"; "small" when the window was too small to judge


@dataclass(frozen=True)
class DriftHeatMap:
    """PSI per feature (rows, the score last) and window (columns, oldest first) for one version and period."""

    windows: list[MonitoringWindow]
    rows: list[tuple[str, list[HeatCell]]]


def _cell(window: MonitoringWindow, psi: float | None) -> HeatCell:
    thresholds = window.thresholds or {}
    if window.decisions < thresholds.get("min_window_decisions", 0):
        return HeatCell(psi, "small")
    if psi is not None and psi >= thresholds.get("psi_critical", float("inf")):
        return HeatCell(psi, "critical")
    if psi is not None and psi >= thresholds.get("psi_warning", float("inf")):
        return HeatCell(psi, "warning")
    return HeatCell(psi, "")


def drift_heat_map(*, version: ModelVersion, period: str, limit: int = 24) -> DriftHeatMap:
    """The version's latest `limit` windows of the period as a heat map of PSI, features as they were trained."""
    windows = list(version.monitoring_windows.filter(period=period).order_by("-starts_at")[:limit])[::-1]
    names = list((version.drift_reference or {}).get("features", {}))
    rows = [
        (name, [_cell(window, ((window.drift.get("features") or {}).get(name) or {}).get("psi")) for window in windows])
        for name in names
    ]
    rows.append(("score", [_cell(window, (window.drift.get("score") or {}).get("psi")) for window in windows]))
    return DriftHeatMap(windows=windows, rows=rows)


def monitoring_window_latest(*, version: ModelVersion, period: str) -> MonitoringWindow | None:
    """The version's most recent window of the period that held decisions."""
    return version.monitoring_windows.filter(period=period, decisions__gt=0).order_by("-starts_at").first()


def alert_list(*, status: str | None = None) -> QuerySet[Alert]:
    """Alerts, the latest breach first; open ones (open or acknowledged) unless a status is named."""
    alerts = Alert.objects.select_related("model_version", "acknowledged_by", "resolved_by")
    if status:
        return alerts.filter(status=status)
    return alerts.exclude(status=Alert.Status.RESOLVED)


@dataclass(frozen=True)
class VintageTable:
    """Cumulative default rate by cohort (rows, oldest first) and months on book (columns)."""

    months: list[int]
    rows: list[tuple[CohortPerformance, list[float | None]]]


def cohort_performance_list(*, version: ModelVersion) -> list[CohortPerformance]:
    """The version's cohorts, oldest first, with their realised and estimated figures, each with `decisions` (the
    month's primary decisions) and `coverage` (the share of them that became loans): realised performance is
    measured on approved, funded applicants only, never on those declined, whose outcomes are never observed."""
    cohorts = list(version.cohort_performances.order_by("cohort"))
    by_month = dict(
        Decision.objects.filter(model_version=version, is_shadow=False)
        .annotate(month=TruncMonth("decided_at"))
        .values("month")
        .annotate(decisions=Count("pk"))
        .values_list("month", "decisions")
    )
    decided = {month.date().replace(day=1): count for month, count in by_month.items()}
    for cohort in cohorts:
        cohort.decisions = decided.get(cohort.cohort, 0)
        cohort.coverage = cohort.loans / cohort.decisions if cohort.decisions else None
    return cohorts


def vintage_table(cohorts: list[CohortPerformance]) -> VintageTable:
    """The cohorts' vintage curves side by side; a month past a cohort's maturity is left empty."""
    longest = max((len(cohort.vintage.get("all") or []) for cohort in cohorts), default=0)
    rows = []
    for cohort in cohorts:
        rates = [point["cumulative_default_rate"] for point in cohort.vintage.get("all") or []]
        rows.append((cohort, rates + [None] * (longest - len(rates))))
    return VintageTable(months=list(range(1, longest + 1)), rows=rows)


@dataclass(frozen=True)
class WindowGroupCell:
    """One group's adverse impact ratio in one window, with its interval; `alarm` when the whole interval lies
    below the four-fifths line, `small` when the group is too small to judge."""

    ratio: float | None
    low: float | None
    high: float | None
    applicants: int
    small: bool
    alarm: bool


@dataclass(frozen=True)
class FairnessWindows:
    """Live decisions' fairness over time: groups (rows, "attribute: group") by window (columns, oldest first)."""

    windows: list[MonitoringWindow]
    rows: list[tuple[str, list[WindowGroupCell | None]]]
    share_with_outcome: float | None


def fairness_windows(*, version: ModelVersion, period: str = "month", limit: int = 12) -> FairnessWindows:
    """The version's latest windows of the period with fairness measured, each group's ratio and interval."""
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    windows = list(version.monitoring_windows.filter(period=period).exclude(fairness={}).order_by("-starts_at")[:limit])
    windows.reverse()
    cells: dict[str, dict[int, WindowGroupCell]] = {}
    for window in windows:
        for attribute in window.fairness.get("attributes") or []:
            for group in attribute.get("groups") or []:
                ratio = group.get("adverse_impact_ratio_vs_most_favoured") or {}
                low, high = (ratio.get("ci") or [None, None])[:2]
                small = bool(group.get("small_group"))
                cells.setdefault(f"{attribute['name']}: {group['label']}", {})[window.pk] = WindowGroupCell(
                    ratio=ratio.get("value"),
                    low=low,
                    high=high,
                    applicants=int(group.get("applicants") or 0),
                    small=small,
                    alarm=not small and high is not None and high < threshold,
                )
    rows = [(name, [by_window.get(window.pk) for window in windows]) for name, by_window in sorted(cells.items())]
    latest = windows[-1].fairness.get("reject_inference", {}) if windows else {}
    return FairnessWindows(windows=windows, rows=rows, share_with_outcome=latest.get("share_with_outcome"))


def monitored_versions() -> list[ModelVersion]:
    """The versions the scheduled run measures (champions) or has measured, champions first."""
    champion_first = Case(When(status=ModelVersion.Status.CHAMPION, then=Value(0)), default=Value(1))
    return list(
        ModelVersion.objects.filter(Q(status=ModelVersion.Status.CHAMPION) | Q(monitoring_windows__isnull=False))
        .distinct()
        .order_by(champion_first, "-pk")
    )
