"""The OpenAPI schema, its examples, the local documentation page, and 404s as problems."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft7Validator

from analytics.engine.dataset_schema import schema_load
from analytics.services.registry import promotion_approve, promotion_request
from lending.api.features import feature_rules
from lending.api.openapi import EXAMPLE_APPLICATION, example_application
from tests.lending.api.helpers import application_body, bearer, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(client, champion) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_public_and_describes_every_operation(openapi):
    operations = {(method.upper(), path) for path, item in openapi["paths"].items() for method in item}

    assert openapi["openapi"].startswith("3.")
    assert operations == {
        ("POST", "/api/v1/applications/"),
        ("GET", "/api/v1/applications/"),
        ("GET", "/api/v1/applications/{id}/"),
        ("POST", "/api/v1/batches/"),
        ("GET", "/api/v1/batches/"),
        ("GET", "/api/v1/batches/{id}/"),
        ("GET", "/api/v1/batches/{id}/results/"),
        ("POST", "/api/v1/loans/{id}/outcomes/"),
        ("POST", "/api/v1/screening/transactions/"),
        ("POST", "/api/v1/screening/batches/"),
    }
    assert openapi["components"]["securitySchemes"]["partnerKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A partner API key: `Bearer fai_...`.",
    }
    assert "FinAI-Signature" in openapi["info"]["description"]


def test_the_features_in_the_schema_are_the_champions_own(openapi, champion):
    from analytics.services.serving import scorer_for_version

    features = openapi["components"]["schemas"]["ApplicationInputRequest"]["properties"]["features"]
    coding = scorer_for_version(champion).coding
    loan_fields = {"credit_amount", "duration_in_month", "purpose"}

    assert set(features["properties"]) == set(coding.spec.names) - loan_fields
    assert features["additionalProperties"] is False
    assert features["properties"]["housing"]["enum"] == list(coding.categories["housing"])
    assert not {"sex", "age_years", "personal_status_and_sex", "foreign_worker"} & set(features["properties"])


def _request_example(openapi: dict) -> dict:
    body = openapi["paths"]["/api/v1/applications/"]["post"]["requestBody"]["content"]["application/json"]
    return next(iter(body["examples"].values()))["value"]


def test_the_request_example_is_built_from_the_champions_data_set_fits_its_schema_and_is_accepted(
    openapi, client, acme
):
    request_schema = {"$ref": "#/components/schemas/ApplicationInputRequest", "components": openapi["components"]}
    example = _request_example(openapi)
    rules = feature_rules()

    Draft7Validator(request_schema).validate(example)
    assert example == example_application(rules)
    assert example["product"] == "consumer_loan"
    assert set(example["features"]) == set(rules.fields)
    # The first category of each characteristic, the middle of each numeric domain (the term's is 1 to 72).
    assert example["features"]["housing"] == rules.fields["housing"]["choices"][0]
    assert example["features"]["installment_rate_in_percentage_of_disposable_income"] in (2, 3)
    assert example["loan"]["term_months"] == 36
    assert example["loan"]["purpose"] == rules.purpose_choices[0]
    assert submit(client, acme[1], example).status_code == 201


def test_the_decided_example_shows_the_request_examples_loan_and_characteristics(openapi):
    decided = openapi["paths"]["/api/v1/applications/{id}/"]["get"]["responses"]["200"]["content"]
    example = next(iter(decided["application/json"]["examples"].values()))["value"]

    assert example["loan"] == _request_example(openapi)["loan"]
    assert example["features"] == _request_example(openapi)["features"]


def test_without_a_champion_the_examples_are_neutral_not_german_credit(client):
    openapi = client.get("/api/schema/?format=json").json()
    example = _request_example(openapi)
    german = {column.name for column in schema_load("german_credit").columns}

    assert example == {**EXAMPLE_APPLICATION, "product": "consumer_loan"}
    assert not set(example["features"]) & german
    assert set(example["loan"]) == {"amount"}


def test_the_schema_requires_a_term_and_purpose_only_where_the_default_products_schema_maps_them(
    client, champion, card_champion, settings
):
    german = client.get("/api/schema/?format=json").json()["components"]["schemas"]["LoanInputRequest"]
    settings.DEFAULT_PRODUCT = "credit_card"
    card = client.get("/api/schema/?format=json").json()["components"]["schemas"]["LoanInputRequest"]

    assert german["required"] == ["amount", "term_months", "purpose"]
    assert card["required"] == ["amount"]


def test_the_examples_follow_the_default_products_champion_so_a_card_example_has_no_term(
    client, acme, card_champion, settings
):
    settings.DEFAULT_PRODUCT = "credit_card"
    openapi = client.get("/api/schema/?format=json").json()
    request_schema = {"$ref": "#/components/schemas/ApplicationInputRequest", "components": openapi["components"]}
    example = _request_example(openapi)

    Draft7Validator(request_schema).validate(example)
    assert example["product"] == "credit_card"
    assert example["loan"] == {"amount": "25250.00"}  # the middle of the credit limit's domain, 500 to 50,000
    assert set(example["features"]) == {"utilisation", "late_payments", "employment", "months_at_address"}
    assert example["features"]["utilisation"] == 0.75
    response = submit(client, acme[1], example)
    assert response.status_code == 201, response.json()
    assert response.json()["loan"]["term_months"] is None


def test_every_error_status_is_documented_as_a_problem_document(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            assert "429" in operation["responses"], (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)


def test_the_docs_page_is_served_locally_with_no_third_party_assets(client):
    page = client.get("/api/docs/")
    script = client.get("/api/docs/docs.js")
    stylesheet = client.get("/api/docs/docs.css")
    html = b"".join(page.streaming_content).decode()

    assert page.status_code == script.status_code == stylesheet.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert stylesheet["Content-Type"].startswith("text/css")
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["/api/docs/docs.css", "/api/schema/", "/api/docs/docs.js"]
    assert "/api/schema/?format=json" in b"".join(script.streaming_content).decode()
    assert 'id="problem-idempotency_key_reused"' in html


def test_problem_types_link_to_their_explanation_on_the_docs_page(client, acme):
    html = b"".join(client.get("/api/docs/").streaming_content).decode()
    problem = client.get("/api/v1/applications/1/", **bearer(acme[1])).json()

    assert problem["type"] == "/api/docs/#problem-not_found"
    assert f'id="problem-{problem["code"]}"' in html


@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/v1/applications", "/api/v2/applications/"])
def test_unknown_api_paths_answer_a_404_problem(client, path):
    response = client.post(path, {}, content_type="application/json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["instance"] == path


def test_a_champion_trained_and_promoted_through_governance_decides_api_submissions(
    client, acme, trained_version, model_manager, second_model_manager
):
    request = promotion_request(version=trained_version, requested_by=model_manager, exception_justification="t")
    champion = promotion_approve(request=request, approved_by=second_model_manager, accept_exception=True)

    response = submit(client, acme[1], application_body())

    assert response.status_code == 201
    assert response.json()["decision"]["model_version"] == champion.pk
