"""A batch chunk decided in bulk stores what the per-row path stores, once, in statements that do not grow."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import ModelVersion
from finai.models import AuditEvent
from finai.services import audit_trail_verify
from lending.models import BatchItem, Decision, LoanApplication, WebhookDelivery
from lending.services import batches
from tests.lending.api.conftest import champion, scorecard_artifact  # noqa: F401 (fixtures)
from tests.lending.api.helpers import application_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("champion")]

DECISION_FIELDS = [
    "outcome",
    "probability_of_default",
    "score",
    "reasons",
    "feature_vector",
    "policy_version",
    "outside_training_range",
    "model_version_id",
]


@pytest.fixture
def partner(acme):
    """Acme with a webhook, so each decision also queues its delivery."""
    partner, _ = acme
    partner.webhook_url = "https://acme.example/hooks/finai"
    partner.save(update_fields=["webhook_url"])
    return partner


def _bodies(tag: str) -> list[dict[str, Any]]:
    """Rows of every kind: plain, refused by the model, one the database would round, one without a
    reference, two of one applicant, and one with a protected attribute among its characteristics."""
    plain = [application_body(applicant={"reference": f"{tag}-{n}", "full_name": f"Row {n}"}) for n in range(3)]
    refused = application_body(applicant={"reference": f"{tag}-refused"})
    refused["features"]["housing"] = "castle"
    rounded = application_body(
        applicant={"reference": f"{tag}-rounded"},
        loan={"amount": "2500.005", "term_months": 12, "purpose": "car (new)"},
    )
    anonymous = application_body(applicant={"full_name": "No Reference"})
    twice = [application_body(applicant={"reference": f"{tag}-twice", "full_name": f"Twice {n}"}) for n in range(2)]
    protected = application_body(applicant={"reference": f"{tag}-protected"})
    protected["features"]["sex"] = "female"
    return [*plain, refused, rounded, anonymous, *twice, protected]


def _batch(partner, bodies: list[dict[str, Any]]):
    rows = [batches.BatchRow(payload=copy.deepcopy(body), errors={}) for body in bodies]
    return batches.batch_submit(rows=rows, partner=partner)


def _stored(batch, tag: str) -> list[dict[str, Any]]:
    """Everything a row left behind, with ids, references and times replaced by what they must match."""
    stored = []
    for item in BatchItem.objects.filter(batch=batch).select_related("application__applicant").order_by("row"):
        application = item.application
        row: dict[str, Any] = {"status": item.status, "errors": item.errors}
        if application is not None:
            decision = Decision.objects.filter(application=application, is_shadow=False).first()
            events = list(
                AuditEvent.objects.filter(object_type="loan_application", object_id=str(application.pk))
                .order_by("sequence")
                .values("action", "actor_label", "payload")
            )
            for event in events:
                assert event["payload"].pop("decision_id", decision.pk if decision else None) == (
                    decision.pk if decision else None
                )
                assert event["payload"].pop("reference", application.reference) == application.reference
            webhook = WebhookDelivery.objects.filter(application=application).values_list("payload", flat=True).first()
            given = application.applicant.reference.removeprefix(f"partner-{batch.partner_id}:")
            given = "(generated)" if given.startswith("applicant-") else given.removeprefix(tag)
            if webhook is not None:
                shown = webhook["application"].pop("applicant_reference")
                assert shown == ("" if given == "(generated)" else f"{tag}{given}")
                assert webhook.pop("application") == {
                    "id": application.pk,
                    "reference": application.reference,
                    "url": f"/api/v1/applications/{application.pk}/",
                }
                assert webhook["decision"].pop("decided_at") == decision.decided_at.isoformat()
            row.update(
                application={
                    field: getattr(application, field)
                    for field in ("channel", "product", "amount", "term_months", "purpose", "features", "status")
                },
                applicant={
                    "reference_given": given,
                    "full_name": application.applicant.full_name,
                    "email": application.applicant.email,
                    "source": application.applicant.source,
                },
                decision={field: getattr(decision, field) for field in DECISION_FIELDS} if decision else None,
                events=events,
                webhook=webhook,
            )
        stored.append(row)
    return stored


def test_a_chunk_decided_in_bulk_stores_for_each_row_what_the_per_row_path_stores(partner):
    bulk, one_by_one = _batch(partner, _bodies("bulk")), _batch(partner, _bodies("row"))

    assert batches.batch_chunk_process(batch_id=bulk.pk, first_row=1, last_row=bulk.total) == bulk.total
    pending = list(BatchItem.objects.filter(batch=one_by_one).order_by("row").values_list("pk", flat=True))
    assert batches._items_submit_one_by_one(one_by_one, pending) == one_by_one.total

    bulk_rows, per_row_rows = _stored(bulk, "bulk"), _stored(one_by_one, "row")
    assert bulk_rows == per_row_rows
    assert [row["status"] for row in bulk_rows] == ["decided"] * 3 + ["invalid", "decided", "decided"] + [
        "decided"
    ] * 2 + ["invalid"]
    assert [event["action"] for event in bulk_rows[0]["events"]] == ["application.submitted", "decision.made"]
    # The two rows of one applicant share it, as get_or_create makes them.
    items = BatchItem.objects.filter(batch=bulk, row__in=(7, 8)).values_list("application__applicant", flat=True)
    assert len(set(items)) == 1


def test_a_chunk_mixing_valid_and_invalid_rows_names_each_problem_and_decides_the_rest(partner):
    bodies = [application_body(applicant={"reference": f"mixed-{n}"}) for n in range(4)]
    bodies[1]["features"]["housing"] = "castle"
    bodies[3]["features"]["number_of_people_being_liable_to_provide_maintenance_for"] = -7
    batch = _batch(partner, bodies)

    batches.batch_chunk_process(batch_id=batch.pk, first_row=1, last_row=4)

    items = {item.row: item for item in BatchItem.objects.filter(batch=batch)}
    assert [items[row].status for row in (1, 2, 3, 4)] == ["decided", "invalid", "decided", "invalid"]
    assert list(items[2].errors) == ["features.housing"]
    assert "'castle' is not one of the categories" in items[2].errors["features.housing"]
    assert [*items[4].errors] == ["features.number_of_people_being_liable_to_provide_maintenance_for"]
    assert "-7" in items[4].errors["features.number_of_people_being_liable_to_provide_maintenance_for"]
    assert (items[2].application, items[4].application) == (None, None)
    assert Decision.objects.filter(application__batch_item__batch=batch).count() == 2


def test_a_chunk_processed_twice_decides_nothing_twice_and_the_audit_trail_verifies(partner):
    batch = _batch(partner, _bodies("twice"))

    first = batches.batch_chunk_process(batch_id=batch.pk, first_row=1, last_row=batch.total)
    counts = (LoanApplication.objects.count(), Decision.objects.count(), AuditEvent.objects.count())
    again = batches.batch_chunk_process(batch_id=batch.pk, first_row=1, last_row=batch.total)

    assert (first, again) == (batch.total, 0)
    assert (LoanApplication.objects.count(), Decision.objects.count(), AuditEvent.objects.count()) == counts
    assert WebhookDelivery.objects.count() == Decision.objects.count() == 7
    verification = audit_trail_verify()
    assert verification.intact, verification.problem


def _chunk_statements(partner, rows: int) -> int:
    batch = _batch(partner, [application_body(applicant={"reference": f"count-{rows}-{n}"}) for n in range(rows)])
    with CaptureQueriesContext(connection) as queries:
        batches.batch_chunk_process(batch_id=batch.pk, first_row=1, last_row=rows)
    assert BatchItem.objects.filter(batch=batch, status=BatchItem.Status.DECIDED).count() == rows
    return len(queries.captured_queries)


def test_the_statements_a_chunk_takes_do_not_grow_with_its_rows(partner):
    _chunk_statements(partner, 2)  # the champion's scorer and versions loaded once per process

    assert _chunk_statements(partner, 50) == _chunk_statements(partner, 200) <= 20


def test_with_a_challenger_each_row_decided_in_bulk_gets_the_shadow_decision_the_per_row_path_gives(partner):
    deciding = ModelVersion.objects.get(status=ModelVersion.Status.CHAMPION)
    ModelVersion.objects.create(
        product=deciding.product,
        family=deciding.family,
        status=ModelVersion.Status.CHALLENGER,
        snapshot=deciding.snapshot,
        artifact_path=deciding.artifact_path,
        artifact_sha256=deciding.artifact_sha256,
        progress=100,
    )
    bodies = [application_body(applicant={"reference": f"shadow-{n}"}) for n in range(3)]
    bulk, one_by_one = _batch(partner, bodies), _batch(partner, bodies)

    batches.batch_chunk_process(batch_id=bulk.pk, first_row=1, last_row=3)
    batches._items_submit_one_by_one(
        one_by_one, list(BatchItem.objects.filter(batch=one_by_one).values_list("pk", flat=True))
    )

    def shadows(batch):
        return list(
            Decision.objects.filter(application__batch_item__batch=batch, is_shadow=True)
            .order_by("application__batch_item__row")
            .values_list(*DECISION_FIELDS)
        )

    assert len(shadows(bulk)) == 3
    assert shadows(bulk) == shadows(one_by_one)
