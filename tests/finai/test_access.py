"""Every portal page, taken from the URL configuration, for every persona: allowed, refused, or sent to sign in.

The expectation table is explicit, so a new page without an entry fails here until someone decides who
may see it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from analytics.models import FairnessReport, LdaSearch, ModelVersion, PromotionRequest
from clustering.models import ClusteringRun
from finai.models import AuditEvent
from finai.roles import Role
from lending.models import Loan, Override, ProtectedAttributes
from monitoring.models import ScreeningCase, ScreeningRun, SegmentProxyCheck
from monitoring.services.alerts import AlertBreach, alert_breach_record
from monitoring.services.scenarios import screening_scenarios_ensure
from tests.analytics.fairness_reports.records import fairness_report_record, lda_search_record
from tests.factories import LoanApplicationFactory, ModelVersionFactory
from tests.monitoring.lab_records import backtest_record, challenger_comparison_record

pytestmark = pytest.mark.django_db

PUBLIC = "public"
OFFICER = frozenset({Role.LOAN_OFFICER, Role.ADMIN})
MANAGER = frozenset({Role.MODEL_MANAGER, Role.ADMIN})
COMPLIANCE = frozenset({Role.COMPLIANCE_OFFICER, Role.ADMIN})
MANAGER_OR_COMPLIANCE = MANAGER | COMPLIANCE
SEGMENTATION = MANAGER | {Role.ANALYST}  # start clustering experiments, choose the segmentation in use
SEGMENT_READERS = MANAGER_OR_COMPLIANCE | {Role.ANALYST}
ANY_ROLE = frozenset(Role.values)

# URL name -> (roles allowed, or PUBLIC; the record whose id fills the path, if any)
EXPECTED: dict[str, tuple[frozenset[str] | str, str | None]] = {
    "home": (ANY_ROLE, None),
    "login": (PUBLIC, None),
    "logout": (PUBLIC, None),
    "favicon": (PUBLIC, None),
    "audit_search": (COMPLIANCE, None),
    "audit_verify": (COMPLIANCE, None),
    "audit_export": (COMPLIANCE, None),
    "lending:dashboard": (OFFICER, None),
    "lending:application_list": (OFFICER, None),
    "lending:application_export": (OFFICER, None),
    "lending:decision_export": (OFFICER, None),
    "lending:application_new": (OFFICER, None),
    "lending:application_detail": (OFFICER, "application"),
    "lending:application_status": (OFFICER, "application"),
    "lending:application_override": (OFFICER, "application"),
    "lending:application_override_approve": (OFFICER, "application"),
    "lending:application_override_reject": (OFFICER, "application"),
    "lending:override_queue": (OFFICER, None),
    "lending:my_overrides": (OFFICER, None),
    "lending:application_fund": (OFFICER, "application"),
    "lending:loan_list": (OFFICER, None),
    "lending:loan_detail": (OFFICER, "loan"),
    "lending:loan_withdraw": (OFFICER, "loan"),
    "lending:loan_close": (OFFICER, "loan"),
    "lending:adverse_action_notice": (OFFICER, "application"),
    "lending:override_report": (COMPLIANCE, None),
    "lending:outcomes_import": (OFFICER | MANAGER, None),
    "lending:model_train": (MANAGER, None),
    "lending:dataset_list": (MANAGER, None),
    "analytics:version_list": (MANAGER, None),
    "analytics:version_compare": (MANAGER, None),
    "analytics:rollback": (MANAGER, None),
    "analytics:version_detail": (MANAGER, "version"),
    "analytics:version_progress": (MANAGER, "version"),
    "analytics:promotion_request": (MANAGER, "version"),
    "analytics:set_challenger": (MANAGER, "version"),
    "analytics:promotion_approve": (MANAGER, "promotion"),
    "analytics:promotion_reject": (MANAGER, "promotion"),
    "monitoring:fairness_dashboard": (COMPLIANCE, None),
    "analytics:fairness_report_list": (COMPLIANCE, None),
    "analytics:fairness_report_upload": (COMPLIANCE, None),
    "analytics:fairness_version_report": (COMPLIANCE, None),
    "analytics:fairness_report_detail": (COMPLIANCE, "report"),
    "analytics:fairness_report_progress": (COMPLIANCE, "report"),
    "analytics:fairness_report_csv": (COMPLIANCE, "report"),
    "analytics:fairness_report_pdf": (COMPLIANCE, "report"),
    "monitoring:fairness_window_report": (COMPLIANCE, None),
    "analytics:lda_search_start": (MANAGER, "version"),
    "analytics:lda_search_detail": (MANAGER_OR_COMPLIANCE, "search"),
    "analytics:lda_search_progress": (MANAGER_OR_COMPLIANCE, "search"),
    "clustering:analyst_home": (SEGMENT_READERS, None),
    "clustering:experiment_list": (SEGMENT_READERS, None),
    "clustering:experiment_new": (SEGMENTATION, None),
    "clustering:experiment_detail": (SEGMENT_READERS, "experiment"),
    "clustering:experiment_progress": (SEGMENT_READERS, "experiment"),
    "clustering:experiment_resume": (SEGMENTATION, "experiment"),
    "clustering:run_detail": (SEGMENT_READERS, "run"),
    "clustering:run_choose": (SEGMENTATION, "run"),
    "monitoring:segment_proxy": (COMPLIANCE, "run"),
    "monitoring:segment_proxy_start": (COMPLIANCE, "run"),
    "monitoring:segment_proxy_progress": (COMPLIANCE, "proxy_check"),
    "monitoring:model_monitoring": (MANAGER, None),
    "monitoring:alert_acknowledge": (MANAGER, "alert"),
    "monitoring:alert_resolve": (MANAGER, "alert"),
    "monitoring:alert_export": (MANAGER, None),
    "monitoring:backtest_list": (MANAGER_OR_COMPLIANCE, None),
    "monitoring:backtest_detail": (MANAGER_OR_COMPLIANCE, "backtest"),
    "monitoring:backtest_progress": (MANAGER_OR_COMPLIANCE, "backtest"),
    "monitoring:backtest_attach": (MANAGER, "backtest"),
    "monitoring:challenger_comparison_list": (MANAGER_OR_COMPLIANCE, None),
    "monitoring:challenger_comparison_detail": (MANAGER_OR_COMPLIANCE, "comparison"),
    "monitoring:challenger_comparison_progress": (MANAGER_OR_COMPLIANCE, "comparison"),
    "monitoring:screening_queue": (COMPLIANCE, None),
    "monitoring:screening_case_export": (COMPLIANCE, None),
    "monitoring:screening_scenario_list": (COMPLIANCE, None),
    "monitoring:screening_scenario_new": (COMPLIANCE, None),
    "monitoring:screening_run_list": (COMPLIANCE, None),
    "monitoring:screening_quality": (COMPLIANCE, None),
    "monitoring:screening_models": (MANAGER_OR_COMPLIANCE, None),
    "monitoring:screening_case": (COMPLIANCE, "screening_case"),
    "monitoring:screening_case_act": (COMPLIANCE, "screening_case"),
    "monitoring:screening_case_sar_pdf": (COMPLIANCE, "screening_case"),
    "monitoring:screening_case_sar_csv": (COMPLIANCE, "screening_case"),
    "monitoring:screening_scenario": (COMPLIANCE, "scenario"),
    "monitoring:screening_version": (COMPLIANCE, "scenario_version"),
    "monitoring:screening_version_review": (COMPLIANCE, "scenario_version"),
    "monitoring:screening_test_run_start": (COMPLIANCE, "scenario_version"),
    "monitoring:screening_run": (COMPLIANCE, "screening_run"),
    "monitoring:screening_run_progress": (COMPLIANCE, "screening_run"),
}
# Not portal pages: they answer to their own rules and have their own tests.
NOT_PORTAL_PREFIXES = ("admin/", "api/")
NOT_PORTAL_NAMES = {"healthz", "readyz", "metrics"}  # operators' probes and their scrape (its token: test_metrics)

PERSONAS = ("anonymous", "outsider", *Role.values)
# An applicant's protected attributes, as values no page would show for any other reason.
PROTECTED_MARKERS = {"sex": "marker-sex-4b1f", "age_band": "marker-age-7d3a", "marital_status": "marker-marital-9c2e"}
POST_FORM = re.compile(r"<form\b(?=[^>]*\bmethod=\"post\")[^>]*>.*?</form>", re.IGNORECASE | re.DOTALL)
FORM_ACTION = re.compile(r"\baction=\"([^\"]*)\"")


def portal_patterns(resolvers=None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    """(route, name with namespace, pattern) for every URL pattern, recursively."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from portal_patterns(entry.url_patterns, route, inner)
        else:
            yield route, f"{namespace}{entry.name}" if entry.name else "", entry


def walked_pages() -> list[tuple[str, str]]:
    pages = []
    for route, name, _ in portal_patterns():
        if route.startswith(NOT_PORTAL_PREFIXES) or name in NOT_PORTAL_NAMES:
            continue
        pages.append((route, name))
    return pages


def test_every_portal_page_has_a_name_and_an_expectation():
    pages = walked_pages()
    unnamed = [route for route, name in pages if not name]
    unexpected = sorted(name for _, name in pages if name and name not in EXPECTED)
    stale = sorted(set(EXPECTED) - {name for _, name in pages})

    assert not unnamed, f"portal pages without a URL name: {unnamed}"
    assert not unexpected, f"portal pages missing from EXPECTED (decide who may see them): {unexpected}"
    assert not stale, f"EXPECTED lists pages that no longer exist: {stale}"


@pytest.fixture
def personas(loan_officer, model_manager, compliance_officer, analyst, outsider, administrator) -> dict:
    return {
        "anonymous": None,
        "outsider": outsider,
        Role.LOAN_OFFICER: loan_officer,
        Role.MODEL_MANAGER: model_manager,
        Role.COMPLIANCE_OFFICER: compliance_officer,
        Role.ANALYST: analyst,
        Role.ADMIN: administrator,
    }


@pytest.fixture
def records(decided_application, model_version, promotion, fairness_report, lda_search, clustering_run) -> dict:
    screening_version = screening_scenarios_ensure()[0]
    now = timezone.now()
    return {
        "application": decided_application,
        "loan": Loan.objects.create(
            application=LoanApplicationFactory(status="funded"), principal=1000, funded_on=now.date()
        ),
        "version": model_version,
        "promotion": promotion,
        "report": fairness_report,
        "search": lda_search,
        "experiment": clustering_run.experiment,
        "run": clustering_run,
        "proxy_check": SegmentProxyCheck.objects.create(run=clustering_run, requested_by=None),
        "alert": alert_breach_record(
            breach=AlertBreach(rule="feature_drift", subject="v1 duration", severity="warning", summary="PSI 0.2")
        ),
        "backtest": backtest_record(candidate=model_version, requested_by=None),
        "comparison": challenger_comparison_record(
            champion=model_version, challenger=ModelVersionFactory(), requested_by=None
        ),
        "screening_case": ScreeningCase.objects.create(account="ACC-1"),
        "scenario": screening_version.scenario,
        "scenario_version": screening_version,
        "screening_run": ScreeningRun.objects.create(
            kind="test", period_start=now - dt.timedelta(days=2), period_end=now
        ),
    }


@pytest.fixture
def fairness_report(compliance_officer) -> FairnessReport:
    return fairness_report_record(created_by=compliance_officer)


@pytest.fixture
def lda_search(model_version, model_manager) -> LdaSearch:
    return lda_search_record(base_version=model_version, requested_by=model_manager)


def _url(name: str, records: dict) -> str:
    record = EXPECTED[name][1]
    return reverse(name, kwargs={"pk": records[record].pk} if record else None)


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_exactly_the_pages_of_its_role(persona, personas, records):
    client = _client(personas[persona])
    wrong = []
    for _, name in walked_pages():
        allowed, _ = EXPECTED[name]
        url = _url(name, records)
        response = client.get(url)
        if allowed == PUBLIC or (persona != "anonymous" and persona in allowed):
            ok = response.status_code == 200 or (response.status_code == 302 and not _is_login_redirect(response))
        elif persona == "anonymous":
            ok = _is_login_redirect(response)
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append(f"GET {url} ({name}) -> {response.status_code} {response.get('Location', '')}")
    assert not wrong, f"{persona}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("persona", ["anonymous", "outsider", Role.LOAN_OFFICER, Role.COMPLIANCE_OFFICER, Role.ANALYST])
def test_refused_personas_cannot_post_to_pages_of_other_roles(persona, personas, records):
    client = _client(personas[persona])
    wrong = []
    for _, name in walked_pages():
        allowed, _ = EXPECTED[name]
        if allowed == PUBLIC or (persona != "anonymous" and persona in allowed):
            continue
        url = _url(name, records)
        response = client.post(url, {"outcome": "approve", "justification": "x" * 20, "product": "consumer_loan"})
        expected = _is_login_redirect(response) if persona == "anonymous" else response.status_code == 403
        if not expected:
            wrong.append(f"POST {url} ({name}) -> {response.status_code}")
    assert not wrong, f"{persona}:\n" + "\n".join(wrong)
    if persona not in OFFICER:
        assert not Override.objects.exists()
    assert not PromotionRequest.objects.exclude(status="pending").exists()
    assert not ModelVersion.objects.filter(status__in=("champion", "challenger")).exists()
    assert not ClusteringRun.objects.filter(chosen=True).exists()


@pytest.mark.parametrize("persona", Role.values)
def test_protected_values_appear_only_on_compliance_officers_pages(persona, personas, records):
    """Regulation B: fairness by group is for compliance staff; no other role's page shows a protected value, the
    administrator's included. A compliance officer sees them (in the override report by group), so the walk can
    find them."""
    ProtectedAttributes.objects.filter(applicant=records["application"].applicant).update(**PROTECTED_MARKERS)
    client = _client(personas[persona])
    shown = set()
    for _, name in walked_pages():
        response = client.get(_url(name, records))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        shown |= {f"{name}: {value}" for value in PROTECTED_MARKERS.values() if value.encode() in body}

    if persona == Role.COMPLIANCE_OFFICER:
        assert {entry.split(": ")[1] for entry in shown} == set(PROTECTED_MARKERS.values())
    else:
        assert not shown, f"{persona} sees protected values: {sorted(shown)}"


def test_anonymous_visitors_are_sent_to_the_portal_sign_in_page(records):
    """The admin's sign-in refuses staff without admin access, so officers must land on the portal's."""
    response = Client().get(reverse("lending:dashboard"))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("login")


def test_every_post_form_carries_a_csrf_token_and_posts_to_a_walked_page(administrator, records):
    """The administrator holds every role, so each page shows every form it has; the test below then proves each
    page the forms post to refuses a POST without the token."""
    client = _client(administrator)
    pages = {name for _, name in walked_pages()}
    without_token, targets = [], set()
    for name in sorted(pages):
        url = _url(name, records)
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        for form in POST_FORM.findall(response.content.decode()):
            if 'name="csrfmiddlewaretoken"' not in form:
                without_token.append(f"{url}: {form[:120]}")
            action = FORM_ACTION.search(form)
            targets.add(resolve(urlsplit(urljoin(url, action.group(1) if action else "")).path).view_name)

    assert not without_token, "POST forms without a CSRF token:\n" + "\n".join(without_token)
    assert targets <= pages, f"POST forms posting outside the walked pages: {sorted(targets - pages)}"
    assert len(targets) >= 20  # the probe found 20 POST forms: the walk reaches at least as many


def test_a_post_without_a_csrf_token_is_refused_on_every_page_and_changes_nothing(administrator, records):
    """A forged cross-site form meets Django's CSRF check before any portal view: 403, and nothing audited."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(administrator)
    events = AuditEvent.objects.count()
    accepted = []
    for _, name in walked_pages():
        url = _url(name, records)
        response = browser.post(
            url, {"outcome": "approve", "justification": "x" * 20, "note": "forged", "action": "approve"}
        )
        if response.status_code != 403 or b"CSRF" not in response.content:
            accepted.append(f"POST {url} ({name}) -> {response.status_code}")

    assert not accepted, "POSTs not refused by the CSRF check:\n" + "\n".join(accepted)
    assert AuditEvent.objects.count() == events
