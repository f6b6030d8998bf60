"""The model manager's journey in a real browser: train a version, compare it with the champion on a common
holdout, request its promotion; a second manager approves.

Screenshots of each step are kept in var/test-artifacts/browser/manager/.
"""

from __future__ import annotations

import numpy as np
from playwright.sync_api import Page, expect

from analytics.models import ModelVersion
from analytics.selectors import MIN_COMMON_HOLDOUT_ROWS
from analytics.services.training_jobs import snapshot_training_data
from tests.browser.conftest import champion_trained, field, keep_screenshot, sign_in

TRAINING_TIMEOUT_MS = 240_000
JOURNEY = "manager"
SEED = 7  # the champion held out with seed 0: the two holdouts differ, and the compare page must say how


def rows_held_out_by_both(a: ModelVersion, b: ModelVersion) -> int:
    data = snapshot_training_data(snapshot=a.snapshot)
    return len(np.intersect1d(data.holdout_rows(seed=a.seed), data.holdout_rows(seed=b.seed)))


def test_a_manager_trains_compares_on_a_common_holdout_and_requests_promotion_a_second_approves(
    live_server, celery_worker_process, german_credit_sample, page: Page, open_page, model_manager, second_model_manager
):
    champion = champion_trained(family="scorecard", trainer=second_model_manager, approver=model_manager)

    sign_in(page, live_server.url, model_manager.username)
    page.get_by_role("link", name="Train", exact=True).click()
    field(page, "Model family").select_option("gbm")
    field(page, "Data set").select_option("german_credit")
    field(page, "Bias mitigation").select_option("none")
    field(page, "Random seed").fill(str(SEED))
    keep_screenshot(page, JOURNEY, "01-train-form")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#training-progress")).to_be_visible()
    keep_screenshot(page, JOURNEY, "02-training")
    expect(page.locator("#version-status")).to_contain_text("Candidate", timeout=TRAINING_TIMEOUT_MS)
    version = ModelVersion.objects.exclude(pk=champion.pk).get()
    assert (version.family, version.seed, version.snapshot_id) == ("gbm", SEED, champion.snapshot_id)
    keep_screenshot(page, JOURNEY, "03-trained")

    page.get_by_role("link", name="Compare with…").click()
    field(page, "Version B").select_option(str(champion.pk))
    page.get_by_role("button", name="Compare").click()
    verdict = page.locator("#holdout-comparison")
    common = rows_held_out_by_both(version, champion)
    if common >= MIN_COMMON_HOLDOUT_ROWS:
        expect(verdict).to_contain_text(f"Compared on a common holdout of {common} applications")
        expect(page.get_by_role("columnheader", name=f"v{champion.pk} \N{MINUS SIGN} v{version.pk}")).to_be_visible()
    else:
        expect(verdict).to_contain_text("Not measured on the same applications")
    expect(verdict).to_contain_text(f"v{version.pk} held out 30% with seed {SEED}, v{champion.pk} 30% with seed 0")
    expect(page.locator("svg.chart").first).to_be_visible()
    keep_screenshot(page, JOURNEY, "04-compared-with-the-champion")

    page.goto(f"{live_server.url}/models/{version.pk}/")
    field(page, "Exception justification").fill("Compared with the champion on the common holdout; reviewed.")
    page.get_by_role("button", name="Request promotion").click()
    expect(page.locator(".messages")).to_contain_text("Promotion requested")
    expect(page.get_by_role("button", name="Approve promotion")).to_have_count(0)  # four eyes
    keep_screenshot(page, JOURNEY, "05-promotion-requested")

    approver = open_page()
    sign_in(approver, live_server.url, second_model_manager.username)
    approver.goto(f"{live_server.url}/models/{version.pk}/")
    accept = approver.get_by_role("checkbox", name="I accept the recorded exception for the failed gates")
    if accept.count():
        accept.check()
    approver.get_by_role("button", name="Approve promotion").click()
    expect(approver.locator("#version-status")).to_contain_text("Champion")
    keep_screenshot(approver, JOURNEY, "06-approved-by-a-second-manager")
    version.refresh_from_db()
    champion.refresh_from_db()
    assert (version.status, champion.status) == ("champion", "retired")
