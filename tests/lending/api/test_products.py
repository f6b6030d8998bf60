"""An application names its product; the characteristics, the term and the purpose follow that product's schema.

The card product (tests/lending/card_product.py) is open-ended credit with no term and no purpose, one
optional characteristic, and nothing of German credit.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from typing import Any

import pytest

from lending.models import Batch, LoanApplication
from tests.lending.api.helpers import application_body, bearer, submit
from tests.lending.card_product import CARD_APPLICATION

pytestmark = pytest.mark.django_db


def card_body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CARD_APPLICATION)
    body.update(changes)
    return body


def errors_of(response: Any) -> dict[str, str]:
    return {error["field"]: error["detail"] for error in response.json()["errors"]}


def post_batch(client, key, content, *, content_type="application/json", query=""):
    if content_type == "application/json":
        content = json.dumps(content)
    return client.post(
        f"/api/v1/batches/{query}", content, content_type=content_type, HTTP_IDEMPOTENCY_KEY="b-1", **bearer(key)
    )


def test_a_card_application_without_term_or_purpose_is_decided_by_the_cards_champion(client, acme, card_champion):
    response = submit(client, acme[1], card_body())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["product"] == "credit_card"
    assert body["loan"] == {"amount": "3000.00", "term_months": None, "purpose": ""}
    assert body["decision"]["model_version"] == card_champion.pk
    stored = LoanApplication.objects.get(pk=body["id"])
    assert (stored.product, stored.term_months, stored.purpose) == ("credit_card", None, "")


def test_a_term_sent_for_open_ended_credit_is_refused_naming_the_field(client, acme, card_champion):
    response = submit(client, acme[1], card_body(loan={"amount": "3000.00", "term_months": 24}))

    assert response.status_code == 422
    assert errors_of(response) == {"loan.term_months": "must be left out: credit_card has no term: open-ended credit"}
    assert not LoanApplication.objects.filter(channel=LoanApplication.Channel.API).exists()


def test_a_purpose_sent_for_a_product_without_one_is_refused_naming_the_field(client, acme, card_champion):
    response = submit(client, acme[1], card_body(loan={"amount": "3000.00", "purpose": "car (used)"}))

    assert response.status_code == 422
    assert errors_of(response) == {
        "loan.purpose": "must be left out: credit_card has no purpose (its model reads none)"
    }


def test_the_default_product_still_requires_the_term_and_purpose_its_schema_maps(client, acme, champion):
    response = submit(client, acme[1], application_body(loan={"amount": "2500.00"}))

    assert response.status_code == 422
    assert set(errors_of(response)) == {"loan.term_months", "loan.purpose"}


def test_an_unknown_product_is_refused_naming_product_and_the_known_ones(client, acme, champion, card_champion):
    response = submit(client, acme[1], application_body(product="boat_loan"))

    assert response.status_code == 422
    detail = errors_of(response)["product"]
    assert detail.startswith("'boat_loan' is not a product FinAI decides")
    assert "consumer_loan" in detail
    assert "credit_card" in detail
    assert not LoanApplication.objects.filter(channel=LoanApplication.Channel.API).exists()


@pytest.mark.parametrize("product", [7, "", "Credit Card", "credit_card\x00"])
def test_a_product_that_is_not_a_product_name_is_refused_not_a_server_error(client, acme, card_champion, product):
    response = submit(client, acme[1], card_body(product=product))

    assert response.status_code == 422
    assert list(errors_of(response)) == ["product"]


def test_an_optional_characteristic_may_be_left_out_and_is_stored_as_unknown(client, acme, card_champion):
    features = {name: value for name, value in CARD_APPLICATION["features"].items() if name != "months_at_address"}
    response = submit(client, acme[1], card_body(features=features))

    assert response.status_code == 201, response.json()
    assert response.json()["decision"] is not None
    assert LoanApplication.objects.get(pk=response.json()["id"]).features["months_at_address"] is None


def test_an_optional_characteristic_may_be_sent_as_null(client, acme, card_champion):
    response = submit(client, acme[1], card_body(features={**CARD_APPLICATION["features"], "months_at_address": None}))

    assert response.status_code == 201, response.json()


def test_a_required_characteristic_is_still_required(client, acme, card_champion):
    features = {name: value for name, value in CARD_APPLICATION["features"].items() if name != "utilisation"}
    response = submit(client, acme[1], card_body(features=features))

    assert response.status_code == 422
    assert errors_of(response) == {"features.utilisation": "is required"}


def test_another_products_characteristics_are_refused_by_the_named_product(client, acme, champion, card_champion):
    response = submit(client, acme[1], card_body(features={**CARD_APPLICATION["features"], "housing": "own"}))

    assert response.status_code == 422
    assert errors_of(response) == {"features.housing": "is not a credit characteristic of credit_card"}


def test_an_application_naming_no_product_is_for_the_default_product_setting(client, acme, card_champion, settings):
    settings.DEFAULT_PRODUCT = "credit_card"
    body = card_body()
    del body["product"]

    response = submit(client, acme[1], body)

    assert response.status_code == 201, response.json()
    assert response.json()["product"] == "credit_card"


@pytest.fixture
def processed(eager_celery, django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_json_batch_names_its_product_and_each_row_follows_it(client, acme, card_champion, processed):
    other = card_body(product="consumer_loan")
    with processed():
        response = post_batch(
            client, acme[1], {"product": "credit_card", "applications": [card_body(), card_body(), other]}
        )

    assert response.status_code == 202, response.json()
    status = client.get(response["Location"], **bearer(acme[1])).json()
    assert (status["decided"], status["invalid"]) == (2, 1)
    assert status["errors"] == [{"row": 3, "errors": {"product": "must be 'credit_card', the product of the batch"}}]
    stored = LoanApplication.objects.filter(batch_item__batch__pk=status["id"])
    assert set(stored.values_list("product", "term_months")) == {("credit_card", None)}


def _card_csv(*, with_term: bool = False) -> str:
    buffer = io.StringIO()
    columns = ["applicant_reference", "amount", *(["term_months"] if with_term else []), *CARD_APPLICATION["features"]]
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for number in range(2):
        row = {"applicant_reference": f"card-{number}", "amount": "1500", **CARD_APPLICATION["features"]}
        writer.writerow({**row, **({"term_months": 12} if with_term else {})})
    return buffer.getvalue()


def test_a_csv_batch_names_its_product_in_the_query(client, acme, card_champion, processed):
    with processed():
        response = post_batch(client, acme[1], _card_csv(), content_type="text/csv", query="?product=credit_card")

    assert response.status_code == 202, response.json()
    assert client.get(response["Location"], **bearer(acme[1])).json()["decided"] == 2


def test_a_csv_term_column_for_open_ended_credit_is_refused_as_a_column(client, acme, card_champion):
    response = post_batch(
        client, acme[1], _card_csv(with_term=True), content_type="text/csv", query="?product=credit_card"
    )

    assert response.status_code == 422
    assert errors_of(response) == {"term_months": "must be left out: credit_card has no term: open-ended credit"}
    assert not Batch.objects.exists()
