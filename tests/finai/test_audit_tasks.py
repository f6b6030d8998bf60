"""The periodic audit-chain check, called as a plain function (a real worker is tested elsewhere)."""

from __future__ import annotations

import logging

import pytest

from finai.models import AuditEvent
from finai.services import audit_chain_verify, audit_event_record
from finai.tasks import verify_audit_chain
from tests.finai.tampering import event_payload_overwrite

pytestmark = pytest.mark.django_db


def test_it_returns_the_verification_and_records_it_in_the_chain():
    for index in range(3):
        audit_event_record(action="test.event", payload={"index": index})

    result = verify_audit_chain()

    assert result == {
        "intact": True,
        "events_checked": 3,
        "first_broken_sequence": None,
        "first_broken_id": None,
        "problem": "",
        "findings": [],
        "findings_total": 0,
    }
    recorded = AuditEvent.objects.get(sequence=4)
    assert (recorded.action, recorded.actor_label, recorded.payload) == ("audit.chain_verified", "system", result)
    assert audit_chain_verify().events_checked == 4


def test_it_reports_and_logs_a_broken_chain(caplog):
    events = [audit_event_record(action="test.event", payload={"index": index}) for index in range(3)]
    event_payload_overwrite(sequence=2, payload={"index": 42})

    with caplog.at_level(logging.ERROR, logger="finai.services"):
        result = verify_audit_chain()

    assert result["intact"] is False
    assert (result["first_broken_sequence"], result["first_broken_id"]) == (2, events[1].pk)
    assert AuditEvent.objects.get(sequence=4).payload["intact"] is False
    assert "audit chain broken at sequence=2" in caplog.text
