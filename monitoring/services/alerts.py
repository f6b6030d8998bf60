"""Alerts: a breached monitoring rule becomes one item that a person acknowledges and resolves.

One alert per rule and subject is open at a time (a partial unique constraint holds it): a further breach
adds to the open alert and raises its severity, never opens a second one, so a drifting feature measured
daily, weekly and monthly is one alert, not a storm. Opening, acknowledging and resolving are events in
the audit trail; opening (and an escalation to critical) notifies by email and by a signed webhook, sent
by a worker after the commit so a slow mail server never holds a monitoring run.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.models import ModelVersion
from finai.errors import ApplicationError
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.services.webhooks import SIGNATURE_HEADER, webhook_signature
from monitoring.models import Alert

MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True)
class AlertBreach:
    """One rule broken once: what, about which subject, how badly, and the measurement that showed it."""

    rule: str
    subject: str
    severity: str
    summary: str
    measurement: dict[str, Any] = field(default_factory=dict)
    model_version: ModelVersion | None = None


def alert_channels() -> list[str]:
    """The notification channels configured: email to MONITORING_ALERT_EMAILS, the MONITORING_ALERT_WEBHOOK_URL."""
    return [
        name
        for name, configured in (
            ("email", settings.MONITORING_ALERT_EMAILS),
            ("webhook", settings.MONITORING_ALERT_WEBHOOK_URL),
        )
        if configured
    ]


def _notify_on_commit(alert: Alert) -> None:
    """One task per channel, so a webhook retried never sends the email twice."""
    from monitoring.tasks import notify_alert

    for channel in alert_channels():
        transaction.on_commit(lambda channel=channel: notify_alert.delay(alert.pk, channel), robust=True)


def alert_breach_record(*, breach: AlertBreach, queue_notifications: bool = True) -> Alert:
    """Open an alert for the breach, or add the breach to the rule's open alert for the same subject.

    Opening (or escalating) queues its notifications unless `queue_notifications` is off, for a caller that
    sends them itself.
    """
    now = timezone.now()
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(rule=breach.rule, subject=breach.subject)
            .exclude(status=Alert.Status.RESOLVED)
            .first()
        )
        if alert is not None:
            escalated = breach.severity == Alert.Severity.CRITICAL and alert.severity != Alert.Severity.CRITICAL
            alert.breaches += 1
            alert.last_breached_at = now
            alert.latest = breach.measurement
            alert.summary = breach.summary[:300]
            if escalated:
                alert.severity = Alert.Severity.CRITICAL
                if queue_notifications:
                    _notify_on_commit(alert)
            alert.save(update_fields=["breaches", "last_breached_at", "latest", "summary", "severity"])
            return alert
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    rule=breach.rule,
                    subject=breach.subject[:200],
                    model_version=breach.model_version,
                    severity=breach.severity,
                    summary=breach.summary[:300],
                    latest=breach.measurement,
                    first_breached_at=now,
                    last_breached_at=now,
                )
        except IntegrityError:  # another process opened it between our read and write: add to that one
            return alert_breach_record(breach=breach, queue_notifications=queue_notifications)
        audit_event_record(
            action="alert.opened",
            actor_label="monitoring",
            object_type="alert",
            object_id=alert.pk,
            payload={"rule": alert.rule, "subject": alert.subject, "severity": alert.severity, **breach.measurement},
        )
        if queue_notifications:
            _notify_on_commit(alert)
    return alert


def _note_checked(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise ApplicationError("Say how the alert was resolved.", details={"note": "is required"}, code="invalid_note")
    if len(note) > MAX_NOTE_LENGTH:
        raise ApplicationError(
            "The note is too long.", details={"note": f"at most {MAX_NOTE_LENGTH:,} characters"}, code="invalid_note"
        )
    return note


def alert_acknowledge(*, alert: Alert, user: Any, note: str = "") -> Alert:
    """Someone has seen the alert and owns it; it stays open (further breaches still add to it)."""
    ensure_role(user, *MANAGER_ROLES)
    note = _note_checked(note, required=False)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != Alert.Status.OPEN:
            raise ApplicationError(
                f"An alert that is {alert.status} cannot be acknowledged.",
                details={"status": alert.status},
                code="invalid_transition",
            )
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.acknowledged_by, alert.acknowledged_at, alert.acknowledgement_note = user, timezone.now(), note
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledgement_note"])
        audit_event_record(
            action="alert.acknowledged",
            actor=user,
            object_type="alert",
            object_id=alert.pk,
            payload={"rule": alert.rule, "subject": alert.subject, "note": note},
        )
    return alert


def alert_resolve(*, alert: Alert, user: Any, note: str) -> Alert:
    """Close the alert with what was done about it (a note is required); the next breach opens a new one."""
    ensure_role(user, *MANAGER_ROLES)
    note = _note_checked(note, required=True)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status == Alert.Status.RESOLVED:
            raise ApplicationError(
                "The alert is already resolved.", details={"status": alert.status}, code="invalid_transition"
            )
        alert.status = Alert.Status.RESOLVED
        alert.resolved_by, alert.resolved_at, alert.resolution_note = user, timezone.now(), note
        alert.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
        audit_event_record(
            action="alert.resolved",
            actor=user,
            object_type="alert",
            object_id=alert.pk,
            payload={"rule": alert.rule, "subject": alert.subject, "breaches": alert.breaches, "note": note},
        )
    return alert


def alert_payload(alert: Alert) -> dict[str, Any]:
    """What a notification says about an alert (JSON-ready)."""
    return {
        "id": alert.pk,
        "rule": alert.rule,
        "subject": alert.subject,
        "severity": alert.severity,
        "status": alert.status,
        "summary": alert.summary,
        "breaches": alert.breaches,
        "first_breached_at": alert.first_breached_at.isoformat(),
        "last_breached_at": alert.last_breached_at.isoformat(),
        "model_version": alert.model_version_id,
        "latest": alert.latest,
    }


class AlertNotificationError(OSError):
    """A channel could not be reached (an I/O error, as the mail server's own are); the task retries."""


def alert_notify(*, alert_id: int, channel: str) -> None:
    """Send the alert by `channel`: "email" (to MONITORING_ALERT_EMAILS) or "webhook" (a POST to
    MONITORING_ALERT_WEBHOOK_URL signed with HMAC-SHA256 over "timestamp.body" under
    MONITORING_ALERT_WEBHOOK_SECRET, the scheme partners' webhooks use, so one verifier serves both).

    Raises AlertNotificationError when the receiver cannot be reached or refuses (the task retries).
    """
    alert = Alert.objects.get(pk=alert_id)
    payload = alert_payload(alert)
    if channel == "email":
        send_mail(
            subject=f"[FinAI {alert.severity}] {alert.get_rule_display()}: {alert.subject}",
            message=f"{alert.summary}\n\nBreaches so far: {alert.breaches}\n\n{json.dumps(payload, indent=2)}",
            from_email=None,
            recipient_list=list(settings.MONITORING_ALERT_EMAILS),
        )
        return
    body = json.dumps({"event": "alert", **payload}, sort_keys=True, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL checked at start-up
        settings.MONITORING_ALERT_WEBHOOK_URL,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "FinAI-Alerts/1",
            "FinAI-Event": "alert",
            SIGNATURE_HEADER: webhook_signature(
                secret=settings.MONITORING_ALERT_WEBHOOK_SECRET, timestamp=int(time.time()), body=body
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.API_WEBHOOK_TIMEOUT_SECONDS):  # noqa: S310
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise AlertNotificationError(f"alert {alert.pk}: the webhook could not be delivered: {exc}") from exc
