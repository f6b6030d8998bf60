"""Core write services: the one place audit events are appended to the hash chain, and its verification."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from finai.models import GENESIS_HASH, AuditChainHead, AuditEvent

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
    as a label, since it has no row to refer to.
    """
    if actor is not None and not actor.is_authenticated:
        actor, actor_label = None, actor_label or "anonymous"
    if actor is not None and not actor_label:
        actor_label = actor.get_username()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            sequence=head.sequence + 1,
            occurred_at=timezone.now(),
            actor=actor,
            actor_label=actor_label or "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            payload=_canonical_payload(payload),
            previous_hash=head.hash,
        )
        event.hash = audit_event_hash(event)
        event.save(force_insert=True)
        head.sequence, head.hash = event.sequence, event.hash
        head.seal = audit_chain_seal(sequence=head.sequence, chain_hash=head.hash)
        head.save(update_fields=["sequence", "hash", "seal"])
    return event


@dataclass(frozen=True)
class AuditChainVerification:
    """The result of walking the chain: intact, or the first broken link and why."""

    events_checked: int
    first_broken_sequence: int | None = None
    first_broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_sequence is None and not self.problem

    def as_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, **asdict(self)}


def audit_chain_verify() -> AuditChainVerification:
    """Recompute every hash in order; report the first event that was altered, removed or inserted.

    The walk and the chain head are read from one snapshot (REPEATABLE READ on Postgres, the write
    lock on SQLite), so events appended while a long verification runs are not mistaken for forgeries.
    """
    starts_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if starts_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _audit_chain_walk()


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
    """Verify the chain and record the outcome in it, so the trail shows when it was last checked.

    A broken chain is also logged at ERROR level for operators' alerting.
    """
    verification = audit_chain_verify()
    if not verification.intact:
        logger.error(
            "audit chain broken at sequence=%s id=%s: %s",
            verification.first_broken_sequence,
            verification.first_broken_id,
            verification.problem,
        )
    audit_event_record(
        action="audit.chain_verified",
        actor=actor,
        object_type="finai.auditchainhead",
        object_id=1,
        payload=verification.as_dict(),
    )
    return verification
