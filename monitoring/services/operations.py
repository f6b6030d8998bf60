"""Operational alert rules: applications the scoring path could not decide, a queue backing up, no live worker.

The first two run on a worker every few minutes (Celery beat). "No live worker" cannot be noticed by a worker,
so `manage.py check_operations` runs all three from outside (cron, a systemd timer, the orchestrator) and sends
a no-worker alert's notifications itself, since no worker would take the task that sends them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from finai.celery import app as celery_app
from finai.metrics import celery_queue_depths
from lending.models import LoanApplication
from monitoring.models import Alert
from monitoring.services.alerts import AlertBreach, alert_breach_record, alert_channels, alert_notify

logger = logging.getLogger(__name__)

WORKER_PING_SECONDS = 2.0


def scoring_error_breach(*, now: dt.datetime) -> AlertBreach | None:
    """Applications submitted in the last hour, older than the grace period, that still have no decision: the
    scoring path failed them (no champion, a model that cannot read them, a worker that crashed)."""
    grace = now - dt.timedelta(seconds=settings.MONITORING_SCORING_GRACE_SECONDS)
    recent = LoanApplication.objects.filter(submitted_at__gte=now - dt.timedelta(hours=1), submitted_at__lt=grace)
    submitted = recent.count()
    undecided = recent.filter(decisions__isnull=True).exclude(status=LoanApplication.Status.WITHDRAWN).count()
    if submitted < settings.MONITORING_SCORING_MIN_APPLICATIONS:
        return None
    rate = undecided / submitted
    if rate <= settings.MONITORING_SCORING_ERROR_RATE:
        return None
    return AlertBreach(
        rule=Alert.Rule.SCORING_ERRORS,
        subject="scoring",
        severity=Alert.Severity.CRITICAL,
        summary=f"{undecided} of {submitted} applications of the last hour are undecided ({rate:.0%}; "
        f"allowed {settings.MONITORING_SCORING_ERROR_RATE:.0%})",
        measurement={"submitted": submitted, "undecided": undecided, "rate": rate},
    )


def queue_backlog_breaches(depths: dict[str, int]) -> list[AlertBreach]:
    """Queues holding more messages than MONITORING_QUEUE_BACKLOG."""
    limit = settings.MONITORING_QUEUE_BACKLOG
    return [
        AlertBreach(
            rule=Alert.Rule.QUEUE_BACKLOG,
            subject=f"queue {queue}",
            severity=Alert.Severity.WARNING,
            summary=f"{waiting:,} messages wait in the {queue} queue (more than {limit:,})",
            measurement={"queue": queue, "messages": waiting, "limit": limit},
        )
        for queue, waiting in sorted(depths.items())
        if waiting > limit
    ]


def live_workers() -> list[str]:
    """The workers that answer a ping within a couple of seconds."""
    replies = celery_app.control.ping(timeout=WORKER_PING_SECONDS) or []
    return sorted(name for reply in replies for name in reply)


def operations_check(
    *,
    now: dt.datetime | None = None,
    queue_depths: Callable[[], dict[str, int]] = celery_queue_depths,
    workers: Callable[[], list[str]] | None = None,
) -> list[Alert]:
    """Raise what breaches. `workers` (a ping) is given only from outside the workers: a worker running this
    check is itself alive. A broker that does not answer is logged, not raised: the readiness probe reports it."""
    now = now or timezone.now()
    breaches = [breach for breach in [scoring_error_breach(now=now)] if breach]
    try:
        breaches += queue_backlog_breaches(queue_depths())
    except Exception:  # the broker is down: readiness (/readyz) and finai_broker_up report it
        logger.warning("operations check: the broker did not answer", exc_info=True)
    alerts = [alert_breach_record(breach=breach) for breach in breaches]
    if workers is not None and not workers():
        alert = alert_breach_record(
            breach=AlertBreach(
                rule=Alert.Rule.NO_WORKER,
                subject="celery workers",
                severity=Alert.Severity.CRITICAL,
                summary="No Celery worker answered a ping: nothing is scored, trained or monitored until one starts.",
                measurement={"pinged_at": now.isoformat()},
            ),
            queue_notifications=False,
        )
        if alert.breaches == 1:  # just opened; no worker would take the notification task: send it from here
            for channel in alert_channels():
                try:
                    alert_notify(alert_id=alert.pk, channel=channel)
                except OSError:
                    logger.exception("the no-worker alert could not be sent by %s", channel)
        alerts.append(alert)
    return alerts
