"""The audit-trail pages: search with filters and paging, and verification of the chain (naming a broken link)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from finai.models import AuditEvent
from finai.services import audit_event_record
from tests.finai.tampering import event_payload_overwrite

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(loan_officer, model_manager):
    audit_event_record(action="model.trained", actor=model_manager, object_type="model_version", object_id=7)
    audit_event_record(action="model.promoted", actor=model_manager, object_type="model_version", object_id=7)
    audit_event_record(action="decision.overridden", actor=loan_officer, object_type="decision", object_id=3)
    audit_event_record(action="decision.made", actor_label="model:v7", object_type="loan_application", object_id=9)


def found(client, **query) -> list[str]:
    return [event.action for event in client.get(reverse("audit_search"), query).context["page"]]


def test_the_audit_search_filters_by_action_actor_object_and_date(compliance_client, trail):
    today = dt.date.today().isoformat()

    assert found(compliance_client, action="model.") == ["model.promoted", "model.trained"]
    assert found(compliance_client, action="decision.made") == ["decision.made"]
    assert found(compliance_client, actor="olivia") == ["decision.overridden"]
    assert found(compliance_client, actor="model:v7") == ["decision.made"]
    assert found(compliance_client, object_type="model_version", object_id="7") == ["model.promoted", "model.trained"]
    assert found(compliance_client, occurred_to="2000-01-01") == []
    assert "decision.made" in found(compliance_client, occurred_from=today, occurred_to=today)


def test_the_audit_search_pages_by_fifty_newest_first(compliance_client):
    for number in range(51):
        audit_event_record(action="test.event", object_id=number)

    first = compliance_client.get(reverse("audit_search"), {"action": "test.event"}).context["page"]
    second = compliance_client.get(reverse("audit_search"), {"action": "test.event", "page": 2}).context["page"]

    assert (len(first), len(second)) == (50, 1)
    assert first[0].object_id == "50"
    assert second[0].object_id == "0"


def test_verifying_the_chain_shows_it_intact_and_records_the_check(compliance_client, trail, compliance_officer):
    response = compliance_client.post(reverse("audit_verify"), follow=True)

    assert response.context["verification"]["intact"] is True
    assert "Chain intact." in response.content.decode()
    check = AuditEvent.objects.get(action="audit.chain_verified")
    assert check.actor == compliance_officer
    # The result is shown once: reloading the search does not show a stale verification.
    assert compliance_client.get(reverse("audit_search")).context["verification"] is None


def test_verifying_a_tampered_chain_names_the_first_broken_event(compliance_client, trail):
    victim = AuditEvent.objects.get(action="model.promoted")
    event_payload_overwrite(sequence=victim.sequence, payload={"forged": True})

    html = compliance_client.post(reverse("audit_verify"), follow=True).content.decode()

    assert "Chain broken" in html
    assert f"#{victim.sequence}" in html
    assert "content does not match its hash" in html
