"""Core write services: the one place audit events are appended to the hash chain, and its verification."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.module_loading import import_string

from finai.models import GENESIS_HASH, AuditChainHead, AuditEvent
from finai.rows import insert_statement, instances_insert, model_from_row, quoted_columns

logger = logging.getLogger(__name__)

# Floats this large print in exponent form in Python but come back from Postgres jsonb as integers,
# which would change the event's hash on reload; they are whole numbers, so store them as such.
_LARGEST_EXACT_FLOAT_TEXT = 1e16


def _parse_float(text: str) -> float | int:
    value = float(text)
    return int(value) if abs(value) >= _LARGEST_EXACT_FLOAT_TEXT else value


def _canonical_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Round-trip through JSON so the stored payload and the hashed payload are the same value.

    NaN and infinity are refused: neither Postgres jsonb nor strict JSON can hold them.
    """
    encoded = json.dumps(payload or {}, cls=DjangoJSONEncoder, allow_nan=False)
    return json.loads(encoded, parse_float=_parse_float)


def audit_event_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and its predecessor's hash."""
    content = {
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload": event.payload,
        "previous_hash": event.previous_hash,
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def audit_chain_seal(*, sequence: int, chain_hash: str) -> str:
    """HMAC-SHA256 of the chain head under AUDIT_CHAIN_KEY, which lives in the environment, not the database.

    Whoever can write to the database can alter an event and recompute every plain SHA-256 link after
    it; without the key they cannot reseal the head, so the rewrite shows.
    """
    message = f"{sequence}:{chain_hash}".encode()
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message, hashlib.sha256).hexdigest()


# Events appended inside `audit_events_batched()`, and rows to insert with them, per thread: written when it ends.
_batch = threading.local()


@contextmanager
def audit_events_batched() -> Iterator[None]:
    """Chain every event appended inside the block together at its end: the head is locked once, then advanced
    and the events inserted in one round trip, just before the caller's transaction commits.

    The chain head is the one row every writer serialises on; taking it last, for two round trips, instead of
    at the first event and until the commit, is what lets concurrent decisions overlap. Use it inside a
    transaction, around work that records several events (a submission decided at once); an event is unsaved,
    without sequence or hash, until the block ends. Nested blocks join the outermost one.
    """
    if getattr(_batch, "events", None) is not None:
        yield
        return
    _batch.events, _batch.rows = [], []
    try:
        yield
        events, rows = _batch.events, _batch.rows
        _batch.events = _batch.rows = None
        if events:
            _events_chain(events, alongside=rows)
        elif rows:
            instances_insert(rows)
    finally:
        _batch.events = _batch.rows = None


def audit_batch_row_insert(instance: Model) -> None:
    """Insert a row whose key nobody reads back in the round trip that ends `audit_events_batched()` (for a
    decision, its idempotency record: one round trip fewer), or at once outside such a block."""
    rows = getattr(_batch, "rows", None)
    if rows is None:
        instances_insert([instance])
    else:
        rows.append(instance)


def audit_event_record(
    *,
    action: str,
    actor: Any = None,
    actor_label: str = "",
    object_type: str = "",
    object_id: str | int = "",
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain.

    Writers serialise on the chain head row (SELECT ... FOR UPDATE; on SQLite the IMMEDIATE
    transaction's write lock), so concurrent processes never fork the chain. Call it inside the
    transaction that makes the state change it records. An anonymous `request.user` is recorded
    as a label, since it has no row to refer to. Inside `audit_events_batched()` the event joins the
    block's batch and is chained when the block ends.
    """
    if actor is not None and not actor.is_authenticated:
        actor, actor_label = None, actor_label or "anonymous"
    if actor is not None and not actor_label:
        actor_label = actor.get_username()
    event = AuditEvent(
        actor=actor,
        actor_label=actor_label or "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=_canonical_payload(payload),  # raises before any write, so the caller's transaction stays usable
    )
    batch = getattr(_batch, "events", None)
    if batch is not None:
        batch.append(event)
    else:
        _events_chain([event])
    return event


def _events_chain(events: list[AuditEvent], *, alongside: Sequence[Model] = ()) -> None:
    """Give the events the next sequence numbers and hashes under the locked head, insert them (and the rows
    `alongside`), advance the head.

    No savepoint of its own inside the caller's transaction: only a database error can happen here, and that
    aborts the caller's transaction anyway. Two round trips however many events (lock; advance and insert, sent
    together on Postgres), their statements written once (`finai.rows`): every decision runs them.
    """
    with transaction.atomic(savepoint=False):
        head = _chain_head_locked()
        occurred_at = timezone.now()  # under the lock, so time never runs backwards along the chain
        for event in events:
            event.sequence, event.occurred_at, event.previous_hash = head.sequence + 1, occurred_at, head.hash
            event.hash = audit_event_hash(event)
            head.sequence, head.hash = event.sequence, event.hash
        head.seal = audit_chain_seal(sequence=head.sequence, chain_hash=head.hash)
        advance = (_CHAIN_HEAD_ADVANCE, [head.sequence, head.hash, head.seal])
        others = [insert_statement([row]) for row in alongside]
        instances_insert(events, preceded_by=[advance, *others])


# Table and column names from the model's metadata; every value is a parameter.
_CHAIN_HEAD_TABLE = AuditChainHead._meta.db_table
_CHAIN_HEAD_ADVANCE = f'UPDATE "{_CHAIN_HEAD_TABLE}" SET "sequence" = %s, "hash" = %s, "seal" = %s WHERE "id" = 1'  # noqa: S608
_CHAIN_HEAD_READ = f'SELECT {quoted_columns(AuditChainHead)} FROM "{_CHAIN_HEAD_TABLE}" WHERE "id" = 1'  # noqa: S608


def _chain_head_locked() -> AuditChainHead:
    """The chain head, locked until the transaction ends (on SQLite the IMMEDIATE transaction's write lock)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(_CHAIN_HEAD_READ + lock)
        row = cursor.fetchone()
    if row is not None:
        return model_from_row(AuditChainHead, row)
    # The chain's first event: a concurrent first writer is resolved by get_or_create.
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    return head


@dataclass(frozen=True)
class IntegrityFinding:
    """One record that disagrees with the audit trail, named so an operator can open it."""

    check: str
    object_type: str
    object_id: str
    problem: str

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.problem}"


# A verification's stored form (the `audit.chain_verified` payload, the portal's session) names this many
# findings and counts the rest; `manage.py verify_audit_log` prints them all.
FINDINGS_RECORDED = 100


@dataclass(frozen=True)
class AuditChainVerification:
    """The result of walking the chain (intact, or the first broken link and why) and, for a full
    verification, every record that disagrees with the trail or the exported checkpoints."""

    events_checked: int
    first_broken_sequence: int | None = None
    first_broken_id: int | None = None
    problem: str = ""
    findings: tuple[IntegrityFinding, ...] = ()

    @property
    def chain_intact(self) -> bool:
        return self.first_broken_sequence is None and not self.problem

    @property
    def intact(self) -> bool:
        return self.chain_intact and not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "events_checked": self.events_checked,
            "first_broken_sequence": self.first_broken_sequence,
            "first_broken_id": self.first_broken_id,
            "problem": self.problem,
            "findings": [asdict(finding) for finding in self.findings[:FINDINGS_RECORDED]],
            "findings_total": len(self.findings),
        }


def audit_chain_verify() -> AuditChainVerification:
    """Recompute every hash in order; report the first event that was altered, removed or inserted.

    The walk and the chain head are read from one snapshot (REPEATABLE READ on Postgres, the write
    lock on SQLite), so events appended while a long verification runs are not mistaken for forgeries.
    """
    with _one_snapshot():
        return _audit_chain_walk()


def audit_trail_verify() -> AuditChainVerification:
    """The full tamper check: the hash chain, the head against the checkpoints exported outside the
    database, and every integrity check in AUDIT_INTEGRITY_CHECKS (records against their events).

    The chain alone proves only that events were not changed: a decision row edited in place, or the
    newest events removed with an earlier sealed head put back, leave it intact. All checks read the
    same snapshot, so a record and the event written in its transaction are seen together.
    """
    with _one_snapshot():
        verification = _audit_chain_walk()
        head = AuditChainHead.objects.filter(id=1).first()
        findings = [*audit_checkpoints_check(head=head)]
        for check in audit_integrity_checks():
            findings.extend(check())
    return replace(verification, findings=tuple(findings))


@contextmanager
def _one_snapshot() -> Iterator[None]:
    starts_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if starts_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _audit_chain_walk() -> AuditChainVerification:
    head = AuditChainHead.objects.filter(id=1).first()
    previous_hash, expected_sequence, checked, last_id = GENESIS_HASH, 1, 0, None
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000):
        if event.sequence != expected_sequence:
            return AuditChainVerification(
                checked, event.sequence, event.pk, f"expected sequence {expected_sequence}, found {event.sequence}"
            )
        if event.previous_hash != previous_hash:
            return AuditChainVerification(
                checked, event.sequence, event.pk, "previous_hash does not match the hash of the event before it"
            )
        if audit_event_hash(event) != event.hash:
            return AuditChainVerification(checked, event.sequence, event.pk, "content does not match its hash")
        if head is not None and event.sequence > head.sequence:
            return AuditChainVerification(
                checked,
                event.sequence,
                event.pk,
                f"the chain head ends at #{head.sequence}: this event was not appended through the audit service",
            )
        previous_hash, expected_sequence, checked, last_id = event.hash, expected_sequence + 1, checked + 1, event.pk
    if head is None:
        if checked:
            return AuditChainVerification(checked, None, None, "the chain head is missing")
        return AuditChainVerification(checked)
    if head.sequence > checked:
        return AuditChainVerification(
            checked,
            checked + 1,
            None,
            f"the chain head records {head.sequence} events but {checked} are present: events were removed",
        )
    if head.hash != previous_hash:
        return AuditChainVerification(
            checked, checked, last_id, "the last event's hash does not match the hash the chain head records"
        )
    if not hmac.compare_digest(head.seal, audit_chain_seal(sequence=head.sequence, chain_hash=head.hash)):
        return AuditChainVerification(
            checked,
            None,
            None,
            "the chain head's seal does not match: the chain was rewritten without the audit key "
            "(or AUDIT_CHAIN_KEY changed)",
        )
    return AuditChainVerification(checked)


def audit_chain_verification_record(*, actor: Any = None) -> AuditChainVerification:
    """Verify the trail and record the outcome in it, so the trail shows when it was last checked.

    A broken chain and each disagreeing record are also logged at ERROR level for operators' alerting.
    Once the check is committed, the new head is exported as a checkpoint.
    """
    verification = audit_trail_verify()
    if not verification.chain_intact:
        logger.error(
            "audit chain broken at sequence=%s id=%s: %s",
            verification.first_broken_sequence,
            verification.first_broken_id,
            verification.problem,
        )
    for finding in verification.findings[:FINDINGS_RECORDED]:
        logger.error("audit trail disagrees with a record (%s): %s", finding.check, finding)
    audit_event_record(
        action="audit.chain_verified",
        actor=actor,
        object_type="finai.auditchainhead",
        object_id=1,
        payload=verification.as_dict(),
    )
    transaction.on_commit(_checkpoint_export_logged)
    return verification


def audit_integrity_checks() -> list[Callable[[], Iterable[IntegrityFinding]]]:
    """The record checks that apps contribute through AUDIT_INTEGRITY_CHECKS (dotted paths, like MIDDLEWARE).

    Each takes no arguments and returns the `IntegrityFinding`s of the records that disagree with their audit
    events. Named in settings because finai imports no app, yet its verification must cover theirs.
    """
    return [import_string(path) for path in settings.AUDIT_INTEGRITY_CHECKS]


@dataclass(frozen=True)
class AuditCheckpoint:
    """The chain head as it was at a moment, kept outside the database (AUDIT_CHECKPOINT_FILE)."""

    sequence: int
    hash: str
    seal: str
    recorded_at: str


def _checkpoint_file() -> Path | None:
    location = settings.AUDIT_CHECKPOINT_FILE
    return Path(location) if location else None


def audit_checkpoint_export() -> AuditCheckpoint | None:
    """Append the sealed chain head to the checkpoint file, unless the last checkpoint already records it.

    The seal stops a rewrite by someone without AUDIT_CHAIN_KEY, but an earlier (sequence, hash, seal) of
    the head stays valid for ever: whoever can write to the database can remove the newest events and put
    an old head back. A copy of the head taken periodically and kept where the database's users cannot
    write shows that. Production should point the file at storage that only this service appends to (an
    append-only or object-locked mount). One `write` of one line per checkpoint, opened O_APPEND, so
    processes exporting at once never interleave. A head whose seal does not match is not exported.
    """
    path = _checkpoint_file()
    head = AuditChainHead.objects.filter(id=1).first()
    if path is None or head is None or head.sequence == 0:
        return None
    if not hmac.compare_digest(head.seal, audit_chain_seal(sequence=head.sequence, chain_hash=head.hash)):
        logger.error("audit chain head #%s is not sealed with the audit key: no checkpoint exported", head.sequence)
        return None
    last = _checkpoint_last(path)
    if last is not None and (last.sequence, last.hash) == (head.sequence, head.hash):
        return last
    checkpoint = AuditCheckpoint(head.sequence, head.hash, head.seal, timezone.now().isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(checkpoint), sort_keys=True) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return checkpoint


def _checkpoint_export_logged() -> None:
    """Export after a verification; a checkpoint that cannot be written must not fail the verification."""
    try:
        audit_checkpoint_export()
    except OSError:
        logger.exception("the audit chain checkpoint could not be written to %s", settings.AUDIT_CHECKPOINT_FILE)


def _checkpoint_parse(line: str) -> AuditCheckpoint | None:
    try:
        record = json.loads(line)
        checkpoint = AuditCheckpoint(
            sequence=int(record["sequence"]),
            hash=str(record["hash"]),
            seal=str(record["seal"]),
            recorded_at=str(record["recorded_at"]),
        )
    except (ValueError, TypeError, KeyError):
        return None
    return checkpoint


def _checkpoint_last(path: Path) -> AuditCheckpoint | None:
    """The file's last checkpoint, read from its tail (the file grows by one line per new head)."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 4096))
            lines = file.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    return _checkpoint_parse(lines[-1]) if lines else None


def audit_checkpoints_check(*, head: AuditChainHead | None) -> list[IntegrityFinding]:
    """Compare the chain with the checkpoints exported outside the database.

    The head must not be behind the newest checkpoint (events removed, an earlier head restored), and the
    event at the newest checkpointed sequence the chain still reaches must carry the checkpoint's hash (a
    rollback followed by new appends). One event suffices: each hash covers every event before it, and the
    walk checks those links. A checkpoint line that is unreadable or not sealed with the audit key is named.
    """
    path = _checkpoint_file()
    if path is None or not path.exists():
        return []
    findings: list[IntegrityFinding] = []
    sealed: list[AuditCheckpoint] = []
    with path.open(encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, start=1):
            checkpoint = _checkpoint_parse(line)
            if checkpoint is None:
                findings.append(_checkpoint_finding(f"line {number}", "is not a checkpoint this service wrote"))
            elif not hmac.compare_digest(
                checkpoint.seal, audit_chain_seal(sequence=checkpoint.sequence, chain_hash=checkpoint.hash)
            ):
                findings.append(_checkpoint_finding(f"line {number}", "is not sealed with the audit key"))
            else:
                sealed.append(checkpoint)
    head_sequence = head.sequence if head is not None else 0
    newest = max(sealed, key=lambda checkpoint: checkpoint.sequence, default=None)
    if newest is not None and newest.sequence > head_sequence:
        findings.append(
            _checkpoint_finding(
                "head",
                f"is at #{head_sequence}, behind the checkpoint exported at {newest.recorded_at} (#{newest.sequence}): "
                "the newest events were removed and an earlier head restored",
            )
        )
    reached = [checkpoint for checkpoint in sealed if checkpoint.sequence <= head_sequence]
    if reached:
        sequence = max(checkpoint.sequence for checkpoint in reached)
        stored = AuditEvent.objects.filter(sequence=sequence).values_list("hash", flat=True).first()
        for checkpoint in reached:
            if checkpoint.sequence == sequence and stored is not None and checkpoint.hash != stored:
                findings.append(
                    _checkpoint_finding(
                        f"#{sequence}",
                        f"has hash {stored[:12]}…, but the checkpoint exported at {checkpoint.recorded_at} records "
                        f"{checkpoint.hash[:12]}…: the chain was rolled back and written again since",
                    )
                )
    return findings


def _checkpoint_finding(object_id: str, problem: str) -> IntegrityFinding:
    return IntegrityFinding(check="checkpoints", object_type="audit chain", object_id=object_id, problem=problem)
