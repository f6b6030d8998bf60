"""Core write services: the one place audit events are appended to the hash chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from finai.models import GENESIS_HASH, AuditChainHead, AuditEvent


def _canonical_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Round-trip through JSON so the stored payload and the hashed payload are the same value."""
    return json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))


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

    Writers serialise on the chain head row (SELECT ... FOR UPDATE), so concurrent processes never
    fork the chain. Call it inside the transaction that makes the state change it records.
    """
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
        head.save(update_fields=["sequence", "hash"])
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


def audit_chain_verify() -> AuditChainVerification:
    """Recompute every hash in order; report the first event that was altered, removed or inserted."""
    previous_hash, expected_sequence, checked = GENESIS_HASH, 1, 0
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
        previous_hash, expected_sequence, checked = event.hash, expected_sequence + 1, checked + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.sequence != checked or head.hash != previous_hash):
        return AuditChainVerification(
            checked,
            checked + 1,
            None,
            f"the chain head records {head.sequence} events but {checked} are present: events were removed",
        )
    return AuditChainVerification(checked)
