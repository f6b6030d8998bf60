"""Fairness over time: each week's and month's live decisions by protected group, with intervals; an alert only
when a ratio's whole interval lies below the four-fifths line, never for a group too small to judge."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse
from fairlearn.metrics import MetricFrame, selection_rate

from finai.models import AuditEvent
from lending.models import Decision
from monitoring.models import Alert, MonitoringWindow
from monitoring.services.drift import monitoring_run
from tests.monitoring.drift_stream import (
    month_start,
    stream_champion,
    stream_month_decide,
    stream_month_protect_and_override,
)

FIRST_MONTH = dt.date(2025, 1, 1)
DISPARITY_FROM = 9


def _stream(settings, officer, *, months: int, disparity_from: int | None, small_group: str | None = None):
    """Decide, protect and (maybe) override month by month, running monitoring after each; the open fairness
    alerts after each run."""
    settings.MONITORING_FAIRNESS_RESAMPLES = 300
    version = stream_champion()
    rng = np.random.default_rng(9)
    open_after = []
    for month in range(1, months + 1):
        stream_month_decide(version=version, first=FIRST_MONTH, month=month, shifted=False, rng=rng)
        stream_month_protect_and_override(
            version=version, month=month, rng=rng, officer=officer, disparity_from=disparity_from,
            small_group=small_group,
        )  # fmt: skip
        monitoring_run(now=month_start(FIRST_MONTH, month) + dt.timedelta(hours=1), periods=("week", "month"))
        open_after.append(list(Alert.objects.exclude(status=Alert.Status.RESOLVED).values_list("rule", "subject")))
    return version, open_after


@pytest.mark.django_db
def test_a_disparity_planted_from_month_9_raises_the_fairness_alert_in_month_9_and_not_before(settings, loan_officer):
    version, open_after = _stream(settings, loan_officer, months=10, disparity_from=DISPARITY_FROM)

    assert open_after[: DISPARITY_FROM - 1] == [[]] * (DISPARITY_FROM - 1)
    assert (Alert.Rule.FAIRNESS_RATIO, f"consumer_loan v{version.pk} sex female") in open_after[DISPARITY_FROM - 1]
    assert {rule for rule, _ in open_after[DISPARITY_FROM - 1]} == {Alert.Rule.FAIRNESS_RATIO}
    opened = AuditEvent.objects.get(action="alert.opened")
    assert opened.payload["high"] < 0.8


@pytest.mark.django_db
def test_a_group_of_20_with_a_low_point_estimate_raises_no_alert(settings, loan_officer):
    version = stream_champion()
    rng = np.random.default_rng(1)
    settings.MONITORING_FAIRNESS_RESAMPLES = 300
    stream_month_decide(version=version, first=FIRST_MONTH, month=1, shifted=False, rng=rng)
    stream_month_protect_and_override(version=version, month=1, rng=rng, officer=loan_officer, small_group="x")
    # The 20 applicants of the small group are all declined: their point estimate is 0.
    Decision.objects.filter(application__applicant__protected_attributes__sex="x").update(outcome="decline")

    monitoring_run(now=month_start(FIRST_MONTH, 1) + dt.timedelta(hours=1), periods=("month",))

    window = MonitoringWindow.objects.get(period="month")
    [sex] = [attribute for attribute in window.fairness["attributes"] if attribute["name"] == "sex"]
    small = next(group for group in sex["groups"] if group["label"] == "x")
    assert small["small_group"] is True
    assert small["approval_rate"]["value"] == 0.0
    assert not Alert.objects.filter(rule=Alert.Rule.FAIRNESS_RATIO).exists()


@pytest.mark.django_db
def test_the_windows_group_approval_rates_equal_fairlearns_on_the_acted_on_outcomes(settings, loan_officer):
    version, _ = _stream(settings, loan_officer, months=1, disparity_from=1)

    window = MonitoringWindow.objects.get(model_version=version, period="month")
    rows = pd.DataFrame.from_records(
        Decision.objects.filter(model_version=version).values_list(
            "outcome", "overrides__outcome_after", "application__applicant__protected_attributes__sex"
        ),
        columns=["outcome", "override", "sex"],
    )
    acted_on = rows["override"].fillna(rows["outcome"])
    frame = MetricFrame(
        metrics=selection_rate,
        y_true=np.zeros(len(rows)),
        y_pred=(acted_on == "approve").astype(int),
        sensitive_features=rows["sex"],
    )
    [sex] = [attribute for attribute in window.fairness["attributes"] if attribute["name"] == "sex"]
    for group in sex["groups"]:
        assert group["approval_rate"]["value"] == pytest.approx(frame.by_group[group["label"]], abs=1e-9)
    assert window.fairness["reject_inference"]["share_with_outcome"] == 0.0


@pytest.mark.django_db
def test_daily_windows_carry_no_fairness(settings, loan_officer):
    version, _ = _stream(settings, loan_officer, months=1, disparity_from=None)
    monitoring_run(now=month_start(FIRST_MONTH, 1) + dt.timedelta(hours=2), periods=("day",))

    assert all(window.fairness == {} for window in version.monitoring_windows.filter(period="day"))
    assert all(window.fairness for window in version.monitoring_windows.filter(period="month"))


@pytest.mark.django_db
def test_the_compliance_dashboard_marks_the_groups_whose_interval_lies_below_four_fifths(
    settings, loan_officer, compliance_client
):
    version, _ = _stream(settings, loan_officer, months=2, disparity_from=2)

    response = compliance_client.get(reverse("monitoring:fairness_dashboard"), {"version": version.pk})

    live = response.context["live"]
    assert [window.starts_at.month for window in live.windows] == [1, 2]
    female = dict(live.rows)["sex: female"]
    assert [cell.alarm for cell in female] == [False, True]
    assert b"heat-critical" in response.content
