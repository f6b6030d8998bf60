"""The model-monitoring page: drift as a heat map per feature and window, the score against its reference,
and alerts acknowledged and resolved from the page (audited)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.urls import reverse

from finai.models import AuditEvent
from monitoring.models import Alert
from monitoring.services.drift import monitoring_run
from monitoring.services.performance import performance_run
from tests.monitoring.drift_stream import (
    SHIFTED_FEATURE,
    month_start,
    stream_champion,
    stream_loans_fund,
    stream_month_decide,
)

pytestmark = pytest.mark.django_db

FIRST_MONTH = dt.date(2025, 1, 1)


@pytest.fixture
def monitored():
    """Nine months of a stream shifted from month 7, measured."""
    version = stream_champion()
    rng = np.random.default_rng(2)
    for month in range(1, 10):
        stream_month_decide(version=version, first=FIRST_MONTH, month=month, shifted=True, rng=rng)
    monitoring_run(now=month_start(FIRST_MONTH, 9), periods=("month",))
    return version


def test_the_heat_map_marks_the_shifted_feature_from_month_7_and_shows_the_open_alert(manager_client, monitored):
    response = manager_client.get(reverse("monitoring:model_monitoring"), {"version": monitored.pk, "period": "month"})

    assert response.status_code == 200
    heat_map = response.context["heat_map"]
    assert len(heat_map.windows) == 9
    rows = dict(heat_map.rows)
    assert [cell.level for cell in rows[SHIFTED_FEATURE]] == [""] * 6 + ["critical"] * 3
    assert all(cell.level == "" for name, cells in rows.items() if name != SHIFTED_FEATURE for cell in cells)
    assert "score" in rows
    [alert] = response.context["alerts"]
    assert alert.subject.endswith(SHIFTED_FEATURE)
    assert b"heat-critical" in response.content
    assert b"<svg" in response.content  # the score distribution, drawn on the server


def test_an_alert_is_acknowledged_then_resolved_from_the_page_and_both_are_audited(
    manager_client, model_manager, monitored
):
    alert = Alert.objects.get()

    manager_client.post(reverse("monitoring:alert_acknowledge", args=[alert.pk]), {"note": "Broker channel change."})
    refused = manager_client.post(reverse("monitoring:alert_resolve", args=[alert.pk]), {"note": ""}, follow=True)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert "note is required" in refused.content.decode()

    manager_client.post(reverse("monitoring:alert_resolve", args=[alert.pk]), {"note": "Retrained on the new mix."})

    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED
    assert alert.resolved_by == model_manager
    actions = list(AuditEvent.objects.filter(object_type="alert").values_list("action", flat=True))
    assert actions == ["alert.opened", "alert.acknowledged", "alert.resolved"]


def test_the_page_without_any_monitored_version_says_so(manager_client):
    response = manager_client.get(reverse("monitoring:model_monitoring"))

    assert response.status_code == 200
    assert b"No version is monitored yet" in response.content
    assert b"No open alert." in response.content


def test_the_page_shows_each_cohorts_realised_and_estimated_auc_and_its_vintage(manager_client):
    version = stream_champion()
    version.metrics = {"auc": 0.7}
    version.save(update_fields=["metrics"])
    stream_loans_fund(
        version=version, first=dt.date(2024, 1, 1), months=2, rows_per_month=400, rng=np.random.default_rng(8)
    )
    performance_run(as_of=dt.date(2025, 2, 10))

    response = manager_client.get(reverse("monitoring:model_monitoring"), {"version": version.pk})

    [january, february] = response.context["cohorts"]
    assert (january.mature, february.mature) == (True, False)
    page = response.content.decode()
    assert f"{january.realised['auc']['value']:.3f}" in page
    assert f"{february.estimated['expected_auc']:.3f}" in page
    assert "11 of 12 months" in page
    assert (january.decisions, january.coverage) == (400, 1.0)  # every decision of the stream was funded
    assert "Approved applicants only." in page
    assert len(response.context["vintages"].rows) == 2
