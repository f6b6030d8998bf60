"""The audit trail's export: the search page's events under its filters, every column to re-verify the chain."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from finai.models import AuditEvent
from finai.services import audit_event_record

pytestmark = pytest.mark.django_db

HEADER = ["sequence", "occurred_at", "actor", "action", "object_type", "object_id", "payload", "previous_hash", "hash"]


@pytest.fixture
def trail(loan_officer, model_manager):
    audit_event_record(action="model.trained", actor=model_manager, object_type="model_version", object_id=7)
    audit_event_record(action="model.promoted", actor=model_manager, object_type="model_version", object_id=7)
    audit_event_record(action="decision.overridden", actor=loan_officer, object_type="decision", object_id=3)
    audit_event_record(action="decision.made", actor_label="=cmd|'/C calc'!A0", payload={"outcome": "decline"})


def exported(client, **query) -> list[list[str]]:
    response = client.get(reverse("audit_export"), query)
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_holds_the_events_the_search_shows_under_the_same_filters(compliance_client, trail):
    for query in ({}, {"action": "model."}, {"actor": "olivia"}, {"object_type": "model_version", "object_id": "7"}):
        listed = [event.sequence for event in compliance_client.get(reverse("audit_search"), query).context["page"]]
        rows = exported(compliance_client, **query)

        assert rows[0] == HEADER
        assert [int(row[0]) for row in rows[1:]] == listed, query


def test_each_row_carries_the_chain_so_it_can_be_verified_elsewhere(compliance_client, trail):
    event = AuditEvent.objects.get(action="decision.made")

    row = next(row for row in exported(compliance_client)[1:] if row[3] == "decision.made")

    assert row[6:] == [json.dumps(event.payload, sort_keys=True), event.previous_hash, event.hash]
    assert row[1] == event.occurred_at.isoformat()


def test_an_actor_written_as_a_formula_is_exported_as_text(compliance_client, trail):
    row = next(row for row in exported(compliance_client)[1:] if row[3] == "decision.made")

    assert row[2] == "'=cmd|'/C calc'!A0"


def test_the_export_is_recorded_with_its_filters_and_count_and_is_not_among_its_own_rows(
    compliance_client, compliance_officer, trail
):
    rows = exported(compliance_client, action="model.", page="2")

    event = AuditEvent.objects.get(action="export.audit_trail")
    assert event.actor == compliance_officer
    assert event.payload == {"export": "audit_trail", "filters": {"action": "model."}, "rows": 2}
    assert len(rows) - 1 == 2
    again = exported(compliance_client, action="export.")
    assert [row[3] for row in again[1:]] == ["export.audit_trail"]  # the first export's event, not this one's
    assert AuditEvent.objects.filter(action="export.audit_trail").count() == 2


@pytest.mark.parametrize("persona", ["loan_officer", "model_manager", "analyst", "outsider"])
def test_only_compliance_may_export_the_trail(client, request, persona, trail):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("audit_export")).status_code == 403
    assert not AuditEvent.objects.filter(action="export.audit_trail").exists()


def test_the_search_page_offers_the_export_with_its_filters(compliance_client, trail):
    page = compliance_client.get(reverse("audit_search"), {"action": "model.", "page": "1"}).content.decode()

    assert f'href="{reverse("audit_export")}?action=model."' in page
