"""The audit chain: each event hashes its content and its predecessor; rows are append-only."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from finai.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditEventImmutableError
from finai.services import audit_chain_verify, audit_event_record, audit_events_batched
from tests.finai.tampering import event_delete


def _independent_hash(event: AuditEvent) -> str:
    """The documented recipe, written out again: SHA-256 of sorted compact JSON of the content."""
    content = {
        "action": event.action,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "object_id": event.object_id,
        "object_type": event.object_type,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
        "previous_hash": event.previous_hash,
        "sequence": event.sequence,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.django_db
def test_it_chains_each_event_to_the_hash_of_the_one_before():
    first = audit_event_record(action="test.first")
    second = audit_event_record(action="test.second", object_type="lending.applicant", object_id=7)

    assert (first.sequence, second.sequence) == (1, 2)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.hash
    assert second.object_id == "7"
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.hash) == (2, second.hash)


@pytest.mark.django_db
def test_a_reloaded_event_hashes_to_the_stored_hash_whatever_its_payload_holds():
    payload = {
        "amount": Decimal("1234.50"),
        "when": dt.date(2024, 2, 29),
        "large": 1e20,
        "tiny": 1.5e-10,
        "ratio": 0.8,
        "nested": {"z": [1, 2.5, None], "a": "ü"},
        3: "integer key",
    }
    event = audit_event_record(action="test.payload", payload=payload)

    reloaded = AuditEvent.objects.get(pk=event.pk)
    assert reloaded.hash == event.hash == _independent_hash(reloaded)
    assert reloaded.payload["amount"] == "1234.50"
    assert reloaded.payload["large"] == 10**20
    assert audit_chain_verify().intact


@pytest.mark.django_db
def test_it_refuses_a_payload_that_json_cannot_hold():
    with pytest.raises(ValueError, match="JSON"):
        audit_event_record(action="test.nan", payload={"value": float("nan")})
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_it_records_an_anonymous_actor_as_a_label(loan_officer):
    anonymous = audit_event_record(action="test.anonymous", actor=AnonymousUser())
    officer = audit_event_record(action="test.officer", actor=loan_officer)

    assert (anonymous.actor_id, anonymous.actor_label) == (None, "anonymous")
    assert (officer.actor_id, officer.actor_label) == (loan_officer.pk, "olivia_officer")


@pytest.mark.django_db
def test_the_orm_refuses_to_update_or_delete_an_event():
    event = audit_event_record(action="test.immutable")

    event.action = "test.rewritten"
    with pytest.raises(AuditEventImmutableError):
        event.save()
    with pytest.raises(AuditEventImmutableError):
        event.delete()
    with pytest.raises(AuditEventImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="test.rewritten")
    with pytest.raises(AuditEventImmutableError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.immutable"


@pytest.mark.django_db
def test_the_database_refuses_a_raw_update():
    event = audit_event_record(action="test.immutable")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE finai_auditevent SET action = 'test.rewritten' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.immutable"


@pytest.mark.django_db
def test_a_raw_delete_is_refused_by_postgres_and_caught_by_verification_on_sqlite():
    """SQLite keeps no delete trigger (Django's test flush deletes rows), so there the chain catches it."""
    audit_event_record(action="test.first")
    middle = audit_event_record(action="test.middle")
    audit_event_record(action="test.last")

    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM finai_auditevent WHERE id = %s", [middle.pk])
        assert AuditEvent.objects.filter(pk=middle.pk).exists()
        event_delete(sequence=2)  # the same delete, with the trigger switched off, is still caught
    else:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM finai_auditevent WHERE id = %s", [middle.pk])

    verification = audit_chain_verify()
    assert not verification.intact
    assert verification.first_broken_sequence == 3


@pytest.mark.django_db(transaction=True)
def test_four_concurrent_writers_keep_one_unbroken_chain():
    """Each thread has its own database connection, so the writers really race for the chain head."""
    writers, events_per_writer = 4, 50
    start = threading.Barrier(writers + 1)
    writers_done = threading.Event()
    errors: list[BaseException] = []
    verifications = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for index in range(events_per_writer):
                audit_event_record(action="test.concurrent", payload={"writer": writer, "index": index})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def verify_while_writing() -> None:
        try:
            start.wait()
            while not writers_done.is_set():
                verifications.append(audit_chain_verify())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    verifier = threading.Thread(target=verify_while_writing)
    for thread in [*threads, verifier]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    writers_done.set()
    verifier.join(timeout=120)

    assert errors == []
    total = writers * events_per_writer
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 1))
    for writer in range(writers):
        indexes = [e.payload["index"] for e in AuditEvent.objects.order_by("sequence") if e.payload["writer"] == writer]
        assert indexes == list(range(events_per_writer))
    final = audit_chain_verify()
    assert final.intact
    assert final.events_checked == total
    assert verifications
    assert all(verification.intact for verification in verifications)


@pytest.mark.django_db
def test_a_batch_is_chained_at_its_end_in_two_round_trips_with_consecutive_sequences():
    audit_event_record(action="test.before")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries, audit_events_batched():
            first = audit_event_record(action="test.one", object_id=1)
            with audit_events_batched():  # a nested block joins the outer one
                second = audit_event_record(action="test.two", object_id=2)
            third = audit_event_record(action="test.three", object_id=3)
            assert first.pk is None  # unsaved until the block ends
            assert first.sequence is None
        # Lock the head; advance it and insert the three, together on Postgres (SQLite takes one statement at a time).
        assert len(queries.captured_queries) == (2 if connection.vendor == "postgresql" else 3)

    stored = list(AuditEvent.objects.order_by("sequence"))
    assert [(e.sequence, e.action) for e in stored] == [
        (1, "test.before"),
        (2, "test.one"),
        (3, "test.two"),
        (4, "test.three"),
    ]
    assert [e.hash for e in stored[1:]] == [first.hash, second.hash, third.hash]
    assert all(e.hash == _independent_hash(e) for e in stored)
    assert all(later.previous_hash == earlier.hash for earlier, later in itertools.pairwise(stored))
    assert AuditChainHead.objects.get().sequence == 4
    assert audit_chain_verify().intact


class _Refused(Exception):
    pass


@pytest.mark.django_db
def test_a_batch_whose_block_fails_records_nothing():
    def fail_after_recording() -> None:
        with transaction.atomic(), audit_events_batched():
            audit_event_record(action="test.lost")
            raise _Refused

    with pytest.raises(_Refused):
        fail_after_recording()
    audit_event_record(action="test.after")

    assert list(AuditEvent.objects.values_list("sequence", "action")) == [(1, "test.after")]


@pytest.mark.django_db
def test_a_row_inserted_with_a_batch_goes_in_the_events_round_trip_or_at_once_outside_one():
    from finai.services import audit_batch_row_insert
    from lending.models import IdempotencyRecord

    def record(key: str) -> IdempotencyRecord:
        return IdempotencyRecord(scope="test", key=key, fingerprint="f" * 64, response_status=201, response_body={})

    audit_event_record(action="test.before")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries, audit_events_batched():
            audit_event_record(action="test.with_row")
            audit_batch_row_insert(record("with-events"))
        # Lock the head; advance it, insert the row and the event: together on Postgres, one by one on SQLite.
        assert len(queries.captured_queries) == (2 if connection.vendor == "postgresql" else 4)
        with audit_events_batched():
            audit_batch_row_insert(record("no-events"))
    audit_batch_row_insert(record("outside"))

    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"with-events", "no-events", "outside"}
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.before", "test.with_row"]
    assert audit_chain_verify().intact
