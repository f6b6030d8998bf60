"""A lender's own data set, never seen by the project, end to end with no code change (issue 14's acceptance).

The data set is a credit-card book written here: no purpose, no term (open-ended credit), its own labels,
reason texts and cut-offs, a protected column outside the record's fixed fields (education) and an age
in years banded by the schema. Its schema lies in a temporary folder, outside the repository. The truth
is planted: default follows a known logistic model of utilisation, late payments and employment, and
the protected columns are drawn independently of it.
"""

from __future__ import annotations

import csv
import json
import uuid
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from analytics.models import DatasetSchemaRecord, DataSnapshot, ModelVersion
from analytics.services.registry import promotion_approve, promotion_gates_evaluate, promotion_request
from lending.models import Decision, LoanApplication

pytestmark = [pytest.mark.integration]

ROWS = 1500
SCHEMA = {
    "name": "card_book",
    "description": "A credit-card book written for the tests: limits, utilisation and payment history.",
    "kind": "outcomes",
    "product": "credit_card",
    "positive_label": "1",
    "negative_label": "0",
    "period": ["2024-01-01", "2024-12-31"],
    "default_definition": {"days_past_due": 60, "horizon_months": 12},
    "policy": {"version": "cards-2026.1", "approve_below": 0.12, "decline_from": 0.3},
    "columns": {
        "account": {"role": "id"},
        "credit_limit": {
            "role": "feature",
            "type": "numeric",
            "maps_to": "amount",
            "min": 500,
            "max": 50000,
            "label": "Credit limit",
        },
        "utilisation": {
            "role": "feature",
            "type": "numeric",
            "monotone": "increasing",
            "min": 0,
            "max": 1.5,
            "label": "Share of the limit in use",
            "help": "The balance over the limit at the last statement.",
            "reason": "Too much of the credit limit is in use",
        },
        "late_payments": {
            "role": "feature",
            "type": "numeric",
            "monotone": "increasing",
            "min": 0,
            "max": 12,
            "label": "Late payments in the past year",
            "reason": {"code": "C01", "text": "Recent late payments"},
        },
        "employment": {
            "role": "feature",
            "type": "categorical",
            "label": "Employment",
            "value_labels": {"none": "Not employed"},
            "reason": "Employment status",
            "value_reasons": {"none": {"code": "C02", "text": "No regular income"}},
        },
        "education": {"role": "protected", "type": "categorical"},
        "age": {"role": "protected", "type": "numeric", "maps_to": "age_years", "bands": [30, 50]},
        "defaulted": {"role": "target", "type": "categorical"},
    },
}
RISKY = {"utilisation": 1.4, "late_payments": 9, "employment": "none"}
SAFE = {"utilisation": 0.05, "late_payments": 0, "employment": "salaried"}


def _book(rng: np.random.Generator) -> list[dict[str, object]]:
    """Rows with a planted default probability; education and age are independent of it."""
    utilisation = rng.uniform(0, 1.5, ROWS).round(3)
    late = rng.poisson(1.2, ROWS).clip(0, 12)
    employment = rng.choice(["salaried", "self-employed", "none"], ROWS, p=[0.6, 0.25, 0.15])
    logit = -3.0 + 2.0 * utilisation + 0.6 * late + np.where(employment == "none", 1.2, 0.0)
    defaulted = rng.random(ROWS) < 1 / (1 + np.exp(-logit))
    return [
        {
            "account": f"A{index:05d}",
            "credit_limit": int(rng.integers(5, 500)) * 100,
            "utilisation": utilisation[index],
            "late_payments": int(late[index]),
            "employment": employment[index],
            "education": rng.choice(["graduate school", "university", "high school"]),
            "age": int(rng.integers(21, 75)),
            "defaulted": int(defaulted[index]),
        }
        for index in range(ROWS)
    ]


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def card_book(tmp_path) -> tuple[Path, Path, list[dict[str, object]]]:
    """(schema path, data path, rows), both files outside the repository."""
    rows = _book(np.random.default_rng(14))
    schema_path = tmp_path / "lender" / "card_book.yaml"
    schema_path.parent.mkdir()
    schema_path.write_text(yaml.safe_dump(SCHEMA, sort_keys=False))
    return schema_path, _write_csv(tmp_path / "lender" / "card_book.csv", rows), rows


def _train(family: str, dataset: str, user: str, *extra: str) -> ModelVersion:
    out = StringIO()
    call_command(
        "train_model", "--family", family, "--dataset", dataset, "--user", user, "--wait", *extra,
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return ModelVersion.objects.select_related("snapshot").get(pk=json.loads(out.getvalue())["id"])


def test_an_unseen_lenders_data_set_imports_trains_decides_explains_and_audits_with_no_code_change(
    celery_worker_process,
    transactional_db,
    card_book,
    tmp_path,
    client,
    model_manager,
    second_model_manager,
    loan_officer,
    compliance_officer,
    acme,
):
    schema_path, data_path, rows = card_book
    out = StringIO()
    call_command("import_dataset", "--schema", str(schema_path), "--file", str(data_path), stdout=out)
    assert f"card_book: {ROWS} rows, {ROWS} created" in out.getvalue()
    imported = LoanApplication.objects.filter(applicant__source="card_book")
    assert imported.count() == ROWS
    assert set(imported.values_list("product", flat=True)) == {"credit_card"}
    assert set(imported.values_list("term_months", flat=True)) == {None}
    assert DatasetSchemaRecord.objects.get(name="card_book").origin == str(schema_path)

    # Training of each family on the worker, by the schema's path and by the data set's name alike.
    versions = {
        family: _train(family, str(schema_path) if family == "scorecard" else "card_book", model_manager.username)
        for family in ("scorecard", "gbm", "neural")
    }
    mitigated = _train(
        "scorecard", "card_book", model_manager.username,
        "--mitigation", "reweighing", "--params", json.dumps({"mitigation_attribute": "education"}),
    )  # fmt: skip
    for version in (*versions.values(), mitigated):
        assert version.status == ModelVersion.Status.CANDIDATE, version.failure
        assert version.product == "credit_card"
        assert version.metrics["policy"]["version"] == "cards-2026.1"
        assert version.metrics["auc"] > 0.7
        # The non-standard attribute and the schema's age bands reach the training fairness summary.
        assert set(version.fairness["groups"]) >= {"education", "age_band"}
        assert set(version.fairness["groups"]["age_band"]) == {"<30", "30-<50", ">=50"}
    assert mitigated.mitigation == "reweighing"
    assert mitigated.params["mitigation_attribute"] == "education"
    snapshot = versions["scorecard"].snapshot
    assert snapshot.schema_sha256
    assert snapshot.dataset_schema.name == "card_book"
    assert DataSnapshot.objects.filter(dataset="card_book").count() == 1
    # Every later step reads the stored copy: the file may go.
    schema_path.unlink()

    champion = versions["scorecard"]
    assert "education" in champion.monitored_attributes
    gates = {gate.name: gate for gate in promotion_gates_evaluate(version=champion)}
    assert gates["performance"].reason.endswith("no champion to compare with")
    request = promotion_request(
        version=champion, requested_by=model_manager, exception_justification="first model of the card book"
    )
    promotion_approve(request=request, approved_by=second_model_manager, accept_exception=True)
    champion.refresh_from_db()
    assert champion.status == ModelVersion.Status.CHAMPION
    assert not ModelVersion.objects.filter(product="consumer_loan", status=ModelVersion.Status.CHAMPION).exists()

    # A partner's application for the card: no term, no purpose; declined with the lender's own reasons.
    _, key = acme
    response = client.post(
        "/api/v1/applications/?mode=sync",
        {"product": "credit_card", "loan": {"amount": "4000"}, "features": RISKY},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["decision"]["outcome"] == "decline"
    texts = {reason["text"] for reason in body["decision"]["reasons"]}
    codes = {reason["code"] for reason in body["decision"]["reasons"]}
    assert "Recent late payments" in texts
    assert "C01" in codes
    assert "No regular income" in texts
    assert "C02" in codes
    decision = Decision.objects.get(application__reference=body["reference"], is_shadow=False)
    assert decision.policy_version == "cards-2026.1"
    assert decision.model_version == champion

    # An impossible value is refused naming the field, the value and the range.
    refused = client.post(
        "/api/v1/applications/?mode=sync",
        {"product": "credit_card", "loan": {"amount": "4000"}, "features": {**SAFE, "late_payments": 40}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert refused.status_code == 422
    assert "40 is outside the allowed range 0 to 12" in json.dumps(refused.json())

    # The adverse-action notice reads as the lender wrote it.
    client.force_login(loan_officer)
    notice = client.get(reverse("lending:adverse_action_notice", args=[decision.application_id]))
    assert notice.status_code == 200
    assert "Recent late payments" in notice.content.decode()

    # Rescore reproduces the decision from its stored vector, model version and policy.
    out = StringIO()
    call_command("rescore", "--decision", str(decision.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["mismatches"] == 0

    # Fairness audit of the champion, and of a decisions file read through a schema given by path.
    out = StringIO()
    call_command(
        "fairness_audit", "--model-version", str(champion.pk), "--user", compliance_officer.username, "--json",
        stdout=out,
    )  # fmt: skip
    audited = json.dumps(json.loads(out.getvalue()))
    assert '"education"' in audited
    assert '"age_band"' in audited
    decisions_schema = {
        **{key: value for key, value in SCHEMA.items() if key not in ("positive_label", "negative_label", "policy")},
        "name": "card_book_decisions",
        "kind": "decisions",
        "approve_label": "yes",
        "decline_label": "no",
        "columns": {**SCHEMA["columns"], "defaulted": {"role": "ignored"}, "approved": {"role": "decision"}},
    }
    decisions_schema.pop("default_definition")
    decisions_schema_path = tmp_path / "lender" / "card_book_decisions.yaml"
    decisions_schema_path.write_text(yaml.safe_dump(decisions_schema, sort_keys=False))
    decided = [{**row, "approved": "no" if row["late_payments"] >= 3 else "yes"} for row in rows]
    out = StringIO()
    call_command(
        "fairness_audit", "--decisions-file", str(_write_csv(tmp_path / "decisions.csv", decided)),
        "--schema", str(decisions_schema_path), "--user", compliance_officer.username, "--json", stdout=out,
    )  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["rows"] == ROWS
    audited = json.dumps(report)
    assert '"education"' in audited
    assert '">=50"' in audited
