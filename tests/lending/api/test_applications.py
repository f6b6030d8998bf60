"""Submitting, deciding and reading applications through the partner API."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import timezone

from analytics.services.serving import scorer_for_version
from lending.models import IdempotencyRecord, LoanApplication
from lending.tasks import partner_api_sweep
from tests.lending.api.helpers import application_body, bearer, submit

pytestmark = pytest.mark.django_db


def test_a_sync_submission_answers_with_the_decision_the_champion_makes(client, acme, champion):
    _, key = acme
    response = submit(client, key, application_body(), mode="sync")

    assert response.status_code == 201, response.json()
    body = response.json()
    application = LoanApplication.objects.get(pk=body["id"])
    assert response["Location"].endswith(f"/api/v1/applications/{application.pk}/")
    assert application.channel == "api"
    assert application.partner == acme[0]
    # Independently: the champion scoring the same inputs (the loan fields under the model's names).
    inputs = {**application_body()["features"], "credit_amount": 2500, "duration_in_month": 24, "purpose": "car (used)"}
    expected = scorer_for_version(champion).decide(inputs)
    decision = body["decision"]
    assert math.isclose(decision["probability_of_default"], expected.probability_of_default, rel_tol=1e-12)
    assert decision["score"] == expected.score
    assert decision["outcome"] == expected.outcome.value
    assert [reason["code"] for reason in decision["reasons"]] == [reason.code for reason in expected.reasons]
    assert decision["model_version"] == champion.pk
    assert body["applicant"]["reference"] == "customer-1042"


def test_an_async_submission_answers_202_and_the_decision_can_be_polled(
    client, acme, champion, eager_celery, django_capture_on_commit_callbacks
):
    _, key = acme
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = submit(client, key, application_body(), mode="async")
    assert response.status_code == 202
    assert response.json()["decision"] is None
    assert response.json()["status"] == "submitted"

    for callback in callbacks:  # what the commit would have queued, run as a worker would
        callback()
    polled = client.get(response["Location"], **bearer(key))

    assert polled.status_code == 200
    assert polled.json()["status"] == "decided"
    assert polled.json()["decision"]["outcome"] in ("approve", "refer", "decline")


def test_without_a_champion_a_sync_submission_is_stored_and_answered_202(client, acme):
    _, key = acme
    response = submit(client, key, application_body(), mode="sync")

    assert response.status_code == 202
    assert LoanApplication.objects.filter(pk=response.json()["id"], status="submitted").exists()


def test_it_requires_an_idempotency_key(client, acme, champion):
    _, key = acme
    response = client.post("/api/v1/applications/", application_body(), content_type="application/json", **bearer(key))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not LoanApplication.objects.exists()


def test_a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing(client, acme, champion):
    _, key = acme
    first = submit(client, key, application_body(), idempotency_key="retry-1")
    again = submit(client, key, application_body(), idempotency_key="retry-1")

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert LoanApplication.objects.count() == 1


def test_the_same_key_with_a_different_body_is_refused_with_422(client, acme, champion):
    _, key = acme
    submit(client, key, application_body(), idempotency_key="reused")
    other = application_body(loan={"amount": "9000.00", "term_months": 36, "purpose": "car (used)"})
    response = submit(client, key, other, idempotency_key="reused")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert LoanApplication.objects.count() == 1


def test_the_sweep_forgets_keys_past_their_ttl_and_keeps_the_rest(client, acme, champion, settings):
    _, key = acme
    submit(client, key, application_body(), idempotency_key="old")
    submit(client, key, application_body(), idempotency_key="recent")
    ttl = dt.timedelta(hours=settings.API_IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - ttl - dt.timedelta(minutes=1))
    IdempotencyRecord.objects.filter(key="recent").update(created_at=timezone.now() - ttl + dt.timedelta(minutes=1))

    assert partner_api_sweep()["idempotency_keys_expired"] == 1

    assert submit(client, key, application_body(), idempotency_key="recent")["Idempotent-Replayed"] == "true"
    renewed = submit(client, key, application_body(), idempotency_key="old")
    assert renewed.status_code == 201
    assert not renewed.has_header("Idempotent-Replayed")
    assert LoanApplication.objects.count() == 3


def test_two_partners_may_use_the_same_idempotency_key(client, acme, globex, champion):
    assert submit(client, acme[1], application_body(), idempotency_key="k").status_code == 201
    assert submit(client, globex[1], application_body(), idempotency_key="k").status_code == 201
    assert IdempotencyRecord.objects.filter(key="k").count() == 2


def test_it_names_every_invalid_field_at_once(client, acme, champion):
    _, key = acme
    features = {**application_body()["features"], "sex": "female", "favourite_colour": "blue", "housing": "castle"}
    del features["job"]
    body = application_body(
        applicant={"reference": "x", "age_years": 40},
        loan={"amount": "-5", "term_months": 0, "purpose": "yacht"},
        features=features,
        demographics={},
    )
    response = submit(client, key, body)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    named = {error["field"] for error in response.json()["errors"]}
    assert named == {
        "applicant.age_years",
        "loan.amount",
        "loan.term_months",
        "loan.purpose",
        "features.sex",
        "features.favourite_colour",
        "features.housing",
        "features.job",
        "demographics",
    }
    messages = {error["field"]: error["detail"] for error in response.json()["errors"]}
    assert "protected attribute" in messages["features.sex"]
    assert "protected attribute" in messages["applicant.age_years"]
    assert not LoanApplication.objects.exists()


def test_a_feature_the_loan_carries_is_refused_with_where_it_belongs(client, acme, champion):
    features = {**application_body()["features"], "credit_amount": 100}
    response = submit(client, acme[1], application_body(features=features))

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "features.credit_amount", "detail": "is given by loan.amount"}]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ('{"loan": {"amount": 1e999}}', "application/json", 400, "parse_error"),
        ('{"loan": NaN}', "application/json", 400, "parse_error"),
        ("amount=5", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"\xff\xfe", "application/json", 400, "parse_error"),
        ("[1, 2]", "application/json", 422, "invalid"),
        ('{"x": "' + "a" * 70_000 + '"}', "application/json", 413, "too_large"),
    ],
)
def test_malformed_bodies_get_the_status_they_deserve(client, acme, champion, content, content_type, status, code):
    response = client.post(
        "/api/v1/applications/", content, content_type=content_type, HTTP_IDEMPOTENCY_KEY="k", **bearer(acme[1])
    )

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response.json()["status"] == status


def test_an_unknown_mode_is_a_bad_request(client, acme, champion):
    response = submit(client, acme[1], application_body(), mode="later")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "mode"


def test_the_list_filters_and_pages_with_a_cursor(client, acme, champion):
    _, key = acme
    ids = [submit(client, key, application_body()).json()["id"] for _ in range(3)]
    undecided = submit(client, key, application_body(), mode="async").json()["id"]

    first = client.get("/api/v1/applications/?page_size=2", **bearer(key)).json()
    second = client.get(first["next"], **bearer(key)).json()
    pending = client.get("/api/v1/applications/?outcome=pending", **bearer(key)).json()

    assert [item["id"] for item in first["results"]] == [undecided, ids[2]]
    assert [item["id"] for item in second["results"]] == [ids[1], ids[0]]
    assert second["next"] is None
    assert [item["id"] for item in pending["results"]] == [undecided]


def test_the_list_filters_by_the_partners_own_applicant_reference(client, acme, champion):
    _, key = acme
    mine = submit(client, key, application_body(applicant={"reference": "cust-7"})).json()["id"]
    submit(client, key, application_body(applicant={"reference": "cust-8"}))

    found = client.get("/api/v1/applications/?applicant_reference=cust-7", **bearer(key)).json()

    assert [item["id"] for item in found["results"]] == [mine]


@pytest.mark.parametrize(
    "query",
    ["status=lost", "outcome=maybe", "submitted_from=yesterday", "page_size=0", "page_size=101", "cursor=bogus"],
)
def test_bad_query_parameters_are_named_in_a_400(client, acme, query):
    response = client.get(f"/api/v1/applications/?{query}", **bearer(acme[1]))

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == query.split("=")[0]


def test_a_tampered_cursor_is_a_bad_request_not_a_server_error(client, acme):
    import base64

    cursor = base64.b64encode(b"p=not-a-number").decode()
    response = client.get(f"/api/v1/applications/?cursor={cursor}", **bearer(acme[1]))

    assert response.status_code == 400


@pytest.mark.parametrize("application_id", ["abc", "0", "-1", "99999999999999999999999", "1.5"])
def test_ids_that_cannot_exist_answer_404(client, acme, application_id):
    response = client.get(f"/api/v1/applications/{application_id}/", **bearer(acme[1]))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_impossible_values_are_refused_naming_each_field_value_and_range_and_nothing_is_stored(client, acme, champion):
    body = application_body(loan={"amount": "999999999999", "term_months": 600, "purpose": "car (used)"})
    body["features"].update(
        installment_rate_in_percentage_of_disposable_income=99,
        present_residence_since=-3,
        number_of_existing_credits_at_this_bank=10**9,
        number_of_people_being_liable_to_provide_maintenance_for=-7,
    )

    response = submit(client, acme[1], body)

    assert response.status_code == 422
    assert {error["field"]: error["detail"] for error in response.json()["errors"]} == {
        "loan.amount": "999,999,999,999 is outside the allowed range 1 to 20,000",
        "loan.term_months": "600 is outside the allowed range 1 to 72",
        "features.installment_rate_in_percentage_of_disposable_income": "99 is outside the allowed range 1 to 4",
        "features.present_residence_since": "-3 is outside the allowed range 1 to 4",
        "features.number_of_existing_credits_at_this_bank": "1,000,000,000 is outside the allowed range 1 to 4",
        "features.number_of_people_being_liable_to_provide_maintenance_for": "-7 is outside the allowed range 1 to 2",
    }
    assert not LoanApplication.objects.exists()
