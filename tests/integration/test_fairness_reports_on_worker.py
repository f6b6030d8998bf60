"""Fair-lending audits on a real Celery worker: a page queues the report, the worker audits it, the page shows it."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.urls import reverse

from analytics.models import FairnessReport
from monitoring.models import SegmentProxyCheck
from tests.monitoring.segment_owners import planted_segmentation_record
from tests.monitoring.services.test_window_fairness_report import decided

pytestmark = [pytest.mark.integration]


def _finished(model, pk: int, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = model.objects.get(pk=pk)
        if record.status != "running":
            return record
        time.sleep(0.2)
    pytest.fail(f"{model.__name__} {pk} did not finish on the worker; see var/test-worker-*.log")


def test_a_window_report_queued_from_its_page_is_audited_by_the_worker(
    celery_worker_process, transactional_db, client, compliance_officer
):
    for number, sex in enumerate(["female", "male"] * 30):
        decided(
            number, sex=sex, outcome="approve" if number % 3 else "decline", when=dt.datetime(2025, 5, 5, tzinfo=dt.UTC)
        )
    client.force_login(compliance_officer)

    response = client.post(
        reverse("monitoring:fairness_window_report"), {"first_day": "2025-05-01", "last_day": "2025-05-31"}
    )
    queued = FairnessReport.objects.get()
    report = _finished(FairnessReport, queued.pk)
    page = client.get(response["Location"])

    assert queued.status == "running"
    assert (report.status, report.row_count, report.progress) == ("done", 60, 100)
    assert report.started_at is not None
    assert page.status_code == 200
    assert [section.name for section, _ in page.context["sections"]] == ["sex", "age_band"]


def test_a_segment_proxy_check_queued_from_its_page_is_run_by_the_worker(
    celery_worker_process, transactional_db, client, compliance_officer
):
    run = planted_segmentation_record()
    client.force_login(compliance_officer)

    client.post(reverse("monitoring:segment_proxy_start", args=[run.pk]))
    check = _finished(SegmentProxyCheck, SegmentProxyCheck.objects.get().pk)

    assert check.status == "done"
    assert any(share.flagged for share in check.shares)
