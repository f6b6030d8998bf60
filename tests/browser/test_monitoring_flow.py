"""A model risk manager's monitoring in a real browser: the drift heat map shows the shifted feature, the score
against its reference is drawn, and the alert is acknowledged and then resolved with notes (audited)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from playwright.sync_api import Page, expect

from finai.models import AuditEvent
from monitoring.models import Alert
from monitoring.services.drift import monitoring_run
from tests.browser.conftest import sign_in
from tests.monitoring.drift_stream import SHIFTED_FEATURE, month_start, stream_champion, stream_month_decide

FIRST_MONTH = dt.date(2025, 1, 1)


def test_a_manager_reads_the_heat_map_and_acknowledges_then_resolves_the_drift_alert(
    live_server, transactional_db, page: Page, model_manager
):
    version = stream_champion()
    rng = np.random.default_rng(3)
    for month in range(1, 10):
        stream_month_decide(version=version, first=FIRST_MONTH, month=month, shifted=True, rng=rng)
    monitoring_run(now=month_start(FIRST_MONTH, 9), periods=("month",))

    sign_in(page, live_server.url, model_manager.username)
    page.get_by_role("link", name="Monitoring").click()

    heat_map = page.locator("table.heat").first
    expect(heat_map.get_by_role("rowheader", name=SHIFTED_FEATURE.capitalize())).to_be_visible()
    expect(heat_map.locator("td.heat-critical")).to_have_count(3)  # months 7, 8 and 9
    expect(page.locator("figure.chart-compact svg")).to_be_visible()

    page.get_by_label("Note on alert").fill("Utilisation rose with the new card partner; investigating.")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("acknowledged.")).to_be_visible()
    page.get_by_label("Note on alert").fill("Retrained on the partner's applicants; promoted v2.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("No open alert.")).to_be_visible()

    alert = Alert.objects.get()
    assert (alert.status, alert.resolved_by) == (Alert.Status.RESOLVED, model_manager)
    actions = list(AuditEvent.objects.filter(object_type="alert").order_by("sequence").values_list("action", flat=True))
    assert actions == ["alert.opened", "alert.acknowledged", "alert.resolved"]
