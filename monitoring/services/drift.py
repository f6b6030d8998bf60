"""Drift of live decisions, window by window, on the bins each model version fixed at training; and the
scheduled run that measures drift and then performance from outcomes (`monitoring.services.performance`).

The scheduled run (`monitoring_run`, Celery beat) measures every complete day, week and month of each
champion's primary decisions that has not been measured yet, oldest first, so a worker that was down
for a week catches up in order and a window is never measured twice. Each window stores PSI, Jensen-
Shannon, KS and Wasserstein per feature and for the score (the engine's `drift_compute`, against the
version's stored `drift_reference`), and the approval, referral and override rates with the mix of
reason codes. Windows too small to judge (`MONITORING_MIN_WINDOW_DECISIONS`) are stored but raise
nothing: a PSI over a handful of rows is noise.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from analytics.engine.drift import (
    CategoricalReference,
    DriftReference,
    NumericReference,
    drift_compute,
    population_stability_index,
)
from analytics.engine.fairness.headline import report_group_ratios
from analytics.models import ModelVersion
from finai.bulk import queryset_frame
from lending.models import Decision, Override
from monitoring.models import Alert, CohortPerformance, MonitoringWindow
from monitoring.services.alerts import AlertBreach, alert_breach_record
from monitoring.services.fairness import version_window_fairness
from monitoring.services.performance import performance_run

logger = logging.getLogger(__name__)

Period = MonitoringWindow.Period
# Fairness needs groups large enough to judge: weeks and months, not days.
FAIRNESS_PERIODS = (Period.WEEK, Period.MONTH)
# Reason codes counted over a window's decisions ({decisions}: Django's own query, its values passed as parameters).
REASON_COUNTS_SQL = (
    "SELECT reason ->> 'code', count(*) FROM ({decisions}) AS window_decisions, "
    "jsonb_array_elements(window_decisions.reasons) AS reason GROUP BY 1"
)


@dataclass(frozen=True)
class DriftThresholds:
    """The levels a window is judged by (settings, recorded with every window)."""

    psi_warning: float
    psi_critical: float
    approval_rate_shift: float
    min_window_decisions: int

    @classmethod
    def from_settings(cls) -> DriftThresholds:
        return cls(
            psi_warning=settings.MONITORING_PSI_WARNING,
            psi_critical=settings.MONITORING_PSI_CRITICAL,
            approval_rate_shift=settings.MONITORING_APPROVAL_RATE_SHIFT,
            min_window_decisions=settings.MONITORING_MIN_WINDOW_DECISIONS,
        )

    def as_dict(self) -> dict[str, float | int]:
        return {
            "psi_warning": self.psi_warning,
            "psi_critical": self.psi_critical,
            "approval_rate_shift": self.approval_rate_shift,
            "min_window_decisions": self.min_window_decisions,
        }


@dataclass
class MonitoringRunSummary:
    """What one scheduled run measured and raised."""

    windows: list[MonitoringWindow] = field(default_factory=list)
    performances: list[CohortPerformance] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def period_start(moment: dt.datetime, period: str) -> dt.datetime:
    """The start of the day, ISO week (Monday) or calendar month holding `moment`, in the site's time zone."""
    local = timezone.localtime(moment)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.WEEK:
        start -= dt.timedelta(days=start.weekday())
    elif period == Period.MONTH:
        start = start.replace(day=1)
    return start


def period_next(start: dt.datetime, period: str) -> dt.datetime:
    """The start of the window after the one starting at `start` (calendar months have their own lengths)."""
    if period == Period.DAY:
        following = start.date() + dt.timedelta(days=1)
    elif period == Period.WEEK:
        following = start.date() + dt.timedelta(days=7)
    else:
        following = (start.date().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return timezone.make_aware(dt.datetime.combine(following, dt.time.min), start.tzinfo)


def _windows_due(*, version: ModelVersion, period: str, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The complete windows of the version's primary decisions that are not measured yet, oldest first."""
    decided = Decision.objects.filter(model_version=version, is_shadow=False)
    last = version.monitoring_windows.filter(period=period).order_by("-starts_at").first()
    if last is not None:
        start = period_next(timezone.localtime(last.starts_at), period)
    else:
        first = decided.order_by("decided_at").values_list("decided_at", flat=True).first()
        if first is None:
            return []
        start = period_start(first, period)
    current = period_start(now, period)
    due = []
    while start < current:
        end = period_next(start, period)
        due.append((start, end))
        start = end
    return due


@dataclass(frozen=True)
class WindowRows:
    """A window's primary decisions: model inputs, probabilities of default, outcomes; reason codes counted."""

    features: pd.DataFrame
    probabilities: np.ndarray
    outcomes: pd.Series
    reason_counts: dict[str, int]
    overridden: int


def _window_rows(
    *, version: ModelVersion, reference: DriftReference, starts_at: dt.datetime, ends_at: dt.datetime
) -> WindowRows:
    """Read the window's decisions in bulk: each reference feature straight out of the stored vector (a
    missing key reads as missing), the reason codes counted in the database."""
    decisions = Decision.objects.filter(
        model_version=version, is_shadow=False, decided_at__gte=starts_at, decided_at__lt=ends_at
    )
    names = list(reference.features)
    aliases = {f"feature_{position}": KeyTextTransform(name, "feature_vector") for position, name in enumerate(names)}
    frame = queryset_frame(
        decisions.annotate(**aliases).values_list(*aliases, "probability_of_default", "outcome"),
        columns=[*names, "probability_of_default", "outcome"],
        text_columns=frozenset(
            name for name, feature in reference.features.items() if isinstance(feature, CategoricalReference)
        ),
    )
    return WindowRows(
        features=frame[names],
        probabilities=frame["probability_of_default"].to_numpy(dtype=np.float64, na_value=np.nan),
        outcomes=frame["outcome"],
        reason_counts=_reason_counts(decisions),
        overridden=Override.objects.acted_on().filter(decision__in=decisions).values("decision_id").distinct().count(),
    )


def _reason_counts(decisions: QuerySet[Decision]) -> dict[str, int]:
    """How often each reason code was given in the window (Postgres counts them without reading the lists)."""
    if connection.vendor == "postgresql":
        sql, params = decisions.values("reasons").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(REASON_COUNTS_SQL.format(decisions=sql), params)
            return {code: count for code, count in cursor.fetchall() if code}
    counted: Counter[str] = Counter()
    for listed in decisions.values_list("reasons", flat=True):
        counted.update(reason["code"] for reason in listed or [] if reason.get("code"))
    return dict(counted)


def _reference_rates(reference: DriftReference, version: ModelVersion) -> dict[str, float] | None:
    """Approval and referral rates at training, from the score's stored sample (a quantile sketch of every
    training score, within 1/2,000 of the full distribution) under the version's decision policy."""
    score = reference.score
    if not isinstance(score, NumericReference) or not len(score.sample_values):
        return None
    policy = version.policy
    weights = score.sample_counts / score.sample_counts.sum()
    approve = float(weights[score.sample_values < policy.approve_below].sum())
    decline = float(weights[score.sample_values >= policy.decline_from].sum())
    return {"approval": approve, "referral": 1.0 - approve - decline}


def _rates(rows: WindowRows, previous: MonitoringWindow | None) -> dict[str, Any]:
    """Approval, referral and override rates and the reason-code mix (shares of all listed reasons), with
    the mix's PSI against the previous window of the same period."""
    total = len(rows.outcomes)
    counted = rows.outcomes.value_counts().to_dict()
    listed = sum(rows.reason_counts.values())
    mix = {code: count / listed for code, count in sorted(rows.reason_counts.items())} if listed else {}
    rates: dict[str, Any] = {
        "approval": counted.get(Decision.Outcome.APPROVE, 0) / total if total else None,
        "referral": counted.get(Decision.Outcome.REFER, 0) / total if total else None,
        "decline": counted.get(Decision.Outcome.DECLINE, 0) / total if total else None,
        "override": rows.overridden / total if total else None,
        "reason_mix": mix,
        "reasons_listed": listed,
        "reason_mix_psi": None,
    }
    before = (previous.rates or {}) if previous is not None else {}
    if mix and before.get("reason_mix") and before.get("reasons_listed"):
        names = sorted(set(mix) | set(before["reason_mix"]))
        rates["reason_mix_psi"] = population_stability_index(
            [before["reason_mix"].get(name, 0) * before["reasons_listed"] for name in names],
            [mix.get(name, 0) * listed for name in names],
        )
    return rates


def monitoring_window_measure(
    *, version: ModelVersion, period: str, starts_at: dt.datetime, ends_at: dt.datetime, thresholds: DriftThresholds
) -> tuple[MonitoringWindow, bool]:
    """Measure one window of the version's primary decisions against its training reference and store it.

    Idempotent: a window already measured (a redelivered task, two runs on two workers at once) is returned as
    it is, with False: only the run that stored a window judges it, so a breach is never counted twice.
    """
    existing = MonitoringWindow.objects.filter(model_version=version, period=period, starts_at=starts_at).first()
    if existing is not None:
        return existing, False
    reference = DriftReference.from_dict(version.drift_reference)
    rows = _window_rows(version=version, reference=reference, starts_at=starts_at, ends_at=ends_at)
    drift: dict[str, Any] = {}
    if len(rows.outcomes):
        drift = drift_compute(reference=reference, features=rows.features, scores=rows.probabilities).as_dict()
    previous = version.monitoring_windows.filter(period=period, starts_at__lt=starts_at).order_by("-starts_at").first()
    rates = _rates(rows, previous)
    fairness: dict[str, Any] = {}
    if period in FAIRNESS_PERIODS and len(rows.outcomes):
        fairness = version_window_fairness(
            version=version, starts_at=starts_at, ends_at=ends_at, as_of=timezone.localdate()
        )
    rates["reference"] = _reference_rates(reference, version)
    try:
        with transaction.atomic():
            window = MonitoringWindow.objects.create(
                model_version=version,
                period=period,
                starts_at=starts_at,
                ends_at=ends_at,
                decisions=len(rows.outcomes),
                drift=drift,
                rates=rates,
                fairness=fairness,
                thresholds=thresholds.as_dict(),
            )
    except IntegrityError:  # another run measured it meanwhile
        return MonitoringWindow.objects.get(model_version=version, period=period, starts_at=starts_at), False
    return window, True


def _severity(psi: float, thresholds: DriftThresholds) -> str:
    return Alert.Severity.CRITICAL if psi >= thresholds.psi_critical else Alert.Severity.WARNING


def _window_label(window: MonitoringWindow) -> str:
    return f"{window.get_period_display().lower()} window from {timezone.localtime(window.starts_at):%Y-%m-%d}"


def window_breaches(window: MonitoringWindow, thresholds: DriftThresholds) -> list[AlertBreach]:
    """The rules a measured window breaks: a feature's or the score's PSI at or over the warning level,
    an approval rate further from the training rate than allowed. None for a window too small to judge."""
    if window.decisions < thresholds.min_window_decisions:
        return []
    version = window.model_version
    where = f"{version.product} v{version.pk}"
    measured = {"window_id": window.pk, "period": window.period, "starts_at": window.starts_at.isoformat()}
    breaches = []
    for name, drift in (window.drift.get("features") or {}).items():
        psi = drift.get("psi")
        if psi is not None and psi >= thresholds.psi_warning:
            breaches.append(
                AlertBreach(
                    rule=Alert.Rule.FEATURE_DRIFT,
                    subject=f"{where} {name}",
                    severity=_severity(psi, thresholds),
                    summary=f"{name}: PSI {psi:.3f} in the {_window_label(window)} (warning at "
                    f"{thresholds.psi_warning:g}, critical at {thresholds.psi_critical:g})",
                    measurement={**measured, "feature": name, "psi": psi},
                    model_version=version,
                )
            )
    score_psi = (window.drift.get("score") or {}).get("psi")
    if score_psi is not None and score_psi >= thresholds.psi_warning:
        breaches.append(
            AlertBreach(
                rule=Alert.Rule.SCORE_DRIFT,
                subject=f"{where} score",
                severity=_severity(score_psi, thresholds),
                summary=f"Score distribution: PSI {score_psi:.3f} in the {_window_label(window)}",
                measurement={**measured, "psi": score_psi},
                model_version=version,
            )
        )
    approval, reference = window.rates.get("approval"), (window.rates.get("reference") or {}).get("approval")
    if approval is not None and reference is not None and abs(approval - reference) > thresholds.approval_rate_shift:
        breaches.append(
            AlertBreach(
                rule=Alert.Rule.APPROVAL_RATE_SHIFT,
                subject=f"{where} approval rate",
                severity=Alert.Severity.WARNING,
                summary=f"Approval rate {approval:.1%} in the {_window_label(window)} against {reference:.1%} at "
                f"training (allowed shift {thresholds.approval_rate_shift:.0%})",
                measurement={**measured, "approval": approval, "reference": reference},
                model_version=version,
            )
        )
    return breaches


def fairness_breaches(window: MonitoringWindow) -> list[AlertBreach]:
    """Groups whose adverse impact ratio's whole interval lies below the four-fifths line: not a point estimate,
    which a small group can push either way. Groups too small to judge never alarm."""
    version = window.model_version
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    breaches = []
    for ratio in report_group_ratios(window.fairness or {}):
        high = ratio.ratio.high
        if ratio.small_group or high is None or high >= threshold:
            continue
        breaches.append(
            AlertBreach(
                rule=Alert.Rule.FAIRNESS_RATIO,
                subject=f"{version.product} v{version.pk} {ratio.attribute} {ratio.group}",
                severity=Alert.Severity.CRITICAL,
                summary=f"{ratio.attribute} {ratio.group}: adverse impact ratio {ratio.ratio.value:.2f} "
                f"[{ratio.ratio.low:.2f}, {high:.2f}] in the {_window_label(window)}, wholly below {threshold:g}",
                measurement={
                    "window_id": window.pk,
                    "period": window.period,
                    "starts_at": window.starts_at.isoformat(),
                    "attribute": ratio.attribute,
                    "group": ratio.group,
                    "ratio": ratio.ratio.value,
                    "low": ratio.ratio.low,
                    "high": high,
                },
                model_version=version,
            )
        )
    return breaches


def monitoring_run(*, now: dt.datetime | None = None, periods: tuple[str, ...] | None = None) -> MonitoringRunSummary:
    """Measure every complete, unmeasured window of each champion's decisions, then each champion's cohorts
    from their repayment outcomes, and raise what breaches.

    Versions without a stored drift reference (trained before references existed) are skipped with a log
    line: they cannot be compared on bins they never fixed.
    """
    now = now or timezone.now()
    periods = periods or tuple(settings.MONITORING_PERIODS)
    thresholds = DriftThresholds.from_settings()
    summary = MonitoringRunSummary()
    for version in ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).order_by("product"):
        if not version.drift_reference:
            logger.info("model version %s has no drift reference; its drift is not monitored", version.pk)
            continue
        for period in periods:
            for starts_at, ends_at in _windows_due(version=version, period=period, now=now):
                window, created = monitoring_window_measure(
                    version=version, period=period, starts_at=starts_at, ends_at=ends_at, thresholds=thresholds
                )
                if not created:
                    continue
                summary.windows.append(window)
                for breach in [*window_breaches(window, thresholds), *fairness_breaches(window)]:
                    summary.alerts.append(alert_breach_record(breach=breach))
    summary.performances, alerts = performance_run(as_of=timezone.localdate(now))
    summary.alerts += alerts
    return summary
