"""Batches: JSON or CSV in, stored at once, decided in chunks, progress and per-row errors, results out."""

from __future__ import annotations

import csv
import io
import json

import pytest

from lending.models import Batch, BatchItem, Decision, LoanApplication
from lending.services import batches
from lending.services.decisions import application_decide
from tests.lending.api.helpers import application_body, bearer

pytestmark = pytest.mark.django_db


def post_batch(client, key, content, *, content_type="application/json", idempotency_key="batch-1"):
    if content_type == "application/json" and not isinstance(content, str | bytes):
        content = json.dumps(content)
    return client.post(
        "/api/v1/batches/", content, content_type=content_type, HTTP_IDEMPOTENCY_KEY=idempotency_key, **bearer(key)
    )


def csv_text(rows: list[dict]) -> str:
    flat = []
    for body in rows:
        flat.append(
            {
                "applicant_reference": body["applicant"]["reference"],
                "amount": body["loan"]["amount"],
                "term_months": body["loan"]["term_months"],
                "purpose": body["loan"]["purpose"],
                **body["features"],
            }
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()


@pytest.fixture
def processed(eager_celery, django_capture_on_commit_callbacks):
    """Run what a request queues on commit (chunk tasks) inline, as the worker would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_json_batch_is_decided_and_reports_each_invalid_row(client, acme, champion, processed):
    _, key = acme
    bad = application_body(features={**application_body()["features"], "housing": "castle"})
    with processed():
        response = post_batch(client, key, {"applications": [application_body(), bad, application_body()]})

    assert response.status_code == 202
    assert response.json()["total"] == 3
    status = client.get(response["Location"], **bearer(key)).json()
    assert status["status"] == "completed"
    assert (status["processed"], status["decided"], status["invalid"], status["pending"]) == (3, 2, 1, 0)
    assert [error["row"] for error in status["errors"]] == [2]
    assert list(status["errors"][0]["errors"]) == ["features.housing"]
    assert "must be one of" in status["errors"][0]["errors"]["features.housing"]


def test_a_batch_row_with_impossible_values_is_invalid_naming_field_value_and_range(client, acme, champion, processed):
    _, key = acme
    impossible = application_body(loan={"amount": "2500.00", "term_months": 600, "purpose": "car (used)"})
    impossible["features"]["number_of_people_being_liable_to_provide_maintenance_for"] = -7
    with processed():
        response = post_batch(client, key, {"applications": [application_body(), impossible]})

    status = client.get(response["Location"], **bearer(key)).json()
    assert (status["decided"], status["invalid"]) == (1, 1)
    assert status["errors"] == [
        {
            "row": 2,
            "errors": {
                "loan.term_months": "600 is outside the allowed range 1 to 72",
                "features.number_of_people_being_liable_to_provide_maintenance_for": (
                    "-7 is outside the allowed range 1 to 2"
                ),
            },
        }
    ]
    assert LoanApplication.objects.count() == 1


def test_the_results_match_the_stored_decisions_in_json_and_csv(client, acme, champion, processed):
    _, key = acme
    with processed():
        batch = post_batch(client, key, {"applications": [application_body(), {"loan": {}}]}).json()

    rows = client.get(batch["results_url"], **bearer(key)).json()
    decided = Decision.objects.get(application_id=rows[0]["application_id"], is_shadow=False)
    assert rows[0]["outcome"] == decided.outcome
    assert rows[0]["probability_of_default"] == decided.probability_of_default
    assert rows[0]["score"] == decided.score
    assert rows[1]["status"] == "invalid"
    assert rows[1]["application_id"] is None
    assert set(rows[1]["errors"]) == {"loan.amount", "loan.term_months", "loan.purpose", "features"}

    as_csv = client.get(batch["results_url"], HTTP_ACCEPT="text/csv", **bearer(key))
    assert as_csv["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert [line["row"] for line in lines] == ["1", "2"]
    assert lines[0]["outcome"] == decided.outcome
    assert float(lines[0]["probability_of_default"]) == pytest.approx(decided.probability_of_default)
    assert "loan.amount" in lines[1]["errors"]
    assert client.get(batch["results_url"] + "?format=csv", **bearer(key)).content == as_csv.content


def test_a_csv_batch_is_accepted(client, acme, champion, processed):
    _, key = acme
    bodies = [application_body(applicant={"reference": f"c-{n}"}) for n in range(3)]
    with processed():
        response = post_batch(client, key, "\ufeff" + csv_text(bodies), content_type="text/csv")

    assert response.status_code == 202, response.json()
    status = client.get(response["Location"], **bearer(key)).json()
    assert status["decided"] == 3
    stored = LoanApplication.objects.get(batch_item__batch_id=status["id"], batch_item__row=2)
    assert stored.features == application_body()["features"]
    assert stored.applicant.reference.endswith(":c-1")


def test_a_csv_with_a_protected_or_unknown_column_is_refused_naming_them(client, acme, champion):
    text = csv_text([application_body()]).replace("telephone", "age_in_years", 1).replace("housing", "shoe_size", 1)
    response = post_batch(client, acme[1], text, content_type="text/csv")

    assert response.status_code == 422
    errors = {error["field"]: error["detail"] for error in response.json()["errors"]}
    assert set(errors) == {"age_in_years", "shoe_size"}
    assert "protected attribute" in errors["age_in_years"]
    assert not Batch.objects.exists()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("amount,amount\n1,2\n", "amount"),
        ("term_months\n12\n", "amount"),
        ("amount,term_months\n1,2,3\n", "line 2"),
    ],
)
def test_a_malformed_csv_is_a_bad_request(client, acme, text, field):
    response = post_batch(client, acme[1], text, content_type="text/csv")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_cell_with_a_nul_character_makes_its_row_invalid_not_a_server_error(client, acme, champion):
    text = csv_text([application_body()]).replace("own", "o\x00wn")
    response = post_batch(client, acme[1], text, content_type="text/csv")

    assert response.status_code == 202
    assert response.json()["errors"][0]["errors"].keys() == {"features.housing"}


def test_a_json_row_with_a_nul_in_an_unknown_key_is_refused_by_name_not_a_server_error(client, acme, champion):
    body = application_body()
    body["features"]["shoe\x00size"] = 1
    response = post_batch(client, acme[1], {"applications": [application_body(), body]})

    assert response.status_code == 202
    assert [error["row"] for error in response.json()["errors"]] == [2]
    assert "features.shoe\\u0000size" in response.json()["errors"][0]["errors"]


def test_more_than_ten_thousand_applications_are_refused_with_413(client, acme):
    response = post_batch(client, acme[1], {"applications": [{}] * 10_001})

    assert response.status_code == 413
    assert not Batch.objects.exists()


def test_rows_are_queued_in_chunks_and_a_redelivered_chunk_adds_nothing(
    client, acme, champion, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(batches, "BATCH_CHUNK_ROWS", 2)
    queued = []
    monkeypatch.setattr("lending.tasks.batch_process_chunk.delay", lambda *args: queued.append(args))
    bodies = [application_body() for _ in range(5)]
    bodies[1] = {"loan": {}}
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = post_batch(client, acme[1], {"applications": bodies}).json()["id"]

    assert [args[1:] for args in queued] == [(1, 3), (4, 5)]  # valid rows 1, 3, 4, 5 in chunks of two
    for args in queued + queued:  # every chunk delivered twice
        batches.batch_chunk_process(batch_id=args[0], first_row=args[1], last_row=args[2])
    assert LoanApplication.objects.filter(batch_item__batch_id=batch_id).count() == 4
    assert Batch.objects.get(pk=batch_id).status == "completed"


def test_rows_stored_before_a_champion_exists_show_their_later_decision(client, acme, processed, request):
    _, key = acme
    with processed():
        batch = post_batch(client, key, {"applications": [application_body()]}).json()
    status = client.get(batch["url"], **bearer(key)).json()
    assert (status["status"], status["submitted"], status["decided"]) == ("completed", 1, 0)
    assert "No model is champion" in status["errors"][0]["errors"]["decision"]

    request.getfixturevalue("champion")
    item = BatchItem.objects.get(batch_id=batch["id"])
    decision = application_decide(application_id=item.application_id)

    rows = client.get(batch["results_url"], **bearer(key)).json()
    assert (rows[0]["status"], rows[0]["outcome"], rows[0]["errors"]) == ("decided", decision.outcome, {})


def test_a_batch_retried_with_its_key_is_not_stored_twice(client, acme, champion):
    first = post_batch(client, acme[1], {"applications": [application_body()]})
    again = post_batch(client, acme[1], {"applications": [application_body()]})

    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Batch.objects.count() == 1


def test_a_batch_must_be_an_object_with_applications(client, acme):
    response = post_batch(client, acme[1], {"rows": []})

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"applications", "rows"}
