"""Every API route, taken from the URL configuration, for every caller: only the intended answers succeed.

Callers: anonymous, a signed-in user without a role, a session of each portal role, and two partners' keys. Object
routes name partner A's records, which partner B must find indistinguishable from missing (404): a partner's ids
are its own. The expectation table is explicit, so a new route without an entry fails here until someone decides
who may call it. Staff read every partner's records (the product gives officers a shared queue, not their own).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from finai.logs import json_formatter
from finai.models import AuditEvent
from finai.roles import Role
from lending.api.features import protected_names
from lending.models import Loan, LoanApplication, ProtectedAttributes
from tests.factories import DecisionFactory, LoanApplicationFactory
from tests.finai.test_access import portal_patterns
from tests.lending.api.helpers import application_body, bearer

pytestmark = pytest.mark.django_db

PARTNER_A, PARTNER_B = "partner_a", "partner_b"
CALLERS = ("anonymous", "outsider", *Role.values, PARTNER_A, PARTNER_B)
EVERYONE = frozenset(CALLERS)
PARTNERS = frozenset({PARTNER_A, PARTNER_B})
# lending.api.permissions.IsPartnerOrStaff: partners use every operation; staff read as officers or reviewers and
# write as loan officer or admin. The analyst works on segments, never applicants' files.
READERS = PARTNERS | {Role.LOAN_OFFICER, Role.MODEL_MANAGER, Role.COMPLIANCE_OFFICER, Role.ADMIN}
WRITERS = PARTNERS | {Role.LOAN_OFFICER, Role.ADMIN}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class ApiRoute:
    """Who may call each method of a route, and the status they get; any other method must not succeed."""

    operations: dict[str, tuple[frozenset[str], int]]
    record: str | None = None  # partner A's record whose id fills the path: partner B gets 404
    path: str = ""  # for a route without a name
    write_query: str = ""  # appended to the path of every method but GET


# Route name (or pattern, for the unnamed catch-all) -> its expectation.
EXPECTED: dict[str, ApiRoute] = {
    "api:application-list": ApiRoute({"GET": (READERS, 200), "POST": (WRITERS, 202)}, write_query="?mode=async"),
    "api:application-detail": ApiRoute({"GET": (READERS, 200)}, record="application"),
    "api:batch-list": ApiRoute({"GET": (READERS, 200), "POST": (WRITERS, 202)}),
    "api:batch-detail": ApiRoute({"GET": (READERS, 200)}, record="batch"),
    "api:batch-results": ApiRoute({"GET": (READERS, 200)}, record="batch"),
    "api:loan-outcomes": ApiRoute({"POST": (WRITERS, 201)}, record="loan"),
    "api:schema": ApiRoute({"GET": (EVERYONE, 200)}),
    "api:docs": ApiRoute({"GET": (EVERYONE, 200)}),
    "api:docs-script": ApiRoute({"GET": (EVERYONE, 200)}),
    "api:docs-stylesheet": ApiRoute({"GET": (EVERYONE, 200)}),
    "api/^(?P<path>.*)$": ApiRoute({method: (EVERYONE, 404) for method in METHODS}, path="/api/v2/nothing-here/"),
    "screening_api:transactions": ApiRoute({"POST": (WRITERS, 201)}),
    "screening_api:batches": ApiRoute({"POST": (WRITERS, 201)}),
}
SENTINELS = {
    "sex": "sentinel-sex-4b1f",
    "marital_status": "sentinel-marital-9c2e",
    "age_band": "sentinel-age-7d3a",
    "race_ethnicity": "sentinel-race-1e8b",
    "national_origin": "sentinel-origin-5f6c",
}


def api_routes() -> list[str]:
    """The key in EXPECTED (name, or pattern where unnamed) of every route under /api/, whatever module mounts it."""
    return [name or route for route, name, _ in portal_patterns() if route.startswith("api/")]


def test_every_api_route_has_an_expectation():
    keys = set(api_routes())

    assert not keys - set(EXPECTED), (
        f"API routes missing from EXPECTED (decide who may call them): {keys - set(EXPECTED)}"
    )
    assert not set(EXPECTED) - keys, f"EXPECTED lists API routes that no longer exist: {set(EXPECTED) - keys}"


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings) -> None:
    """This module's requests never meet another run's rate-limit log in the shared Redis."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def callers(loan_officer, model_manager, compliance_officer, analyst, administrator, outsider, acme, globex) -> dict:
    """A session or a key per caller; None for anonymous."""
    return {
        "anonymous": None,
        "outsider": outsider,
        Role.LOAN_OFFICER: loan_officer,
        Role.MODEL_MANAGER: model_manager,
        Role.COMPLIANCE_OFFICER: compliance_officer,
        Role.ANALYST: analyst,
        Role.ADMIN: administrator,
        PARTNER_A: acme[1],
        PARTNER_B: globex[1],
    }


@pytest.fixture
def partner_a_records(client, acme) -> dict[str, int]:
    """Partner A's decided application (with protected attributes recorded), its funded loan and a batch."""
    partner = acme[0]
    application = LoanApplicationFactory(partner=partner, applicant__full_name="Pat Partner")
    ProtectedAttributes.objects.create(applicant=application.applicant, **SENTINELS)
    DecisionFactory(application=application, outcome="approve")
    funded = LoanApplicationFactory(partner=partner, status=LoanApplication.Status.FUNDED)
    loan = Loan.objects.create(application=funded, principal=Decimal("1000"), funded_on=dt.date(2025, 1, 2))
    batch = client.post(
        reverse("api:batch-list"),
        {"applications": [application_body()]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="partner-a-batch",
        **bearer(acme[1]),
    )
    assert batch.status_code == 202, batch.content
    return {"application": application.pk, "loan": loan.pk, "batch": batch.json()["id"]}


def _url(key: str, records: dict[str, int]) -> str:
    route = EXPECTED[key]
    if route.path:
        return route.path
    return reverse(key, kwargs={"id": records[route.record]} if route.record else None)


def _body(key: str, caller: str) -> dict[str, Any]:
    """A valid body for the route's write (unique per caller where the API refuses a repeat)."""
    unique = f"{caller}-{uuid.uuid4().hex[:8]}"
    booking = {
        "transaction_id": f"tx-{unique}",
        "account": "ACC-1",
        "amount": "120.50",
        "direction": "in",
        "kind": "card",
        "booked_at": "2025-03-04T10:15:00Z",
    }
    bodies = {
        "api:application-list": application_body(applicant={"reference": unique, "full_name": "Sam Submit"}),
        "api:batch-list": {"applications": [application_body()]},
        "api:loan-outcomes": {
            "status": "current",
            "days_past_due": 0,
            "as_of": str(dt.date(2025, 2, 1) + dt.timedelta(days=CALLERS.index(caller))),
        },
        "screening_api:transactions": booking,
        "screening_api:batches": {"transactions": [booking]},
    }
    return bodies.get(key, {})


def _call(client: Client, caller: str, credential: Any, method: str, url: str, body: dict[str, Any]) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
    if caller in PARTNERS:
        headers.update(bearer(credential))
    send = getattr(client, method.lower())
    if method == "GET":
        return send(url, **headers)
    return send(url, json.dumps(body), content_type="application/json", **headers)


def _signed_in(caller: str, credential: Any) -> Client:
    client = Client()
    if credential is not None and caller not in PARTNERS:
        client.force_login(credential)
    return client


def _expected_status(key: str, method: str, caller: str) -> int | None:
    """The status the caller must get; None for a method the route does not offer (any refusal, 4xx, will do)."""
    route = EXPECTED[key]
    if method not in route.operations:
        return None
    allowed, success = route.operations[method]
    if caller in allowed and not (route.record and caller == PARTNER_B):
        return success
    if caller == "anonymous":
        return 401
    if caller == PARTNER_B:
        return 404  # partner A's record is not in partner B's id space
    return 403


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_exactly_the_api_operations_intended(caller, callers, partner_a_records):
    client = _signed_in(caller, callers[caller])
    wrong = []
    for key in api_routes():
        url = _url(key, partner_a_records)
        for method in METHODS:
            target = url if method == "GET" else url + EXPECTED[key].write_query
            response = _call(client, caller, callers[caller], method, target, _body(key, caller))
            expected = _expected_status(key, method, caller)
            ok = response.status_code == expected if expected else 400 <= response.status_code < 500
            if not ok:
                wrong.append(f"{method} {url} ({key}) -> {response.status_code}, expected {expected or 'a 4xx'}")
    assert not wrong, f"{caller}:\n" + "\n".join(wrong)


def test_a_staff_session_cannot_write_through_the_api_without_a_csrf_token(loan_officer, acme):
    """Sessions are the browser's credential, so a session write needs Django's CSRF token; a key does not."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(loan_officer)
    headers = {"content_type": "application/json", "HTTP_IDEMPOTENCY_KEY": "csrf-1"}
    url = reverse("api:application-list") + "?mode=async"

    refused = browser.post(url, json.dumps(application_body()), **headers)
    with_key = Client(enforce_csrf_checks=True).post(url, json.dumps(application_body()), **headers, **bearer(acme[1]))

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert with_key.status_code == 202
    assert LoanApplication.objects.filter(submitted_by=loan_officer).count() == 0


# Protected attributes -----------------------------------------------------------------------------------------


def _hostile_requests() -> list[tuple[str, str, Any, str]]:
    """Requests that carry protected attributes with their values, each refused by the attribute's name (a batch
    row by row), one of them malformed JSON: (method, url, body, content type)."""
    values = {"sex": SENTINELS["sex"], "personal_status_and_sex": SENTINELS["marital_status"], "age_in_years": 97}
    features = {**application_body()["features"], **values}
    applications, batches = reverse("api:application-list"), reverse("api:batch-list")
    csv_body = "amount,term_months,purpose,sex\n2500,24,car (used)," + SENTINELS["sex"] + "\n"
    return [
        ("POST", applications, application_body(features=features), "application/json"),
        ("POST", applications, application_body(race_ethnicity=SENTINELS["race_ethnicity"]), "application/json"),
        ("POST", applications, '{"features": {"national_origin": "' + SENTINELS["national_origin"], "application/json"),
        ("POST", batches, {"applications": [application_body(features=features)]}, "application/json"),
        ("POST", batches, csv_body, "text/csv"),
        ("GET", f"{applications}?age_band={SENTINELS['age_band']}", None, ""),
    ]


def _send(client: Client, key: str, method: str, url: str, body: Any, content_type: str) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex, **bearer(key)}
    if method == "GET":
        return client.get(url, **headers)
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, text, content_type=content_type, **headers)


def _keys(document: Any) -> set[str]:
    if isinstance(document, dict):
        return set(document).union(*(_keys(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(_keys(value) for value in document))
    return set()


def test_no_api_answer_error_or_log_line_holds_a_protected_value(client, callers, acme, partner_a_records, caplog):
    """Regulation B: protected attributes are compliance's, and the API shows them to no caller at all."""
    caplog.set_level(logging.DEBUG)
    answers = []
    for caller in CALLERS:
        session = _signed_in(caller, callers[caller])
        for key in api_routes():
            if "GET" in EXPECTED[key].operations:
                answers.append(_call(session, caller, callers[caller], "GET", _url(key, partner_a_records), {}))
    refusals = [_send(client, acme[1], *request) for request in _hostile_requests()]
    formatter = json_formatter()
    logged = "\n".join(f"{record.getMessage()} {formatter.format(record)}" for record in caplog.records)

    assert [answer.status_code for answer in [*answers, *refusals] if answer.status_code >= 500] == []
    # A problem's `instance` is the caller's own request URI, query included, said back to that caller only.
    messages = [
        json.dumps({name: part for name, part in refusal.json().items() if name != "instance"}) for refusal in refusals
    ]
    texts = [*(answer.getvalue().decode() for answer in answers), *messages]
    for value in SENTINELS.values():
        assert not [text for text in texts if value in text], f"{value} answered"
        assert value not in logged, f"{value} logged"
    shown_keys = set().union(*(_keys(answer.json()) for answer in answers if answer["Content-Type"].endswith("json")))
    assert not shown_keys & protected_names()
    # Refused by name, so the checks above are not vacuous.
    assert {"features.sex", "features.personal_status_and_sex"} <= {
        item["field"] for item in refusals[0].json()["errors"]
    }
    assert caplog.records, "no log line was captured"


def test_a_batch_row_refused_for_a_protected_attribute_shows_the_field_never_its_value(client, acme):
    features = {**application_body()["features"], "sex": SENTINELS["sex"]}
    created = _send(
        client,
        acme[1],
        "POST",
        reverse("api:batch-list"),
        {"applications": [application_body(features=features)]},
        "application/json",
    )
    batch = client.get(created.json()["url"], **bearer(acme[1]))
    results = client.get(created.json()["results_url"] + "?format=csv", **bearer(acme[1]))

    assert created.status_code == 202
    [refused] = batch.json()["errors"]
    assert refused["errors"].keys() == {"features.sex"}
    for answer in (created, batch, results):
        assert SENTINELS["sex"] not in answer.content.decode()
    audited = json.dumps(list(AuditEvent.objects.values_list("payload", flat=True)))
    assert SENTINELS["sex"] not in audited
