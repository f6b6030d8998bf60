"""The compliance officer's journey in a real browser: read a fair-lending report, find its history in the audit
trail, export that history as CSV, and follow an event back to the report. Screenshots of each step are kept in
var/test-artifacts/browser/compliance/.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from django.urls import reverse
from playwright.sync_api import Page, expect

from finai.models import AuditEvent
from finai.services import audit_event_record
from tests.analytics.fairness_reports.records import fairness_report_record
from tests.browser.conftest import field, keep_screenshot, sign_in

JOURNEY = "compliance"
AUDIT_HEADER = [
    "sequence",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "payload",
    "previous_hash",
    "hash",
]


def test_a_compliance_officer_reads_a_report_exports_its_audit_trail_and_follows_an_event_back_to_it(
    live_server, transactional_db, page: Page, compliance_officer, tmp_path: Path
):
    report = fairness_report_record(created_by=compliance_officer)
    # As the report's service records a request (the worker's computation is the other browser tests' subject).
    audit_event_record(
        action="fairness.report_requested",
        actor=compliance_officer,
        object_type="fairness_report",
        object_id=report.pk,
        payload={"kind": report.kind, "title": report.title},
    )
    report_path = reverse("analytics:fairness_report_detail", args=[report.pk])

    sign_in(page, live_server.url, compliance_officer.username)
    page.goto(f"{live_server.url}{reverse('analytics:fairness_report_list')}")
    page.get_by_role("link", name=f"#{report.pk} · {report.title}").click()
    page.wait_for_url(f"**{report_path}")
    expect(page.get_by_role("heading", level=1, name=report.title)).to_be_visible()
    keep_screenshot(page, JOURNEY, "01-fairness-report")

    page.get_by_role("link", name="Audit trail").first.click()
    expect(page.get_by_role("heading", level=1, name="Audit trail")).to_be_visible()
    field(page, "Object type").select_option("fairness_report")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"object_type=fairness_report"))
    event_link = page.get_by_role("link", name=f"fairness_report {report.pk}")
    expect(event_link).to_be_visible()
    keep_screenshot(page, JOURNEY, "02-audit-trail-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit_trail-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as exported:
        rows = list(csv.reader(exported))
    assert rows[0] == AUDIT_HEADER
    assert [(row[3], row[4], row[5]) for row in rows[1:]] == [
        ("fairness.report_requested", "fairness_report", str(report.pk))
    ]
    export = AuditEvent.objects.get(action="export.audit_trail")
    assert export.actor == compliance_officer
    assert export.payload["filters"] == {"object_type": "fairness_report"}
    assert export.payload["rows"] == 1
    keep_screenshot(page, JOURNEY, "03-audit-trail-exported")

    event_link.click()
    page.wait_for_url(f"**{report_path}")
    expect(page.get_by_role("heading", level=1, name=report.title)).to_be_visible()
    keep_screenshot(page, JOURNEY, "04-audit-link-followed")
