"""Browser tests: Debian's Chromium driven by Playwright against a live server and a real Celery worker.

Run: `.venv/bin/python -m pytest tests/browser` (with the usual DATABASE_URL / REDIS_URL isolation).
On failure each test leaves a full-page screenshot in var/screenshots/. Acceptance journeys also keep
screenshots of their steps, pass or fail, in var/test-artifacts/browser/ (`keep_screenshot`), for CI to
archive and for a reviewer to see what the person saw.
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"  # git-ignored (var/); kept by CI as test artefacts
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery-staple"  # the root conftest's make_user password
TRAINING_ROWS = 400
WAIT_SECONDS = 120

pytestmark = pytest.mark.integration

# Playwright's sync API runs an event loop in the test's thread; Django's ORM, called from the same
# thread for setup, checks and database teardown, refuses to run inside one unless told it is safe (it
# is: no coroutine touches the database). Subprocesses that check deployment settings drop the flag.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def open_page(
    request: pytest.FixtureRequest, browser: Browser, context: BrowserContext
) -> Iterator[Callable[[], Page]]:
    """Pages for further people (each its own browser context); every open page is photographed on failure."""
    opened: list[BrowserContext] = []

    def new_page() -> Page:
        opened.append(browser.new_context())
        return opened[-1].new_page()

    yield new_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for number, failed_page in enumerate(page for ctx in (context, *opened) for page in ctx.pages):
            failed_page.screenshot(path=str(SCREENSHOTS / f"failed-{request.node.name}-{number}.png"), full_page=True)
    for ctx in opened:
        ctx.close()


def wait_until(condition: Callable[[], bool], *, timeout: float = WAIT_SECONDS, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(0.5)


@pytest.fixture
def german_credit_sample(tmp_path: Path, transactional_db) -> None:
    """The first rows of German credit, imported through the real loader: enough to train on quickly."""
    from analytics.engine.dataset_schema import schema_load
    from lending.services.datasets import dataset_import

    schema = schema_load("german_credit")
    sample = tmp_path / "german_credit_sample.csv"
    with schema.resolve_file().open(newline="", encoding="utf-8") as source, sample.open("w", newline="") as target:
        reader = csv.reader(source)
        writer = csv.writer(target)
        for number, row in enumerate(reader):
            if number > TRAINING_ROWS:
                break
            writer.writerow(row)
    dataset_import(schema=schema, file=sample)


def champion_trained(*, family: str, trainer, approver):
    """Train on the real worker and promote with two people, as the registry requires."""
    from analytics.models import ModelVersion
    from analytics.services.registry import promotion_approve, promotion_request
    from lending.services.training import model_training_start

    version = model_training_start(dataset="german_credit", family=family, requested_by=trainer, seed=0)
    wait_until(
        lambda: ModelVersion.objects.get(pk=version.pk).status != ModelVersion.Status.TRAINING,
        message=f"model version {version.pk} to finish training",
    )
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.CANDIDATE, version.failure
    request = promotion_request(version=version, requested_by=trainer, exception_justification="Test set-up.")
    return promotion_approve(request=request, approved_by=approver, accept_exception=True)


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    field(page, "Username").fill(username)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


# Labels as the German credit schema words them (data/schemas/german_credit.yaml); values as the model knows them.
RISKY_APPLICATION = {
    "Checking account balance": "... < 0 DM",
    "Credit history": "all credits at this bank paid back duly",
    "Purpose": "education",
    "Savings and bonds": "... < 100 DM",
    "Employed for": "unemployed",
    "Other debtors or guarantors": "none",
    "Property": "unknown / no property",
    "Other instalment plans": "bank",
    "Housing": "for free",
    "Occupation": "unemployed/ unskilled - non-resident",
    "Telephone": "none",
}
RISKY_NUMBERS = {
    "Amount requested": "15000",
    "Term (months)": "60",
    "Instalment rate (band 1-4)": "4",
    "Years at present address (band 1-4)": "1",
    "Existing credits at this bank (band 1-4)": "3",
    "Dependants (1 or 2 or more)": "2",
}


def keep_screenshot(page: Page, journey: str, step: str) -> Path:
    """A full-page screenshot of a journey's step, kept as a test artefact: <journey>/<step>.png."""
    path = ARTIFACTS / journey / f"{step}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def field(page: Page, label: str) -> Locator:
    """The input labelled `label`; a required field's label ends with a visual "*" that screen readers skip."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def application_submitted(page: Page, base_url: str, full_name: str, transactions: Path | None = None) -> None:
    """Fill the new-application form from the keyboard's point of view: every field found by its label."""
    page.goto(f"{base_url}/lending/applications/new/")
    field(page, "Full name").fill(full_name)
    field(page, "Email").fill("applicant@example.com")
    for label, value in RISKY_NUMBERS.items():
        field(page, label).fill(value)
    for label, value in RISKY_APPLICATION.items():
        field(page, label).select_option(value)
    if transactions is not None:
        field(page, "Bank transactions (CSV, optional)").set_input_files(str(transactions))
    page.get_by_role("button", name="Submit application").click()
    page.wait_for_url(lambda url: "/lending/applications/new/" not in url)
