"""A compliance officer's audit in a real browser: queue a window report, watch its progress, read the report."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from analytics.models import FairnessReport
from tests.browser.conftest import field, sign_in
from tests.monitoring.services.test_window_fairness_report import decided

AUDIT_TIMEOUT_MS = 90_000


def test_a_window_report_queued_in_the_browser_turns_into_the_report_when_the_worker_is_done(
    live_server, celery_worker_process, transactional_db, page: Page, compliance_officer
):
    for number, sex in enumerate(["female", "male"] * 40):
        decided(
            number, sex=sex, outcome="approve" if number % 3 else "decline", when=dt.datetime(2025, 5, 5, tzinfo=dt.UTC)
        )

    sign_in(page, live_server.url, compliance_officer.username)
    page.goto(f"{live_server.url}/compliance/fairness/reports/")
    page.get_by_role("link", name="Choose a window").click()
    field(page, "From").fill("2025-05-01")
    field(page, "To (included)").fill("2025-05-31")
    page.get_by_role("button", name="Queue the report").click()

    expect(page.get_by_text("was queued on the analytics workers")).to_be_visible()
    # The page polls the worker's progress and reloads into the finished report.
    expect(page.locator("#attribute-sex")).to_be_visible(timeout=AUDIT_TIMEOUT_MS)
    report = FairnessReport.objects.get()
    assert (report.status, report.row_count) == ("done", 80)
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
