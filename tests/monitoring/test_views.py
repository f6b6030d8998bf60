"""Production-fairness pages: the dashboard, window reports queued from their form, segment-proxy checks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from analytics.models import FairnessReport
from monitoring.models import SegmentProxyCheck
from monitoring.services.fairness import segment_proxy_check_run, window_fairness_report_run
from tests.monitoring.segment_owners import planted_segmentation_record
from tests.monitoring.services.test_window_fairness_report import decided

pytestmark = pytest.mark.django_db


def test_a_window_report_is_queued_from_its_form_and_bad_dates_are_named(compliance_client):
    for number, sex in enumerate(["female", "male"] * 20):
        decided(
            number, sex=sex, outcome="approve" if number % 3 else "decline", when=dt.datetime(2025, 5, 5, tzinfo=dt.UTC)
        )
    url = reverse("monitoring:fairness_window_report")

    backwards = compliance_client.post(url, {"first_day": "2025-05-31", "last_day": "2025-05-01"})
    empty = compliance_client.post(url, {"first_day": "2030-01-01", "last_day": "2030-01-31"})
    response = compliance_client.post(url, {"first_day": "2025-05-01", "last_day": "2025-05-31"})

    assert backwards.status_code == 400
    assert set(backwards.context["form"].errors) == {"last_day"}
    assert empty.status_code == 400
    report = FairnessReport.objects.get()
    assert (report.kind, report.status) == ("window", "running")
    assert response["Location"] == reverse("analytics:fairness_report_detail", args=[report.pk])
    assert window_fairness_report_run(report_id=report.pk).row_count == 40


def test_the_segments_page_queues_a_check_shows_its_progress_then_its_table(
    compliance_client, django_capture_on_commit_callbacks
):
    run = planted_segmentation_record()
    url = reverse("monitoring:segment_proxy", args=[run.pk])

    before = compliance_client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        compliance_client.post(reverse("monitoring:segment_proxy_start", args=[run.pk]))
    check = SegmentProxyCheck.objects.get()
    during = compliance_client.get(url).content.decode()
    segment_proxy_check_run(check_id=check.pk)
    after = compliance_client.get(url)

    assert "have not been checked yet" in before
    assert len(queued) == 1
    assert reverse("monitoring:segment_proxy_progress", args=[check.pk]) in during
    assert 'id="segment-groups"' not in during
    assert 'id="segment-groups"' in after.content.decode()
    assert after.context["flagged"] >= 1


def test_the_fairness_dashboard_shows_each_group_and_the_lowest_ratio_over_time(
    client, compliance_officer, model_version
):
    client.force_login(compliance_officer)

    response = client.get(reverse("monitoring:fairness_dashboard"))

    assert response.context["selected"] == model_version
    over_time = response.context["over_time"]
    assert over_time.attributes == ["sex"]
    assert over_time.rows == [(model_version, [0.7])]
    html = response.content.decode()
    assert "42.0%" in html
    assert "0.700" in html
    assert "below four-fifths" in html
