"""Celery tasks of lending: thin and idempotent, each calls one service (the `scoring` queue)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import after_task_publish
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from finai.errors import ApplicationError
from lending.models import LoanApplication
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
    """Decide one application and notify its partner's webhook; a retry or duplicate reuses the decision."""
    from lending.services.webhooks import webhook_decision_notify

    try:
        decision = application_decide(application_id=application_id)
    except ApplicationError as exc:
        # Not transient: the application stays stored and undecided, and says why in the log.
        logger.warning("application %s not decided: %s", application_id, exc)
        return {"application_id": application_id, "decided": False, "reason": exc.code}
    webhook_decision_notify(decision=decision)
    return {"application_id": application_id, "decided": True, "outcome": decision.outcome}


@shared_task(name="lending.tasks.decide_waiting_applications")
def decide_waiting_applications() -> dict:
    """Queue applications stored but never queued (the broker was down) or whose task the broker lost."""
    waiting = applications_awaiting_decision()
    for application_id in waiting:
        decide_application.delay(application_id)
    return {"queued": len(waiting)}


@after_task_publish.connect(dispatch_uid="lending_decision_queued_stamp")
def _decision_queued_stamp(sender: str | None = None, body: Any = None, **kwargs: Any) -> None:
    """Record when each decision task reached the broker, whoever published it (a submission, the sweeper, a
    retry), so the sweeper never queues again an application whose task is still waiting in the queue."""
    if sender != decide_application.name:
        return
    args = body[0] if isinstance(body, list | tuple) else body.get("args", ())
    LoanApplication.objects.filter(pk=args[0]).update(decision_queued_at=timezone.now())


# --- Partner API: decisions for API submissions, batches in chunks, signed webhooks with back-off. ---


@shared_task(
    name="lending.tasks.batch_process_chunk",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=10,
)
def batch_process_chunk(batch_id: int, first_row: int, last_row: int) -> dict:
    """Submit and decide one chunk of a batch; rows already processed are skipped."""
    from lending.services.batches import batch_chunk_process

    processed = batch_chunk_process(batch_id=batch_id, first_row=first_row, last_row=last_row)
    return {"batch_id": batch_id, "processed": processed}


def _webhook_task_options() -> dict:
    from django.conf import settings

    from lending.services.webhooks import WebhookDeliveryError

    return {
        "autoretry_for": (WebhookDeliveryError,),
        "retry_backoff": settings.API_WEBHOOK_BACKOFF_SECONDS,
        "retry_backoff_max": 60 * 60,
        "max_retries": settings.API_WEBHOOK_MAX_ATTEMPTS - 1,
    }


@shared_task(bind=True, name="lending.tasks.webhook_deliver", **_webhook_task_options())
def webhook_deliver(self, delivery_id: int) -> dict:
    """One delivery attempt; failures retry with exponential back-off, the last one marks it failed."""
    from lending.services.webhooks import webhook_delivery_attempt

    delivery = webhook_delivery_attempt(delivery_id=delivery_id, final=self.request.retries >= self.max_retries)
    return {"delivery_id": delivery_id, "status": delivery.status, "attempts": delivery.attempts}


@shared_task(name="lending.tasks.partner_api_sweep")
def partner_api_sweep() -> dict:
    """Periodic: resume what a broker outage interrupted — stalled batches, unsent and missing webhooks —
    and forget expired idempotency keys."""
    from lending.services.batches import batches_stalled_requeue
    from lending.services.idempotency import idempotency_keys_expired_delete
    from lending.services.webhooks import webhook_decisions_unnotified_notify, webhook_deliveries_unsent_requeue

    return {
        "batches": batches_stalled_requeue(),
        "webhooks_requeued": webhook_deliveries_unsent_requeue(),
        "decisions_notified": webhook_decisions_unnotified_notify(),
        "idempotency_keys_expired": idempotency_keys_expired_delete(),
    }
