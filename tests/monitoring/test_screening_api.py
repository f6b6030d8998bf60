"""Screening bookings through the partner API: verdicts, idempotency, named errors, batches, access, schema."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lending.models import IdempotencyRecord
from monitoring.models import ScreenedTransaction, ScreeningAlert, ScreeningCase
from monitoring.services.scenarios import screening_scenarios_ensure

pytestmark = pytest.mark.django_db

TRANSACTIONS = "/api/v1/screening/transactions/"
BATCHES = "/api/v1/screening/batches/"
# A week before now: the rules' windows and the "not in the future" check both hold whenever the tests run.
MONDAY = (timezone.now() - dt.timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def isolated_cache(settings) -> None:
    """Rate-limit counters of one test never reach another (nor another run sharing Redis)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def scenarios(db) -> None:
    screening_scenarios_ensure()


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def booking(number: int = 1, *, day: int = 0, **changes: Any) -> dict[str, Any]:
    body = {
        "transaction_id": f"tx-{number}",
        "account": "ACC-1042",
        "amount": "120.50",
        "direction": "out",
        "kind": "card",
        "counterparty": "M-17",
        "booked_at": (MONDAY + dt.timedelta(days=day)).isoformat(),
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not ...}


def deposit(number: int, *, day: int, account: str = "ACC-1042") -> dict[str, Any]:
    """A cash deposit of 9,500: just under the 10,000 reporting threshold."""
    return booking(number, day=day, account=account, amount="9500.00", direction="in", kind="cash", counterparty=...)


def post(client, key: str | None, body: Any, *, path: str = TRANSACTIONS, idempotency_key: str | None = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key or uuid.uuid4().hex, **(bearer(key) if key else {})}
    return client.post(path, body, content_type="application/json", **headers)


def fields(response: Any) -> dict[str, str]:
    return {error["field"]: error["detail"] for error in response.json()["errors"]}


# --- verdicts ------------------------------------------------------------------------------------------------------


def test_the_third_cash_deposit_just_under_the_threshold_within_a_week_is_an_alert_naming_structuring(client, acme):
    first = post(client, acme[1], deposit(1, day=0))
    second = post(client, acme[1], deposit(2, day=2))
    third = post(client, acme[1], deposit(3, day=4))

    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 201)
    assert first.json()["verdict"] == second.json()["verdict"] == "clear"
    body = third.json()
    assert body["verdict"] == "alert"
    assert body["transaction_id"] == "tx-3"
    [alert] = body["alerts"]
    assert alert["rule"] == "structuring v1"
    assert alert["typology"] == "structuring"
    assert "3 cash deposits" in alert["reason"]
    assert alert["score"] >= 1.0
    assert dt.datetime.fromisoformat(alert["window_end"]) == MONDAY + dt.timedelta(days=4)
    assert dt.datetime.fromisoformat(alert["window_start"]) <= MONDAY
    case = ScreeningCase.objects.get(pk=alert["case_id"])
    assert case.account == f"partner:{acme[0].pk}/ACC-1042"  # the partner's namespace
    assert case.status == ScreeningCase.Status.PENDING


def test_an_ordinary_card_payment_is_clear_and_stored_under_the_partner(client, acme):
    response = post(client, acme[1], booking(1))

    assert response.status_code == 201
    assert response.json() == {
        "transaction_id": "tx-1",
        "account": "ACC-1042",
        "booked_at": response.json()["booked_at"],
        "verdict": "clear",
        "alerts": [],
    }
    stored = ScreenedTransaction.objects.get()
    assert (stored.source, stored.partner, stored.account, stored.counterparty, stored.kind) == (
        f"partner:{acme[0].pk}",
        acme[0],
        f"partner:{acme[0].pk}/ACC-1042",
        f"partner:{acme[0].pk}/M-17",
        "card",
    )
    assert stored.booked_at == MONDAY


def test_a_cash_booking_may_leave_out_the_counterparty_and_send_the_time_with_any_offset(client, acme):
    moment = (MONDAY.astimezone(dt.timezone(dt.timedelta(hours=-5)))).isoformat()
    response = post(client, acme[1], booking(1, counterparty=None, kind="CASH", booked_at=moment))

    assert response.status_code == 201, response.json()
    stored = ScreenedTransaction.objects.get()
    assert (stored.counterparty, stored.kind, stored.booked_at) == ("", "cash", MONDAY)


# --- idempotency and conflicts ---------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_verdict_and_screens_nothing_again(client, acme):
    for number, day in ((1, 0), (2, 1)):
        post(client, acme[1], deposit(number, day=day))
    first = post(client, acme[1], deposit(3, day=2), idempotency_key="retry-me")
    retried = post(client, acme[1], deposit(3, day=2), idempotency_key="retry-me")

    assert retried.status_code == 201
    assert retried["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert retried.json() == first.json()
    assert first.json()["verdict"] == "alert"
    assert ScreenedTransaction.objects.count() == 3
    assert ScreeningAlert.objects.count() == 1


def test_the_same_key_with_a_different_booking_is_refused_and_stores_nothing(client, acme):
    post(client, acme[1], booking(1), idempotency_key="once")
    response = post(client, acme[1], booking(2), idempotency_key="once")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in fields(response)
    assert ScreenedTransaction.objects.count() == 1


def test_a_transaction_id_sent_before_under_a_new_key_is_a_conflict(client, acme):
    post(client, acme[1], booking(1))
    response = post(client, acme[1], booking(1, amount="99.00"))

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "transaction_id tx-1" in fields(response)
    assert ScreenedTransaction.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1  # the refused request left its key free


def test_without_an_idempotency_key_nothing_is_screened(client, acme):
    response = client.post(TRANSACTIONS, booking(1), content_type="application/json", **bearer(acme[1]))

    assert response.status_code == 400
    assert "Idempotency-Key" in fields(response)
    assert not ScreenedTransaction.objects.exists()


# --- invalid input -------------------------------------------------------------------------------------------------


def test_every_invalid_field_is_named_in_one_problem_document(client, acme):
    body = {
        "account": "",
        "amount": "-5",
        "direction": "sideways",
        "kind": "cash!",
        "booked_at": "2025-03-04T10:15:00",
        "counterparty": "x" * 101,
        "sex": "female",
        "balance": 10,
    }
    response = post(client, acme[1], body)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    named = fields(response)
    assert set(named) == {
        "transaction_id",
        "account",
        "amount",
        "direction",
        "kind",
        "booked_at",
        "counterparty",
        "sex",
        "balance",
    }
    assert "UTC offset" in named["booked_at"]
    assert "protected attribute" in named["sex"]
    assert named["balance"] == "is not a known field"
    assert not ScreenedTransaction.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "0"),
        ("amount", "0.001"),
        ("amount", "NaN"),
        ("amount", "1e20"),
        ("amount", True),
        ("amount", [1]),
        ("booked_at", "0001-01-01T00:00:00+05:00"),
        ("booked_at", "9999-12-31T23:59:59-05:00"),
        ("booked_at", "1899-12-31T23:00:00Z"),
        ("booked_at", "2025-02-30T10:00:00Z"),
        ("booked_at", "2025-03-04"),
        ("booked_at", 1_741_080_000),
        ("transaction_id", "a\x00b"),
        ("transaction_id", "x" * 101),
        ("account", {"id": 1}),
        ("kind", "x" * 31),
    ],
)
def test_a_bad_value_is_refused_by_name_never_a_server_error(client, acme, field, value):
    response = post(client, acme[1], booking(1, **{field: value}))

    assert response.status_code == 422, response.content
    assert set(fields(response)) == {field}


def test_a_booking_in_the_future_is_refused(client, acme):
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    response = post(client, acme[1], booking(1, booked_at=later))

    assert response.status_code == 422
    assert "future" in fields(response)["booked_at"]


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null", "{", '{"amount": NaN}'])
def test_a_body_that_is_not_a_booking_object_is_refused_not_a_server_error(client, acme, body):
    response = client.post(
        TRANSACTIONS, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k", **bearer(acme[1])
    )

    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


# --- batches -------------------------------------------------------------------------------------------------------


def test_a_batch_is_screened_in_one_pass_with_a_verdict_per_booking_in_the_order_sent(client, acme):
    bookings = [deposit(1, day=0), booking(2, day=1), deposit(3, day=2), deposit(4, day=3, account="ACC-9")]
    bookings.insert(3, deposit(5, day=3))
    response = post(client, acme[1], {"transactions": bookings}, path=BATCHES)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["count"], body["alerts"]) == (5, 3)
    assert [item["transaction_id"] for item in body["transactions"]] == ["tx-1", "tx-2", "tx-3", "tx-5", "tx-4"]
    verdicts = {item["transaction_id"]: item["verdict"] for item in body["transactions"]}
    # The structuring window holds the three deposits on ACC-1042: each of them is part of the alert.
    assert verdicts == {"tx-1": "alert", "tx-2": "clear", "tx-3": "alert", "tx-5": "alert", "tx-4": "clear"}
    assert body["transactions"][3]["alerts"][0]["rule"] == "structuring v1"
    assert ScreenedTransaction.objects.count() == 5


def test_one_invalid_booking_refuses_the_whole_batch_naming_it_by_position(client, acme):
    bookings = [booking(1), booking(2, amount="-1", direction="up"), booking(3, booked_at="yesterday"), "text"]
    response = post(client, acme[1], {"transactions": bookings}, path=BATCHES)

    assert response.status_code == 422
    assert set(fields(response)) == {
        "transactions[1].amount",
        "transactions[1].direction",
        "transactions[2].booked_at",
        "transactions[3]",
    }
    assert not ScreenedTransaction.objects.exists()


def test_a_transaction_id_twice_in_a_batch_is_named_where_it_repeats(client, acme):
    response = post(client, acme[1], {"transactions": [booking(1), booking(2), booking(1)]}, path=BATCHES)

    assert response.status_code == 422
    assert fields(response) == {"transactions[2].transaction_id": "repeats transactions[0]"}


def test_a_batch_with_an_id_stored_before_is_a_conflict_and_stores_none_of_it(client, acme):
    post(client, acme[1], booking(2))
    response = post(client, acme[1], {"transactions": [booking(1), booking(2)]}, path=BATCHES)

    assert response.status_code == 409
    assert ScreenedTransaction.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"transactions": []}, "transactions"),
        ({"transactions": "all of them"}, "transactions"),
        ({}, "transactions"),
        ({"transactions": [booking(1)], "product": "x"}, "product"),
    ],
)
def test_a_malformed_batch_envelope_is_named(client, acme, body, field):
    response = post(client, acme[1], body, path=BATCHES)

    assert response.status_code == 422
    assert field in fields(response)


def test_a_batch_of_more_than_10000_bookings_is_too_large(client, acme):
    response = post(client, acme[1], {"transactions": [booking(1)] * 10_001}, path=BATCHES)

    assert response.status_code == 413
    assert not ScreenedTransaction.objects.exists()


def test_a_batch_lists_at_most_100_problems_and_counts_the_rest(client, acme):
    response = post(client, acme[1], {"transactions": [{}] * 30}, path=BATCHES)

    named = fields(response)
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 101
    assert "further problems not listed" in named["transactions"]


def test_a_batch_retried_with_its_key_replays_its_verdicts(client, acme):
    body = {"transactions": [booking(1), booking(2)]}
    first = post(client, acme[1], body, path=BATCHES, idempotency_key="batch-1")
    retried = post(client, acme[1], body, path=BATCHES, idempotency_key="batch-1")

    assert retried.status_code == 201
    assert retried["Idempotent-Replayed"] == "true"
    assert retried.json() == first.json()
    assert ScreenedTransaction.objects.count() == 2


# --- who may call ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TRANSACTIONS, BATCHES])
def test_without_a_key_it_answers_401(client, path):
    response = post(client, None, {"transactions": [booking(1)]} if path == BATCHES else booking(1), path=path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not ScreenedTransaction.objects.exists()


def test_a_loan_officers_session_may_submit_and_its_bookings_are_the_staffs(client, loan_officer):
    client.force_login(loan_officer)
    response = post(client, None, booking(1))

    assert response.status_code == 201
    assert ScreenedTransaction.objects.get().source == "staff"


def test_a_user_without_a_submitting_role_is_forbidden(client, outsider):
    client.force_login(outsider)

    assert post(client, None, booking(1)).status_code == 403


def test_partners_have_their_own_transaction_ids_and_idempotency_keys(client, acme, globex):
    mine = post(client, acme[1], booking(1), idempotency_key="shared")
    theirs = post(client, globex[1], booking(1, amount="7.00"), idempotency_key="shared")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert ScreenedTransaction.objects.filter(external_id="tx-1").count() == 2


def test_another_partners_bookings_on_the_same_account_number_never_raise_my_alert(client, acme, globex):
    post(client, globex[1], deposit(1, day=0))
    post(client, globex[1], deposit(2, day=1))
    response = post(client, acme[1], deposit(3, day=2))

    assert response.json()["verdict"] == "clear"


# --- schema ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/schema/?format=json").json()


def test_the_schema_documents_both_operations_with_strict_inputs_and_examples_that_fit(openapi):
    single = openapi["paths"][TRANSACTIONS]["post"]
    batch = openapi["paths"][BATCHES]["post"]
    components = openapi["components"]

    assert {single["operationId"], batch["operationId"]} == {
        "screening_transactions_create",
        "screening_batches_create",
    }
    assert components["schemas"]["BookingInputRequest"]["additionalProperties"] is False
    for operation, component in ((single, "BookingInputRequest"), (batch, "BookingBatchInputRequest")):
        assert any(parameter["name"] == "Idempotency-Key" for parameter in operation["parameters"])
        assert {"401", "409", "413", "422", "429"} <= set(operation["responses"])
        request_schema = {"$ref": f"#/components/schemas/{component}", "components": components}
        for example in operation["requestBody"]["content"]["application/json"]["examples"].values():
            Draft7Validator(request_schema).validate(example["value"])


def test_the_schemas_request_examples_are_accepted(client, openapi, acme):
    body = openapi["paths"][TRANSACTIONS]["post"]["requestBody"]["content"]["application/json"]["examples"]
    example = next(iter(body.values()))["value"]

    assert post(client, acme[1], example).status_code == 201


@pytest.fixture
def wsgi_application():
    """Django's WSGI handler, kept from closing the test's connection after each request (as the test client does)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.mark.parametrize("credential", ["partner key", "none"])
@pytest.mark.parametrize("label", [f"POST {TRANSACTIONS}", f"POST {BATCHES}"])
def test_generated_requests_never_get_a_server_error_and_match_the_schema(
    label, credential, acme, settings, wsgi_application
):
    settings.API_RATE_LIMIT = "1000000/minute"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    operation = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_application, config=config).find_operation_by_label(
        label
    )
    headers = {"Authorization": f"Bearer {acme[1]}"} if credential == "partner key" else {}
    statuses: list[int] = []

    @given(case=st.one_of([operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]))
    @hypothesis_settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def exercise(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            headers=headers,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        )
        statuses.append(response.status_code)

    exercise()

    assert all(status < 500 for status in statuses)
    if credential == "none":
        assert 401 in statuses
