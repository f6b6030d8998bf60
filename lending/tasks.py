"""Celery tasks of lending: thin and idempotent, each calls one service (the `scoring` queue)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from finai.errors import ApplicationError
from lending.services.decisions import application_decide, applications_awaiting_decision

logger = logging.getLogger(__name__)


@shared_task(
    name="lending.tasks.decide_application",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=10,
)
def decide_application(application_id: int) -> dict:
    """Decide one application; a retry or duplicate returns the decision already made."""
    try:
        decision = application_decide(application_id=application_id)
    except ApplicationError as exc:
        # Not transient: the application stays stored and undecided, and says why in the log.
        logger.warning("application %s not decided: %s", application_id, exc)
        return {"application_id": application_id, "decided": False, "reason": exc.code}
    return {"application_id": application_id, "decided": True, "outcome": decision.outcome}


@shared_task(name="lending.tasks.decide_waiting_applications")
def decide_waiting_applications() -> dict:
    """Queue applications stored but never decided (e.g. submitted while the broker was down)."""
    waiting = applications_awaiting_decision()
    for application_id in waiting:
        decide_application.delay(application_id)
    return {"queued": len(waiting)}
