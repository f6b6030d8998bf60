"""An officer's whole day in a real browser: submit, read the decision and its reasons, override, print the notice."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from finai.models import AuditEvent
from lending.models import LoanApplication, Override, Transaction
from tests.browser.conftest import SCREENSHOTS, application_submitted, champion_trained, field, sign_in

DECISION_TIMEOUT_MS = 90_000
ECOA_OPENING = (
    "The federal Equal Credit Opportunity Act prohibits creditors from discriminating against credit "
    "applicants on the basis of race, color, religion, national origin, sex, marital status, age"
)


def test_an_officer_submits_an_application_overrides_the_decision_and_prints_the_notice(
    live_server,
    celery_worker_process,
    german_credit_sample,
    page: Page,
    loan_officer,
    model_manager,
    second_model_manager,
    tmp_path: Path,
):
    champion = champion_trained(family="scorecard", trainer=model_manager, approver=second_model_manager)
    statement = tmp_path / "transactions.csv"
    statement.write_text("date,amount,description\n2026-01-03,1200.00,salary\n2026-01-05,-350.50,rent\n")

    sign_in(page, live_server.url, loan_officer.username)
    application_submitted(page, live_server.url, "Rita Risky", statement)

    expect(page.locator("#reasons li").first).to_be_visible(timeout=DECISION_TIMEOUT_MS)
    application = LoanApplication.objects.get(applicant__full_name="Rita Risky")
    decision = application.decisions.get(is_shadow=False)
    assert decision.model_version_id == champion.pk
    assert decision.outcome in ("decline", "refer")
    expect(page.locator("#reasons li")).to_have_count(len(decision.reasons))
    for reason in decision.reasons:
        expect(page.locator("#reasons")).to_contain_text(reason["text"])
    expect(page.locator("#probability")).to_have_text(f"{decision.probability_of_default * 100:.1f}%")
    expect(page.locator("#score")).to_have_text(str(decision.score))
    assert Transaction.objects.filter(account__applicant=application.applicant).count() == 2

    new_outcome = "refer" if decision.outcome == "decline" else "decline"
    field(page, "New outcome").select_option(new_outcome)
    field(page, "Justification").fill("Payslips verified in branch; the file needs a senior review.")
    page.get_by_role("button", name="Override", exact=True).click()

    expect(page.locator(".timeline")).to_contain_text("Payslips verified in branch")
    override = Override.objects.get(decision=decision)
    assert (override.outcome_before, override.outcome_after) == (decision.outcome, new_outcome)
    assert AuditEvent.objects.filter(action="decision.overridden", object_id=str(decision.pk)).exists()

    page.get_by_role("link", name="Adverse-action notice").click()
    expect(page.locator("#ecoa-notice")).to_contain_text(ECOA_OPENING)
    for reason in decision.reasons:
        expect(page.locator("#notice-reasons")).to_contain_text(reason["text"])
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print notice")).to_be_hidden()
    expect(page.locator("#notice")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(path=str(SCREENSHOTS / "adverse-action-notice.pdf"), format="Letter")
    assert pdf.startswith(b"%PDF")
