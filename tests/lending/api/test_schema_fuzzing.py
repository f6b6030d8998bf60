"""Schemathesis against the live schema, in process over WSGI: every operation, valid key and none.

At least 200 generated requests per operation and credential, half built to fit the schema and half
built to break it (NUL bytes and all): no answer may be a 5xx, and every answer must match the schema
— its status documented, its media type, body and headers as documented.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lending.models import Decision
from lending.services.applications import loan_fund
from tests.lending.api.helpers import application_body, bearer, submit
from tests.lending.overrides import override_to_approve

CASES_PER_OPERATION = 200
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
OPERATIONS = [
    "POST /api/v1/applications/",
    "GET /api/v1/applications/",
    "GET /api/v1/applications/{id}/",
    "POST /api/v1/batches/",
    "GET /api/v1/batches/",
    "GET /api/v1/batches/{id}/",
    "GET /api/v1/batches/{id}/results/",
    "POST /api/v1/loans/{id}/outcomes/",
]
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})


@pytest.fixture
def wsgi_application():
    """Django's WSGI handler, kept from closing the test's connection after each request (as the test client does)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def existing(client, acme, champion, loan_officer, second_loan_officer) -> dict[str, int]:
    """One record of each kind the paths can name, so generated requests also reach the 200 paths."""
    application_id = submit(client, acme[1], application_body()).json()["id"]
    decision = Decision.objects.get(application_id=application_id, is_shadow=False)
    if decision.outcome != "approve":
        override_to_approve(decision, officer=loan_officer, second_officer=second_loan_officer)
    loan = loan_fund(application=decision.application, principal=Decimal("2500"), funded_on=dt.date(2020, 1, 1))
    batch = client.post(
        "/api/v1/batches/",
        {"applications": [application_body(), {}]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="fuzz-batch",
        **bearer(acme[1]),
    ).json()
    ids = {
        "/api/v1/applications/{id}/": application_id,
        "/api/v1/batches/{id}/": batch["id"],
        "/api/v1/batches/{id}/results/": batch["id"],
        "/api/v1/loans/{id}/outcomes/": loan.pk,
    }
    return ids


@pytest.mark.django_db
@pytest.mark.parametrize("credential", ["partner key", "none"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_requests_never_get_a_server_error_and_always_match_the_schema(
    label, credential, acme, existing, settings, wsgi_application
):
    settings.API_RATE_LIMIT = "1000000/minute"  # the fuzzer is one very busy partner
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_application, config=CONFIG)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is missing from the schema"
    headers = {"Authorization": f"Bearer {acme[1]}"} if credential == "partner key" else {}
    strategies = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    path = label.split(" ", 1)[1]
    if path in existing:  # also aim at a record that exists (a random id nearly never does)
        fixed = {"path_parameters": {"id": existing[path]}}
        strategies += [
            operation.as_strategy(mode, **fixed) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    statuses: list[int] = []

    @given(case=st.one_of(strategies))
    @hypothesis_settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.append(response.status_code)

    exercise()

    assert len(statuses) >= CASES_PER_OPERATION
    if credential == "none":  # nothing succeeds; what is not refused for the key is refused as malformed
        assert 401 in statuses
        assert all(400 <= status < 500 for status in statuses)
    else:
        assert any(200 <= status < 300 for status in statuses), f"no generated request succeeded: {set(statuses)}"
