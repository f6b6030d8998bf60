"""Model governance in a real browser: train with live progress, request, a second manager approves, it decides."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response, expect

from analytics.models import ModelVersion
from lending.models import LoanApplication
from tests.browser.conftest import application_submitted, champion_trained, field, sign_in

TRAINING_TIMEOUT_MS = 240_000
DECISION_TIMEOUT_MS = 90_000


def test_a_manager_trains_a_version_a_second_approves_it_and_the_next_decision_uses_it(
    live_server,
    celery_worker_process,
    german_credit_sample,
    page: Page,
    open_page,
    loan_officer,
    model_manager,
    second_model_manager,
):
    first_champion = champion_trained(family="scorecard", trainer=second_model_manager, approver=model_manager)
    progress_reports: list[dict[str, Any]] = []

    def record_progress(response: Response) -> None:
        if response.url.endswith("/progress.json") and response.ok:
            # The page reloads once training ends, sometimes before this body was read.
            with suppress(PlaywrightError):
                progress_reports.append(response.json())

    page.on("response", record_progress)
    sign_in(page, live_server.url, model_manager.username)
    page.get_by_role("link", name="Train", exact=True).click()
    field(page, "Model family").select_option("neural")
    field(page, "Data set").select_option("german_credit")
    field(page, "Bias mitigation").select_option("none")
    field(page, "Random seed").fill("7")
    page.get_by_role("button", name="Start training").click()

    expect(page.locator("#training-progress")).to_be_visible()
    expect(page.locator("#version-status")).to_contain_text("Candidate", timeout=TRAINING_TIMEOUT_MS)
    version = ModelVersion.objects.exclude(pk=first_champion.pk).get()
    assert (version.status, version.family, version.trained_by) == ("candidate", "neural", model_manager)
    assert version.progress == 100
    while_training = [report["progress"] for report in progress_reports if report["status"] == "training"]
    assert any(0 < percent < 100 for percent in while_training), f"no progress shown: {while_training}"
    assert while_training == sorted(while_training)

    field(page, "Exception justification").fill("Neural challenger reviewed by model risk.")
    page.get_by_role("button", name="Request promotion").click()
    expect(page.locator(".messages")).to_contain_text("Promotion requested")
    expect(page.locator("#governance")).to_contain_text("Four eyes")
    expect(page.get_by_role("button", name="Approve promotion")).to_have_count(0)

    approver = open_page()
    sign_in(approver, live_server.url, second_model_manager.username)
    approver.goto(f"{live_server.url}/models/{version.pk}/")
    accept = approver.get_by_role("checkbox", name="I accept the recorded exception for the failed gates")
    if accept.count():
        accept.check()
    approver.get_by_role("button", name="Approve promotion").click()
    expect(approver.locator("#version-status")).to_contain_text("Champion")
    version.refresh_from_db()
    first_champion.refresh_from_db()
    assert (version.status, first_champion.status) == ("champion", "retired")

    officer = open_page()
    sign_in(officer, live_server.url, loan_officer.username)
    application_submitted(officer, live_server.url, "Nina Next")
    expect(officer.locator("#score")).to_be_visible(timeout=DECISION_TIMEOUT_MS)
    expect(officer.get_by_text(f"v{version.pk} · neural")).to_be_visible()
    decision = LoanApplication.objects.get(applicant__full_name="Nina Next").decisions.get(is_shadow=False)
    assert decision.model_version_id == version.pk
