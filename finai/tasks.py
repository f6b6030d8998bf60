"""Celery tasks of the core: thin wrappers around one service each."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from finai.services import audit_chain_verification_record, audit_checkpoint_export


@shared_task
def verify_audit_chain() -> dict[str, Any]:
    """Periodic tamper check of the audit trail; the outcome is itself recorded in the trail."""
    return audit_chain_verification_record().as_dict()


@shared_task
def export_audit_checkpoint() -> dict[str, Any] | None:
    """Periodic copy of the sealed chain head outside the database, so a rolled-back head shows."""
    checkpoint = audit_checkpoint_export()
    return asdict(checkpoint) if checkpoint is not None else None
