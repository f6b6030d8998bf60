"""Idempotent requests: a retried request gets the first answer and changes nothing.

Partners retry on timeouts; without this a network hiccup would submit the same applicant twice and
make two credit decisions. The key is claimed by inserting an `IdempotencyRecord`, with the response, at
the end of the transaction that does the work: a concurrent retry's insert waits on the unique constraint
until the winner commits, then fails, rolls back everything the retry wrote and replays the winner's
response (one insert, no update); a failed attempt rolls back and leaves the key free. A key is remembered for
`API_IDEMPOTENCY_KEY_TTL_HOURS`; after that the partner API sweep deletes it and the key is new again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from finai.errors import ApplicationError
from finai.services import audit_batch_row_insert, audit_events_batched
from lending.models import IdempotencyRecord

KEY_REUSED = "idempotency_key_reused"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    location: str
    replayed: bool


def request_fingerprint(*, method: str, path: str, mode: str, body: Any) -> str:
    """SHA-256 of what makes two requests the same: method, path, mode and the body's canonical JSON."""
    canonical = json.dumps(
        {"method": method, "path": path, "mode": mode, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> StoredResponse:
    if record.fingerprint != fingerprint:
        raise ApplicationError(
            "This Idempotency-Key was already used with a different request.",
            details={"Idempotency-Key": "send a new key for a new request; reuse a key only to retry the same one"},
            code=KEY_REUSED,
        )
    return StoredResponse(record.response_status, record.response_body, record.response_location, replayed=True)


def idempotency_stored_response(*, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
    """The response already given for this key, or None if the key is unused; 422 if the request differs."""
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    return None if record is None else _replay(record, fingerprint)


def idempotent_response(
    *, scope: str, key: str, fingerprint: str, produce: Callable[[], tuple[int, Any, str]]
) -> StoredResponse:
    """Run `produce` (returning status, JSON body, location) at most once per caller and key.

    Everything `produce` writes commits together with the stored response, or not at all. The key is stored
    after the work, with its response, in one insert sent with the work's audit events: a concurrent request with
    the same key waits (on the audit chain's head, then on the key's unique index), then rolls back what it
    produced and replays ours. A retry whose work is refused
    because the first attempt's records exist (an id already stored) replays the stored answer too.
    """
    try:
        # The work's audit events are chained as the block ends, and the key is inserted in the same round trip.
        with transaction.atomic(), audit_events_batched():
            status, body, location = produce()
            audit_batch_row_insert(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    response_status=status,
                    response_body=body,
                    response_location=location,
                )
            )
    except (IntegrityError, ApplicationError):
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    return StoredResponse(status, body, location, replayed=False)


def idempotency_keys_expired_delete() -> int:
    """Forget keys older than the TTL (the sweep calls this); returns how many were deleted."""
    expired = timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=expired).delete()
    return deleted
