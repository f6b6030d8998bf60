"""Two compliance officers in a real browser work a planted structuring pattern from live screening (run on the
real worker) to a confirmed close under four eyes, download the SAR, and read every step in the case's audit trail."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from playwright.sync_api import Page, expect

from monitoring.models import ScreeningCase
from monitoring.services.scenarios import screening_scenarios_ensure
from monitoring.services.screening import screened_transactions_store
from tests.browser.conftest import field, sign_in

RUN_TIMEOUT_MS = 90_000
PLANTED = "ACC-STRUCTURING"


def planted_bookings(first_day: dt.date) -> pd.DataFrame:
    """Four cash deposits just under 10,000 on one account within four days, among ordinary card spending."""
    start = dt.datetime.combine(first_day, dt.time(9), tzinfo=dt.UTC)
    rows = [
        (f"s{day}", PLANTED, None, 9_400 + 100 * day, "in", "cash", start + dt.timedelta(days=day, hours=day))
        for day in range(4)
    ]
    rows += [
        (
            f"o{number}",
            f"ACC-{number % 3}",
            f"SHOP-{number % 5}",
            20 + number,
            "out",
            "card",
            start + dt.timedelta(hours=7 * number),
        )
        for number in range(30)
    ]
    return pd.DataFrame(
        rows, columns=["transaction_id", "account", "counterparty", "amount", "direction", "kind", "booked_at"]
    )


def test_two_officers_take_a_structuring_case_to_a_confirmed_close_and_file_its_report(
    live_server,
    celery_worker_process,
    transactional_db,
    page: Page,
    open_page,
    compliance_officer,
    second_compliance_officer,
):
    today = dt.datetime.now(dt.UTC).date()
    screening_scenarios_ensure()
    screened_transactions_store(transactions=planted_bookings(today - dt.timedelta(days=10)), source="browser")

    # Officer A runs live screening over the last two weeks; the worker screens, the page follows its progress.
    sign_in(page, live_server.url, compliance_officer.username)
    page.goto(f"{live_server.url}/compliance/screening/runs/")
    field(page, "From").fill(str(today - dt.timedelta(days=14)))
    field(page, "To (included)").fill(str(today - dt.timedelta(days=1)))
    page.get_by_role("button", name="Run live screening").click()
    expect(page.locator("#run-alerts")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    case = ScreeningCase.objects.get(account=PLANTED)

    # The queue, the case, and the investigation.
    page.goto(f"{live_server.url}/compliance/screening/")
    page.get_by_role("link", name=f"Case {case.pk}", exact=True).click()
    expect(page.get_by_text("cash deposits between").first).to_be_visible()
    page.get_by_role("button", name="Take the case").click()
    expect(page.get_by_text("You hold the case now.")).to_be_visible()
    field(page, "New note").fill("Deposits made at three branches; no business reason on file.")
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    field(page, "SAR narrative").fill("Four cash deposits of 9,400 to 9,700 in four days, each under 10,000.")
    page.get_by_role("button", name="Save the narrative").click()
    expect(page.get_by_text("Narrative saved.")).to_be_visible()
    field(page, "Why it is confirmed").fill("Structuring to avoid the currency transaction report.")
    page.get_by_role("button", name="Request the confirmed close").click()
    expect(page.get_by_text("you requested it, so someone else approves it")).to_be_visible()
    with page.expect_download() as draft:
        page.get_by_role("link", name="Download SAR draft (PDF)").click()
    assert draft.value.suggested_filename == f"sar-draft-case-{case.pk}.pdf"
    with open(draft.value.path(), "rb") as document:
        assert document.read(4) == b"%PDF"

    # Officer B approves the confirmation; the report is final.
    reviewer = open_page()
    sign_in(reviewer, live_server.url, second_compliance_officer.username)
    reviewer.goto(f"{live_server.url}/compliance/screening/cases/{case.pk}/")
    field(reviewer, "Review note").fill("Agreed: the pattern and the narrative match.")
    reviewer.get_by_role("button", name="Approve the confirmation").click()
    expect(reviewer.get_by_text("closed as confirmed and its report is final")).to_be_visible()
    with reviewer.expect_download() as final:
        reviewer.get_by_role("link", name="Download SAR (PDF)").click()
    assert final.value.suggested_filename == f"sar-case-{case.pk}.pdf"

    reviewer.reload()
    trail = reviewer.locator("#audit-trail li")
    expect(trail).to_have_count(8)
    steps = [
        "Opened by a live run",
        "Taken",
        "Note added",
        "Narrative saved",
        "Confirmed close requested",
        "SAR exported",
        "Confirmation approved (second officer): closed as confirmed",
        "SAR exported",
    ]
    for number, step in enumerate(steps):
        expect(trail.nth(number)).to_contain_text(step)
    expect(trail.nth(6)).to_contain_text(second_compliance_officer.username)
    expect(trail.nth(4)).to_contain_text(compliance_officer.username)
    case.refresh_from_db()
    assert (case.status, case.disposition, case.closed_by) == ("closed", "confirmed", second_compliance_officer)
