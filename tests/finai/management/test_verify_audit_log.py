"""`manage.py verify_audit_log`: exit 0 on an intact chain, otherwise name the first broken link."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from finai.models import AuditChainHead, AuditEvent
from finai.services import audit_event_hash, audit_event_record
from tests.finai.tampering import event_delete, event_payload_overwrite, events_shift_up, tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> list[AuditEvent]:
    return [audit_event_record(action="test.event", payload={"index": index}) for index in range(1, 6)]


def _verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit_log", *args, stdout=out)
    return out.getvalue()


def _forge(*, sequence: int, previous_hash: str, valid_hash: bool) -> AuditEvent:
    """A row written straight to the table, bypassing the service and the chain head."""
    forged = AuditEvent(
        sequence=sequence,
        occurred_at=timezone.now(),
        actor_label="system",
        action="test.forged",
        payload={"approve": True},
        previous_hash=previous_hash,
    )
    forged.hash = audit_event_hash(forged) if valid_hash else "f" * 64
    forged.save(force_insert=True)
    return forged


def test_it_reports_an_intact_chain(chain):
    assert _verify() == "Audit chain intact: 5 events\n"


def test_it_reports_an_empty_chain_as_intact():
    assert _verify() == "Audit chain intact: 0 events\n"


def test_it_prints_json_when_asked(chain):
    assert json.loads(_verify("--json")) == {
        "intact": True,
        "events_checked": 5,
        "first_broken_sequence": None,
        "first_broken_id": None,
        "problem": "",
        "findings": [],
        "findings_total": 0,
    }


def test_it_names_an_altered_event(chain):
    event_payload_overwrite(sequence=3, payload={"index": 99})

    with pytest.raises(CommandError, match=rf"sequence=3 id={chain[2].pk}: content does not match its hash"):
        _verify()


def test_it_names_the_event_after_an_altered_event_whose_hash_was_recomputed(chain):
    """Rewriting an event's own hash as well only moves the break to its successor's previous_hash."""
    altered = AuditEvent.objects.get(sequence=3)
    altered.payload = {"index": 99}
    event_payload_overwrite(sequence=3, payload=altered.payload)

    tamper("UPDATE finai_auditevent SET hash = %s WHERE sequence = 3", [audit_event_hash(altered)])

    with pytest.raises(CommandError, match=rf"sequence=4 id={chain[3].pk}: previous_hash does not match"):
        _verify()


def test_it_names_the_event_after_a_deleted_one(chain):
    event_delete(sequence=3)

    with pytest.raises(CommandError, match=rf"sequence=4 id={chain[3].pk}: expected sequence 3, found 4"):
        _verify()


def test_it_names_a_removed_tail_from_the_chain_head(chain):
    event_delete(sequence=5)

    with pytest.raises(CommandError, match=r"sequence=5 id=None: the chain head records 5 events but 4 are present"):
        _verify()


def test_it_names_the_last_event_when_the_chain_head_records_another_hash(chain):
    AuditChainHead.objects.update(hash="e" * 64)

    with pytest.raises(CommandError, match=rf"sequence=5 id={chain[4].pk}: the last event's hash does not match"):
        _verify()


def test_it_reports_a_missing_chain_head(chain):
    AuditChainHead.objects.all().delete()

    with pytest.raises(CommandError, match=r"sequence=None id=None: the chain head is missing"):
        _verify()


def test_it_names_a_forged_event_inserted_in_the_middle(chain):
    events_shift_up(from_sequence=3)
    forged = _forge(sequence=3, previous_hash=chain[1].hash, valid_hash=False)

    with pytest.raises(CommandError, match=rf"sequence=3 id={forged.pk}: content does not match its hash"):
        _verify()


def test_it_names_the_renumbered_event_after_a_well_forged_insertion(chain):
    """A forger who hashes the inserted row correctly still breaks the link to the event it displaced."""
    events_shift_up(from_sequence=3)
    _forge(sequence=3, previous_hash=chain[1].hash, valid_hash=True)

    with pytest.raises(CommandError, match=rf"sequence=4 id={chain[2].pk}: previous_hash does not match"):
        _verify()


def test_it_names_an_appended_event_that_does_not_chain(chain):
    forged = _forge(sequence=6, previous_hash="0" * 64, valid_hash=True)

    with pytest.raises(CommandError, match=rf"sequence=6 id={forged.pk}: previous_hash does not match"):
        _verify()


def test_it_names_a_well_forged_appended_event_from_the_chain_head(chain):
    forged = _forge(sequence=6, previous_hash=chain[4].hash, valid_hash=True)

    with pytest.raises(CommandError, match=rf"sequence=6 id={forged.pk}: the chain head ends at #5"):
        _verify()


def test_it_prints_json_for_a_broken_chain_before_failing(chain):
    event_delete(sequence=2)
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("verify_audit_log", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "intact": False,
        "events_checked": 1,
        "first_broken_sequence": 3,
        "first_broken_id": chain[2].pk,
        "problem": "expected sequence 2, found 3",
        "findings": [],
        "findings_total": 0,
    }


def test_a_chain_rewritten_and_rehashed_end_to_end_fails_on_the_head_seal(chain):
    """An attacker with database access alters event 3, recomputes every later link and the head's hash:
    every plain SHA-256 check passes, but the head's seal needs AUDIT_CHAIN_KEY."""
    previous_hash = chain[1].hash
    for event in AuditEvent.objects.filter(sequence__gte=3).order_by("sequence"):
        if event.sequence == 3:
            event.payload = {"index": 99}
        event.previous_hash = previous_hash
        event.hash = audit_event_hash(event)
        tamper(
            "UPDATE finai_auditevent SET payload = %s, previous_hash = %s, hash = %s WHERE sequence = %s",
            [json.dumps(event.payload), event.previous_hash, event.hash, event.sequence],
        )
        previous_hash = event.hash
    AuditChainHead.objects.update(hash=previous_hash)

    with pytest.raises(CommandError, match=r"sequence=None id=None: the chain head's seal does not match"):
        _verify()


def test_the_seal_is_checked_with_the_configured_key(chain, settings):
    settings.AUDIT_CHAIN_KEY = "another-key"

    with pytest.raises(CommandError, match=r"or AUDIT_CHAIN_KEY changed"):
        _verify()
