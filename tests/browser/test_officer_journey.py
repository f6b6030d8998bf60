"""The officer's journey after the decision, in a real browser: submit, decided by the worker, fund, see the outcome.

Screenshots of each step are kept in var/test-artifacts/browser/officer/.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from finai.models import AuditEvent
from lending.models import Loan, LoanApplication, RepaymentOutcome
from tests.browser.conftest import champion_trained, field, keep_screenshot, sign_in

DECISION_TIMEOUT_MS = 90_000
JOURNEY = "officer"
# Labels as the German credit schema words them; the values of an applicant the data set says repays.
SAFE_APPLICATION = {
    "Checking account balance": "no checking account",
    "Credit history": "critical account/ other credits existing (not at this bank)",
    "Purpose": "car (used)",
    "Savings and bonds": "unknown/ no savings account",
    "Employed for": "... >= 7 years",
    "Other debtors or guarantors": "none",
    "Property": "real estate",
    "Other instalment plans": "none",
    "Housing": "own",
    "Occupation": "skilled employee / official",
    "Telephone": "yes, registered under the customers name",
}
SAFE_NUMBERS = {
    "Amount requested": "1500",
    "Term (months)": "12",
    "Instalment rate (band 1-4)": "1",
    "Years at present address (band 1-4)": "4",
    "Existing credits at this bank (band 1-4)": "1",
    "Dependants (1 or 2 or more)": "1",
}


def test_an_officer_funds_an_approved_application_and_follows_its_repayment(
    live_server,
    celery_worker_process,
    german_credit_sample,
    page: Page,
    loan_officer,
    model_manager,
    second_model_manager,
    tmp_path: Path,
):
    champion_trained(family="scorecard", trainer=model_manager, approver=second_model_manager)
    today = timezone.localdate()
    funded_on = today - dt.timedelta(days=61)

    # Submit in the form; the real worker decides.
    sign_in(page, live_server.url, loan_officer.username)
    page.goto(f"{live_server.url}/lending/applications/new/")
    field(page, "Full name").fill("Paula Prompt")
    for label, value in SAFE_NUMBERS.items():
        field(page, label).fill(value)
    for label, value in SAFE_APPLICATION.items():
        field(page, label).select_option(value)
    keep_screenshot(page, JOURNEY, "01-application-form")
    page.get_by_role("button", name="Submit application").click()
    expect(page.locator("#outcome")).to_contain_text("Approve", timeout=DECISION_TIMEOUT_MS)
    expect(page.locator("#fund-form")).to_be_visible()
    application = LoanApplication.objects.get(applicant__full_name="Paula Prompt")
    assert application.decisions.get(is_shadow=False).model_version is not None
    keep_screenshot(page, JOURNEY, "02-decided-approve")

    # Fund it, back-dated two months, on the terms applied for.
    expect(field(page, "Principal")).to_have_value("1500.00")
    expect(field(page, "Term (months)")).to_have_value("12")
    field(page, "Funded on").fill(funded_on.isoformat())
    page.get_by_role("button", name="Fund", exact=True).click()
    page.wait_for_url(re.compile(r"/lending/loans/\d+/$"))
    loan = Loan.objects.get(application=application)
    assert (loan.principal, loan.term_months, loan.funded_on, loan.status) == (1500, 12, funded_on, "active")
    assert AuditEvent.objects.filter(action="loan.funded", object_id=str(loan.pk), actor=loan_officer).exists()
    expect(page.locator("#loan-status")).to_contain_text("Active")
    expect(page.locator("#no-outcomes")).to_be_visible()
    keep_screenshot(page, JOURNEY, "03-funded")

    # The servicer's file: a month current, then twelve days late; recorded on the outcomes page.
    month_one, month_two = funded_on + dt.timedelta(days=30), funded_on + dt.timedelta(days=60)
    servicing = tmp_path / "servicing.csv"
    servicing.write_text(
        f"loan_id,status,days_past_due,as_of\n{loan.pk},current,0,{month_one}\n{loan.pk},current,12,{month_two}\n"
    )
    page.get_by_role("link", name="Outcomes", exact=True).click()
    field(page, "Outcomes file (CSV)").set_input_files(str(servicing))
    page.get_by_role("button", name="Record the outcomes").click()
    expect(page.locator(".messages, [role=status]").first).to_contain_text("2 outcomes recorded")
    assert RepaymentOutcome.objects.filter(loan=loan).count() == 2

    # The loan's page, reached from the loan list, shows them over time.
    page.get_by_role("link", name="Loans", exact=True).click()
    page.get_by_role("link", name=f"Loan {loan.pk}", exact=True).click()
    expect(page.locator("#outcomes-table tbody tr")).to_have_count(2)
    expect(page.locator("#latest-outcome")).to_contain_text(f"12 days past due as of {month_two}")
    expect(page.locator("#days-past-due-chart circle.marker")).to_have_count(2)
    expect(page.locator("#withdraw-form")).to_have_count(0)  # it ran: closing is what is left
    expect(page.locator("#close-form")).to_be_visible()
    page.locator("#days-past-due-chart").scroll_into_view_if_needed()
    keep_screenshot(page, JOURNEY, "04-loan-outcomes-over-time")
