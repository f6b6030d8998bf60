"""The scheduled monitoring run over a synthetic stream of 12 monthly cohorts: a planted shift in one feature
from month 7 raises that feature's drift alert in the run after month 7 and nothing else; without the shift,
12 months raise nothing. Windows are measured once each, oldest first, on the version's stored bins."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from analytics.engine.drift import DriftReference, drift_compute
from finai.models import AuditEvent
from monitoring.models import Alert, MonitoringWindow
from monitoring.services.drift import (
    DriftThresholds,
    monitoring_run,
    monitoring_window_measure,
    period_next,
    period_start,
)
from tests.monitoring.drift_stream import (
    SHIFT_FROM_MONTH,
    SHIFTED_FEATURE,
    month_start,
    stream_champion,
    stream_month_decide,
)

FIRST_MONTH = dt.date(2025, 1, 1)


def _month_by_month(*, shifted: bool) -> list[list[tuple[str, str]]]:
    """Decide each of 12 months, then run monitoring as of the next month's start; the open alerts after each."""
    version = stream_champion()
    rng = np.random.default_rng(7)
    open_after = []
    for month in range(1, 13):
        stream_month_decide(version=version, first=FIRST_MONTH, month=month, shifted=shifted, rng=rng)
        monitoring_run(now=month_start(FIRST_MONTH, month) + dt.timedelta(hours=1))
        open_after.append(sorted(Alert.objects.exclude(status=Alert.Status.RESOLVED).values_list("rule", "subject")))
    return open_after


@pytest.mark.django_db
def test_a_shift_planted_from_month_7_raises_only_that_features_drift_alert_in_the_run_after_month_7() -> None:
    open_after = _month_by_month(shifted=True)

    assert open_after[: SHIFT_FROM_MONTH - 1] == [[]] * (SHIFT_FROM_MONTH - 1)
    [(rule, subject)] = open_after[SHIFT_FROM_MONTH - 1]
    assert rule == Alert.Rule.FEATURE_DRIFT
    assert subject.endswith(f" {SHIFTED_FEATURE}")
    assert all(alerts == [(rule, subject)] for alerts in open_after[SHIFT_FROM_MONTH - 1 :])


@pytest.mark.django_db
def test_the_same_stream_without_the_shift_raises_no_alert_in_12_months() -> None:
    open_after = _month_by_month(shifted=False)

    assert open_after == [[]] * 12
    assert MonitoringWindow.objects.filter(period="month").count() == 12


@pytest.mark.django_db
def test_later_breaches_add_to_the_open_alert_instead_of_opening_another() -> None:
    _month_by_month(shifted=True)

    [alert] = Alert.objects.all()
    assert alert.breaches == 12 - SHIFT_FROM_MONTH + 1
    assert alert.latest["starts_at"] == month_start(FIRST_MONTH, 11).isoformat()
    assert AuditEvent.objects.filter(action="alert.opened").count() == 1


@pytest.mark.django_db
def test_a_window_is_measured_once_and_stores_the_engines_drift_on_the_stored_bins() -> None:
    version = stream_champion()
    rng = np.random.default_rng(3)
    stream_month_decide(version=version, first=FIRST_MONTH, month=1, shifted=False, rng=rng)
    as_of = month_start(FIRST_MONTH, 1) + dt.timedelta(days=2)

    first = monitoring_run(now=as_of)
    again = monitoring_run(now=as_of)

    months = [window for window in first.windows if window.period == "month"]
    assert len(months) == 1
    assert [window for window in again.windows if window.period == "month"] == []
    [window] = months
    rows = list(version.decisions.values_list("feature_vector", "probability_of_default"))
    expected = drift_compute(
        reference=DriftReference.from_dict(version.drift_reference),
        features=pd.DataFrame.from_records([row[0] for row in rows]),
        scores=np.array([row[1] for row in rows]),
    )
    assert window.decisions == 400
    for name, drift in expected.features.items():
        assert window.drift["features"][name]["psi"] == pytest.approx(drift.psi, abs=1e-12)
        assert window.drift["features"][name]["ks_statistic"] == drift.ks_statistic
    assert window.drift["score"]["psi"] == pytest.approx(expected.score.psi, abs=1e-12)


@pytest.mark.django_db
def test_daily_and_weekly_windows_cover_the_month_without_gaps_or_overlaps() -> None:
    version = stream_champion()
    stream_month_decide(version=version, first=FIRST_MONTH, month=1, shifted=False, rng=np.random.default_rng(1))

    monitoring_run(now=month_start(FIRST_MONTH, 1))

    days = list(version.monitoring_windows.filter(period="day").order_by("starts_at"))
    assert len(days) == 31
    assert all(earlier.ends_at == later.starts_at for earlier, later in itertools.pairwise(days))
    assert sum(day.decisions for day in days) == 400
    weeks = list(version.monitoring_windows.filter(period="week"))
    assert all(timezone.localtime(week.starts_at).weekday() == 0 for week in weeks)


@pytest.mark.django_db
def test_windows_too_small_to_judge_are_stored_but_raise_nothing(settings) -> None:
    settings.MONITORING_MIN_WINDOW_DECISIONS = 10_000
    version = stream_champion()
    rng = np.random.default_rng(5)
    for month in range(1, 9):
        stream_month_decide(version=version, first=FIRST_MONTH, month=month, shifted=True, rng=rng)

    summary = monitoring_run(now=month_start(FIRST_MONTH, 8))

    assert len([window for window in summary.windows if window.period == "month"]) == 8
    assert summary.alerts == []


@pytest.mark.django_db
def test_a_version_without_a_drift_reference_is_skipped() -> None:
    version = stream_champion()
    version.drift_reference = {}
    version.save(update_fields=["drift_reference"])

    assert monitoring_run().windows == []


def test_calendar_months_follow_their_own_lengths() -> None:
    february = timezone.make_aware(dt.datetime(2024, 2, 1))

    assert period_next(february, "month") == timezone.make_aware(dt.datetime(2024, 3, 1))
    assert period_start(timezone.make_aware(dt.datetime(2024, 2, 29, 13)), "week") == timezone.make_aware(
        dt.datetime(2024, 2, 26)
    )


@pytest.mark.django_db
def test_a_trained_champions_reference_reads_every_input_of_its_real_decisions(champion, loan_officer):
    from tests.lending.services.test_decisions import RISKY, SAFE, apply

    for features in (RISKY, SAFE) * 3:
        apply(loan_officer, features)
    version = champion
    version.refresh_from_db()
    today = timezone.localtime()

    bounds = {"starts_at": period_start(today, "day"), "ends_at": period_next(period_start(today, "day"), "day")}
    window, created = monitoring_window_measure(
        version=version, period="day", thresholds=DriftThresholds.from_settings(), **bounds
    )
    again, created_again = monitoring_window_measure(
        version=version, period="day", thresholds=DriftThresholds.from_settings(), **bounds
    )

    assert (created, created_again, again.pk) == (True, False, window.pk)  # a second run never judges it again

    assert window.decisions == 6
    assert set(window.drift["features"]) == set(version.drift_reference["features"])
    missing_share = {name: drift["current_shares"][-1] for name, drift in window.drift["features"].items()}
    assert missing_share == dict.fromkeys(missing_share, 0.0)  # every input found under its trained name
    assert window.rates["approval"] == pytest.approx(0.5)
