"""The analyst's journey in a real browser: start a clustering experiment from the web, watch its progress on
the worker, choose the segmentation it found. Screenshots of each step are kept in
var/test-artifacts/browser/analyst/.

Kept to seconds: 40 Berka accounts, two runs of a small fully connected autoencoder, three epochs each.
"""

from __future__ import annotations

from contextlib import suppress
from io import StringIO
from typing import Any

from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response, expect

from clustering.models import ClusteringExperiment, ClusteringRun
from finai.models import AuditEvent
from tests.browser.conftest import field, keep_screenshot, sign_in
from tests.lending.berka_files import berka_subset

JOURNEY = "analyst"
EXPERIMENT_TIMEOUT_MS = 120_000


def test_an_analyst_starts_an_experiment_watches_it_run_and_chooses_its_segmentation(
    live_server, celery_worker_process, transactional_db, page: Page, analyst, tmp_path
):
    berka_subset(tmp_path / "berka", accounts=40)
    call_command("import_berka", path=str(tmp_path / "berka"), stdout=StringIO())
    progress_reports: list[dict[str, Any]] = []

    def record_progress(response: Response) -> None:
        if response.url.endswith("/progress.json") and response.ok:
            # The page reloads once every run has ended, sometimes before this body was read.
            with suppress(PlaywrightError):
                progress_reports.append(response.json())

    page.on("response", record_progress)

    sign_in(page, live_server.url, analyst.username)
    expect(page.get_by_role("heading", name="Analyst home")).to_be_visible()
    expect(page.locator("#segmentation-in-use")).to_contain_text("None yet")
    keep_screenshot(page, JOURNEY, "01-analyst-home")

    page.get_by_role("link", name="Start an experiment").click()
    field(page, "Name").fill("Two seeds, k = 2")
    expect(page.get_by_role("checkbox", name="Fully connected")).to_be_checked()
    expect(page.get_by_role("checkbox", name="k-means on the latents")).to_be_checked()
    field(page, "Numbers of segments (k)").fill("2")
    field(page, "Seeds").fill("0 1")
    field(page, "Training epochs").fill("3")
    keep_screenshot(page, JOURNEY, "02-experiment-form")
    page.get_by_role("button", name="Start experiment").click()

    expect(page.locator(".messages")).to_contain_text("2 runs queued")
    experiment = ClusteringExperiment.objects.get(name="Two seeds, k = 2")
    assert experiment.created_by == analyst
    keep_screenshot(page, JOURNEY, "03-experiment-queued")

    # The page polls the experiment's progress and reloads when every run has ended.
    expect(page.locator("#experiment-status")).to_contain_text("Done", timeout=EXPERIMENT_TIMEOUT_MS)
    expect(page.locator("#experiment-status")).to_contain_text("2 of 2 runs finished")
    percents = [report["progress"] for report in progress_reports]
    assert progress_reports, "the page never polled the experiment's progress"
    assert percents == sorted(percents), f"progress went backwards: {percents}"
    assert {run.status for run in experiment.runs.all()} == {ClusteringRun.Status.FINISHED}
    keep_screenshot(page, JOURNEY, "04-experiment-done")

    best = page.locator("#best-run")
    expect(best.locator("[data-silhouette-band]")).to_be_visible()
    best.get_by_role("link", name="Run").first.click()
    expect(page.locator("#silhouette-reading")).to_contain_text("Kaufman & Rousseeuw")
    keep_screenshot(page, JOURNEY, "05-run")

    page.get_by_role("button", name="Choose this segmentation").click()
    expect(page.locator(".messages")).to_contain_text("is now the segmentation in use")
    keep_screenshot(page, JOURNEY, "06-segmentation-chosen")
    chosen = ClusteringRun.objects.get(chosen=True)
    assert (chosen.experiment_id, chosen.chosen_by) == (experiment.pk, analyst)
    assert AuditEvent.objects.filter(action="clustering.segmentation_chosen", actor=analyst).exists()

    page.get_by_role("link", name="Analyst home").click()
    expect(page.locator("#segmentation-in-use")).to_contain_text(f"Run {chosen.pk}")
    expect(page.locator("#segmentation-in-use [data-silhouette-band]")).to_be_visible()
    keep_screenshot(page, JOURNEY, "07-home-with-segmentation")
