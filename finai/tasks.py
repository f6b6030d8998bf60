"""Celery tasks of the core: thin wrappers around one service each."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from finai.services import audit_chain_verification_record


@shared_task
def verify_audit_chain() -> dict[str, Any]:
    """Periodic tamper check of the audit trail; the outcome is itself recorded in the trail."""
    return audit_chain_verification_record().as_dict()
