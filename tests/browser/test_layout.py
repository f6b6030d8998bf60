"""Layout in a real browser: each role's key pages fit the window at a laptop's width and a phone's, with a
200-character unbroken applicant name and model notes on record (a long value wraps or scrolls in its table,
never widens the page), and the favicon answers without a network."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from analytics.models import ModelVersion, PromotionRequest
from lending.models import Loan
from tests.analytics.fairness_reports.records import fairness_report_record
from tests.browser.conftest import keep_screenshot, sign_in
from tests.factories import ApplicantFactory, DecisionFactory, LoanApplicationFactory, ModelVersionFactory

LONG_VALUE = "W" * 200  # wide glyphs, no break opportunity
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# The script that finds what sticks out: the page's width against the window's, and the widest offenders.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const offenders = [...document.querySelectorAll("body *")]
    .filter((element) => element.getBoundingClientRect().right > width + 1 && !element.closest(".table-wrap"))
    .slice(0, 5)
    .map((element) => element.tagName.toLowerCase() + (element.className ? "." + element.className : ""));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, offenders};
}"""


@pytest.fixture
def long_records(transactional_db, loan_officer, model_manager, second_model_manager, compliance_officer) -> dict:
    """An applicant whose name is one 200-character word, decided and funded; a version with long notes; a report."""
    champion = ModelVersionFactory(
        status=ModelVersion.Status.CHAMPION,
        trained_by=model_manager,
        metrics={"auc": 0.78, "gini": 0.56},
        progress_message=LONG_VALUE,
    )
    failed = ModelVersionFactory(status=ModelVersion.Status.FAILED, trained_by=model_manager, failure=LONG_VALUE)
    PromotionRequest.objects.create(
        version=ModelVersionFactory(trained_by=model_manager),
        requested_by=model_manager,
        exception_justification=LONG_VALUE,
    )
    application = LoanApplicationFactory(
        applicant=ApplicantFactory(full_name=LONG_VALUE),
        submitted_by=loan_officer,
        purpose=LONG_VALUE[:100],
        features={"credit_history": LONG_VALUE},
    )
    DecisionFactory(application=application, model_version=champion, outcome="approve")
    funded = LoanApplicationFactory(applicant=ApplicantFactory(full_name=LONG_VALUE), submitted_by=loan_officer)
    DecisionFactory(application=funded, model_version=champion, outcome="approve")
    loan = Loan.objects.create(application=funded, principal=funded.amount, funded_on=funded.submitted_at.date())
    report = fairness_report_record(created_by=compliance_officer)
    return {"application": application, "loan": loan, "champion": champion, "failed": failed, "report": report}


def _pages(role: str, records: dict) -> dict[str, str]:
    """Each role's key pages: its home, its lists and the detail pages that show the long values."""
    if role == "officer":
        return {
            "dashboard": reverse("lending:dashboard"),
            "applications": reverse("lending:application_list"),
            "application": reverse("lending:application_detail", args=[records["application"].pk]),
            "new-application": reverse("lending:application_new"),
            "loans": reverse("lending:loan_list"),
            "loan": reverse("lending:loan_detail", args=[records["loan"].pk]),
            "overrides": reverse("lending:override_queue"),
        }
    if role == "manager":
        return {
            "versions": reverse("analytics:version_list"),
            "version": reverse("analytics:version_detail", args=[records["champion"].pk]),
            "failed-version": reverse("analytics:version_detail", args=[records["failed"].pk]),
            "train": reverse("lending:model_train"),
            "monitoring": reverse("monitoring:model_monitoring"),
        }
    if role == "compliance":
        return {
            "fairness": reverse("monitoring:fairness_dashboard"),
            "reports": reverse("analytics:fairness_report_list"),
            "report": reverse("analytics:fairness_report_detail", args=[records["report"].pk]),
            "audit": reverse("audit_search"),
            "override-report": reverse("lending:override_report"),
        }
    return {
        "analyst-home": reverse("clustering:analyst_home"),
        "experiments": reverse("clustering:experiment_list"),
    }


@pytest.mark.parametrize("role", ["officer", "manager", "compliance", "analyst"])
def test_each_roles_pages_fit_the_window_on_a_laptop_and_a_phone(
    role, live_server, page: Page, long_records, loan_officer, model_manager, compliance_officer, analyst
):
    user = {"officer": loan_officer, "manager": model_manager, "compliance": compliance_officer, "analyst": analyst}
    sign_in(page, live_server.url, user[role].username)
    too_wide = []
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        for name, path in _pages(role, long_records).items():
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None, path
            assert response.ok, f"{path} answered {response.status}"
            measured = page.evaluate(OVERFLOW)
            keep_screenshot(page, "layout", f"{role}-{name}-{viewport}")
            if measured["scrollWidth"] > measured["innerWidth"]:
                too_wide.append(f"{viewport} {path}: {measured}")
    assert not too_wide, "pages wider than the window:\n" + "\n".join(too_wide)


def test_the_long_name_wraps_in_the_application_list_instead_of_scrolling_it(
    live_server, page: Page, long_records, loan_officer
):
    sign_in(page, live_server.url, loan_officer.username)
    page.set_viewport_size(VIEWPORTS["desktop"])
    page.goto(f"{live_server.url}{reverse('lending:application_list')}")

    wrap = page.locator(".table-wrap").first
    widths = wrap.evaluate("(element) => [element.scrollWidth, element.clientWidth]")
    cell = page.get_by_role("cell", name=LONG_VALUE).first

    assert widths[0] <= widths[1]
    assert cell.bounding_box()["height"] > 40  # several lines


def test_a_table_wider_than_its_card_scrolls_in_place_and_the_keyboard_reaches_it(
    live_server, page: Page, long_records, compliance_officer
):
    sign_in(page, live_server.url, compliance_officer.username)
    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(f"{live_server.url}{reverse('analytics:fairness_report_detail', args=[long_records['report'].pk])}")

    region = page.get_by_role("region", name="Sex: each group's figures with their intervals (scrolls sideways)")

    assert region.get_attribute("tabindex") == "0"
    region.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")


def test_the_fairness_report_has_contents_that_link_to_its_sections(
    live_server, page: Page, long_records, compliance_officer
):
    sign_in(page, live_server.url, compliance_officer.username)
    page.goto(f"{live_server.url}{reverse('analytics:fairness_report_detail', args=[long_records['report'].pk])}")

    contents = page.get_by_role("navigation", name="Contents")
    contents.get_by_role("link", name="Age band").click()

    assert page.url.endswith("#attribute-age_band")
    assert page.locator("#attribute-age_band").evaluate("(element) => element.getBoundingClientRect().top") < 50


def test_the_favicon_is_linked_and_served_without_a_network(live_server, page: Page):
    page.goto(f"{live_server.url}/login/")
    icon = page.locator('link[rel="icon"]').get_attribute("href")

    linked = page.request.get(f"{live_server.url}{icon}")
    legacy = page.request.get(f"{live_server.url}/favicon.ico")

    assert linked.ok
    assert "svg" in linked.headers["content-type"]
    assert legacy.ok
    assert legacy.url.endswith(icon)
