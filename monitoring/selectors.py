"""Reads for production monitoring: fairness over time across versions and stored reports, segment-proxy checks,
drift windows as a heat map, and alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Count, DecimalField, F, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from analytics.engine.screening.scenarios import PARAMETERS
from analytics.fairness_reports.selectors import (
    Lowest,
    fairness_by_attribute,
    fairness_report_list,
    report_lowest_ratio,
)
from analytics.models import SCREENING_PRODUCT, FairnessReport, ModelVersion
from clustering.models import ClusteringRun
from finai.models import AuditEvent
from lending.models import Decision
from monitoring.models import (
    AccountLabel,
    Alert,
    CohortPerformance,
    MonitoringWindow,
    ScenarioVersion,
    ScreenedTransaction,
    ScreeningAlert,
    ScreeningCase,
    ScreeningScenario,
    SegmentProxyCheck,
)


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


# --- transaction screening (issue 17): the case queue, a case's evidence, scenarios, detection quality -----------

SCREENING_OPEN = (ScreeningCase.Status.PENDING, ScreeningCase.Status.INVESTIGATING)
CASH = "cash"  # a booking without a counterparty account
CASE_EVENTS = {
    "screening.case_opened": "Opened by a live run",
    "screening.case_assigned": "Taken",
    "screening.case_released": "Released to the queue",
    "screening.case_noted": "Note added",
    "screening.case_narrative_saved": "Narrative saved",
    "screening.case_closed": "Closed",
    "screening.case_close_requested": "Confirmed close requested",
    "screening.case_close_approved": "Confirmation approved (second officer): closed as confirmed",
    "screening.case_close_rejected": "Confirmation sent back (second officer)",
    "screening.case_sar_exported": "SAR exported",
}


def screening_case_queue(
    *, status: str = "", holder: object = None, typology: str = "", rule: str = "", account: str = ""
) -> QuerySet[ScreeningCase]:
    """Open cases, highest priority first, with their alert count; `status` "awaiting" means a confirmation
    waits for a second officer."""
    cases = ScreeningCase.objects.filter(status__in=SCREENING_OPEN).select_related("assigned_to", "close_requested_by")
    if status == "awaiting":
        cases = cases.filter(close_requested_by__isnull=False)
    elif status:
        cases = cases.filter(status=status)
    if holder is not None:
        cases = cases.filter(assigned_to=holder)
    if typology:
        cases = cases.filter(pk__in=ScreeningAlert.objects.filter(typology=typology).values("case_id"))
    if rule:
        cases = cases.filter(pk__in=ScreeningAlert.objects.filter(rule=rule).values("case_id"))
    if account:
        cases = cases.filter(account__icontains=account.strip())
    return cases.annotate(alert_count=Count("alerts")).order_by("-priority", "created_at", "pk")


def screening_queue_counts() -> dict[str, int]:
    """The queue's headline: pending, investigating, awaiting a second officer, closed in the last 30 days."""
    month_ago = timezone.now() - dt.timedelta(days=30)
    return ScreeningCase.objects.aggregate(
        pending=Count("pk", filter=Q(status=ScreeningCase.Status.PENDING)),
        investigating=Count("pk", filter=Q(status=ScreeningCase.Status.INVESTIGATING)),
        awaiting=Count("pk", filter=Q(status=ScreeningCase.Status.INVESTIGATING, close_requested_by__isnull=False)),
        closed_recently=Count("pk", filter=Q(status=ScreeningCase.Status.CLOSED, closed_at__gte=month_ago)),
    )


def screening_open_rules() -> list[str]:
    """The rules that raised the alerts of open cases, for the queue's filter."""
    return list(
        ScreeningAlert.objects.filter(case__status__in=SCREENING_OPEN)
        .order_by("rule")
        .values_list("rule", flat=True)
        .distinct()
    )


def case_typologies(cases: Iterable[ScreeningCase]) -> dict[int, list[str]]:
    """Each case's distinct typologies, for one page of the queue."""
    typologies: dict[int, list[str]] = {}
    rows = ScreeningAlert.objects.filter(case__in=list(cases)).order_by("typology").values_list("case_id", "typology")
    for case_id, typology in rows.distinct():
        typologies.setdefault(case_id, []).append(typology)
    return typologies


def alert_bookings(alerts: Iterable[ScreeningAlert]) -> dict[int, list[ScreenedTransaction]]:
    """Each alert's triggering bookings (its `transaction_ids`), in time order."""
    alerts = list(alerts)
    ids = {identifier for alert in alerts for identifier in alert.transaction_ids}
    bookings = ScreenedTransaction.objects.in_bulk(ids)
    return {
        alert.pk: sorted(
            (bookings[identifier] for identifier in alert.transaction_ids if identifier in bookings),
            key=lambda booking: (booking.booked_at, booking.pk),
        )
        for alert in alerts
    }


def alerts_span(alerts: Iterable[ScreeningAlert]) -> tuple[dt.datetime, dt.datetime] | None:
    """From the first alert window's start to the last one's end: the evidence an investigator reads."""
    alerts = list(alerts)
    if not alerts:
        return None
    return min(alert.window_start for alert in alerts), max(alert.window_end for alert in alerts)


def account_bookings(*, account: str, since: dt.datetime, until: dt.datetime) -> QuerySet[ScreenedTransaction]:
    """The account's bookings in [since, until], oldest first."""
    return ScreenedTransaction.objects.filter(account=account, booked_at__gte=since, booked_at__lte=until).order_by(
        "booked_at", "pk"
    )


@dataclass(frozen=True)
class CounterpartyFlow:
    """What the account sent to and received from one counterparty (cash counts as one) over a span."""

    counterparty: str
    sent: Decimal
    received: Decimal
    bookings: int

    @property
    def total(self) -> Decimal:
        return self.sent + self.received


@dataclass(frozen=True)
class Neighbourhood:
    """The account's one-hop counterparties, the largest by amount first, capped; `others` were left out."""

    flows: list[CounterpartyFlow]
    others: int


def counterparty_neighbourhood(*, account: str, since: dt.datetime, until: dt.datetime, top: int = 10) -> Neighbourhood:
    """Amounts sent and received per counterparty over [since, until], the `top` largest by total amount."""
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))
    rows = (
        account_bookings(account=account, since=since, until=until)
        .order_by()
        .values("counterparty")
        .annotate(
            sent=Coalesce(Sum("amount", filter=Q(direction=ScreenedTransaction.Direction.OUT)), zero),
            received=Coalesce(Sum("amount", filter=Q(direction=ScreenedTransaction.Direction.IN)), zero),
            bookings=Count("pk"),
        )
    )
    flows = sorted(
        (CounterpartyFlow(row["counterparty"] or CASH, row["sent"], row["received"], row["bookings"]) for row in rows),
        key=lambda flow: (-flow.total, flow.counterparty),
    )
    return Neighbourhood(flows=flows[:top], others=max(len(flows) - top, 0))


def balance_series(*, account: str, since: dt.datetime, until: dt.datetime) -> list[tuple[dt.date, Decimal]]:
    """The running net flow (in minus out) at the end of each day with bookings, from zero at `since`: the
    account's balance as far as these bookings tell (its opening balance is not known)."""
    signed = Case(
        When(direction=ScreenedTransaction.Direction.IN, then=F("amount")),
        default=-F("amount"),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )
    daily = (
        account_bookings(account=account, since=since, until=until)
        .order_by()
        .annotate(day=TruncDate("booked_at"))
        .values("day")
        .annotate(net=Sum(signed))
        .order_by("day")
        .values_list("day", "net")
    )
    series, balance = [], Decimal("0")
    for day, net in daily:
        balance += net
        series.append((day, balance))
    return series


@dataclass(frozen=True)
class TimelineEntry:
    """One audited step of a case: when, who, what, and the words that went with it."""

    occurred_at: dt.datetime
    actor: str
    action: str
    what: str
    detail: str


def case_audit_trail(case: ScreeningCase) -> list[TimelineEntry]:
    """The case's audit events, oldest first, in words."""
    events = AuditEvent.objects.filter(object_type="screening_case", object_id=str(case.pk)).order_by("sequence")
    entries = []
    for event in events:
        payload = event.payload or {}
        detail = [
            f"to {payload['assignee']}" if payload.get("assignee") else "",
            ScreeningCase.Disposition(payload["disposition"]).label if payload.get("disposition") else "",
            f"{payload['format'].upper()}{' draft' if payload.get('draft') else ''}" if payload.get("format") else "",
            payload.get("text") or (payload["note"] if isinstance(payload.get("note"), str) else ""),
        ]
        entries.append(
            TimelineEntry(
                occurred_at=event.occurred_at,
                actor=event.actor_label,
                action=event.action,
                what=CASE_EVENTS.get(event.action, event.action),
                detail=" · ".join(part for part in detail if part),
            )
        )
    return entries


@dataclass(frozen=True)
class ScenarioOverview:
    scenario: ScreeningScenario
    active: ScenarioVersion | None
    pending: ScenarioVersion | None


def screening_scenario_overview() -> list[ScenarioOverview]:
    """Every scenario with its active version and its pending change, if any."""
    scenarios = list(ScreeningScenario.objects.order_by("name"))
    versions = ScenarioVersion.objects.filter(
        status__in=(ScenarioVersion.Status.ACTIVE, ScenarioVersion.Status.PENDING)
    ).select_related("proposed_by")
    by_scenario: dict[tuple[int, str], ScenarioVersion] = {(v.scenario_id, v.status): v for v in versions}
    return [
        ScenarioOverview(
            scenario,
            by_scenario.get((scenario.pk, ScenarioVersion.Status.ACTIVE)),
            by_scenario.get((scenario.pk, ScenarioVersion.Status.PENDING)),
        )
        for scenario in scenarios
    ]


@dataclass(frozen=True)
class ParameterChange:
    name: str
    before: object
    after: object

    @property
    def changed(self) -> bool:
        return self.before != self.after


def scenario_version_diff(version: ScenarioVersion) -> tuple[ScenarioVersion | None, list[ParameterChange]]:
    """A version against its scenario's active one (itself when it is active): each parameter and `enabled`."""
    active = version.scenario.versions.filter(status=ScenarioVersion.Status.ACTIVE).first()
    before = active if active is not None and active.pk != version.pk else None
    old = before.parameters if before else {}
    engine_order = [parameter.name for parameter in fields(PARAMETERS[version.scenario.typology])]
    stored = [*version.parameters, *old]
    names = [name for name in engine_order if name in stored] + [
        name for name in dict.fromkeys(stored) if name not in engine_order
    ]
    changes = [ParameterChange(name, old.get(name), version.parameters.get(name)) for name in names]
    changes.append(ParameterChange("enabled", before.enabled if before else None, version.enabled))
    return before, changes


def default_screening_period() -> tuple[dt.date, dt.date]:
    """The last 30 days (first, last included) that hold bookings and have ended: a test run's default."""
    today = timezone.now().astimezone(dt.UTC).date()
    latest = ScreenedTransaction.objects.aggregate(latest=Max("booked_at"))["latest"]
    end = min(latest.astimezone(dt.UTC).date() + dt.timedelta(days=1), today) if latest else today
    return end - dt.timedelta(days=30), end - dt.timedelta(days=1)


@dataclass(frozen=True)
class QualityMonth:
    """One month of detection: alerts raised per scenario (in `DetectionQuality.rules`' order), cases opened,
    cases closed per disposition."""

    month: dt.date
    alerts: list[int]
    opened: int
    closed: dict[str, int]

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())

    @property
    def share_confirmed(self) -> float | None:
        total = self.closed_total
        return self.closed.get(ScreeningCase.Disposition.CONFIRMED, 0) / total if total else None


@dataclass(frozen=True)
class DetectionQuality:
    rules: list[str]
    months: list[QualityMonth]


def _month(moment: dt.datetime | dt.date) -> dt.date:
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return day.replace(day=1)


def screening_detection_quality(*, months: int = 24) -> DetectionQuality:
    """Per month (the latest `months` with activity, oldest first): alerts raised per scenario (versions of a
    scenario together, so a threshold change shows as a step in one column), cases opened, cases closed by
    disposition and the share confirmed."""
    alerts = (
        ScreeningAlert.objects.annotate(
            month=TruncMonth("created_at"), name=Coalesce("scenario_version__scenario__name", "rule")
        )
        .values("month", "name")
        .annotate(count=Count("pk"))
        .values_list("month", "name", "count")
    )
    opened = (
        ScreeningCase.objects.annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
    )
    closed = (
        ScreeningCase.objects.filter(status=ScreeningCase.Status.CLOSED)
        .annotate(month=TruncMonth("closed_at"))
        .values("month", "disposition")
        .annotate(count=Count("pk"))
        .values_list("month", "disposition", "count")
    )
    by_month: dict[dt.date, dict] = {}

    def month_of(moment: dt.datetime | dt.date) -> dict:
        return by_month.setdefault(_month(moment), {"alerts": {}, "opened": 0, "closed": {}})

    for moment, name, count in alerts:
        month_of(moment)["alerts"][name] = count
    for moment, count in opened:
        month_of(moment)["opened"] = count
    for moment, disposition, count in closed:
        month_of(moment)["closed"][disposition] = count
    latest = sorted(by_month)[-months:]
    rules = sorted({name for month in latest for name in by_month[month]["alerts"]})
    return DetectionQuality(
        rules=rules,
        months=[
            QualityMonth(
                month,
                alerts=[by_month[month]["alerts"].get(rule, 0) for rule in rules],
                opened=by_month[month]["opened"],
                closed=by_month[month]["closed"],
            )
            for month in latest
        ],
    )


def screening_label_sources() -> list[str]:
    """The data sets whose account labels are loaded, for training and measuring screening models."""
    return list(AccountLabel.objects.order_by("source").values_list("source", flat=True).distinct())


def screening_model_versions() -> list[ModelVersion]:
    """Screening models in the registry, newest first."""
    versions = ModelVersion.objects.filter(product=SCREENING_PRODUCT).select_related("trained_by")
    return list(versions.order_by("-created_at", "-pk"))
