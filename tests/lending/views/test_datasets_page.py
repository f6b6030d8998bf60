"""The data-set page: what FinAI knows, and an import through an uploaded schema, all or nothing."""

from __future__ import annotations

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analytics.models import DatasetSchemaRecord
from finai.models import AuditEvent
from lending.models import Applicant, LoanApplication

pytestmark = pytest.mark.django_db

SCHEMA = {
    "name": "branch_cards",
    "kind": "outcomes",
    "product": "credit_card",
    "positive_label": "1",
    "negative_label": "0",
    "policy": {"version": "branch-1", "approve_below": 0.1, "decline_from": 0.3},
    "columns": {
        "limit": {"role": "feature", "type": "numeric", "maps_to": "amount", "min": 100, "max": 10000},
        "late": {"role": "feature", "type": "numeric", "min": 0, "max": 12},
        "education": {"role": "protected"},
        "bad": {"role": "target"},
    },
}


def _upload(name: str, content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="application/octet-stream")


def test_the_page_lists_the_shipped_data_sets_with_their_product_and_policy(manager_client):
    page = manager_client.get(reverse("lending:dataset_list"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "german_credit" in text
    assert "consumer-2025.1: approve below 0.25, decline from 0.5" in text
    assert "hmda" in text


def test_an_uploaded_schema_and_file_import_and_the_schema_is_recorded(manager_client, model_manager):
    response = manager_client.post(
        reverse("lending:dataset_list"),
        {
            "schema_file": _upload("branch.yaml", yaml.safe_dump(SCHEMA)),
            "data_file": _upload("branch.csv", "limit,late,education,bad\n500,0,university,0\n900,4,high school,1\n"),
        },
    )

    assert response.status_code == 302
    assert LoanApplication.objects.filter(applicant__source="branch_cards", product="credit_card").count() == 2
    record = DatasetSchemaRecord.objects.get(name="branch_cards")
    assert record.origin == f"uploaded by {model_manager.username}"
    assert record.dataset_schema.policy.version == "branch-1"
    assert AuditEvent.objects.filter(action="dataset.schema_recorded", object_id="branch_cards").exists()
    page = manager_client.get(reverse("lending:dataset_list")).content.decode()
    assert "branch_cards" in page
    assert "recorded at import" in page


def test_every_problem_of_the_schema_and_the_rows_is_shown_and_nothing_is_written(manager_client):
    bad_rows = "limit,late,education,bad\n50,0,university,0\n900,40,high school,1\n900,1,,maybe\n"
    response = manager_client.post(
        reverse("lending:dataset_list"),
        {"schema_file": _upload("branch.yaml", yaml.safe_dump(SCHEMA)), "data_file": _upload("b.csv", bad_rows)},
    )

    assert response.status_code == 400
    text = response.content.decode()
    assert "row 1, limit: 50 is outside the allowed range 100 to 10,000" in text
    assert "row 2, late: 40 is outside the allowed range 0 to 12" in text
    assert "row 3, bad: &#x27;maybe&#x27; is neither &#x27;1&#x27; nor &#x27;0&#x27;" in text
    assert not Applicant.objects.filter(source="branch_cards").exists()


def test_a_broken_schema_is_refused_on_its_field_naming_each_problem(manager_client):
    broken = {**SCHEMA, "policy": {"version": "x", "approve_below": 2, "decline_from": 0.3}, "product": "Cards!"}
    response = manager_client.post(
        reverse("lending:dataset_list"),
        {"schema_file": _upload("b.yaml", yaml.safe_dump(broken)), "data_file": _upload("b.csv", "limit\n1\n")},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors["schema_file"]
    assert any("policy approve_below: must be a probability above 0 and at most 1" in e for e in errors)
    assert any("product must be lower-case letters" in e for e in errors)


def test_a_schema_or_a_known_data_set_is_needed_but_not_both(manager_client):
    neither = manager_client.post(reverse("lending:dataset_list"), {"data_file": _upload("b.csv", "limit\n1\n")})
    both = manager_client.post(
        reverse("lending:dataset_list"),
        {
            "schema_file": _upload("b.yaml", yaml.safe_dump(SCHEMA)),
            "dataset": "german_credit",
            "data_file": _upload("b.csv", "limit\n1\n"),
        },
    )

    for response in (neither, both):
        assert response.status_code == 400
        assert response.context["form"].errors["schema_file"] == [
            "Upload a schema or choose a known data set (one of the two)."
        ]
