"""Webhooks: a partner is told of each decision by a signed POST, retried with back-off until it lands.

Signature scheme (documented for partners in docs/api.md): the header
`FinAI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the webhook secret>`.
Signing the timestamp with the body lets the receiver refuse replays of an old delivery; the delivery
id (`FinAI-Delivery`) stays the same across retries so the receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from finai.errors import ApplicationError
from lending.models import Decision, LoanApplication, PartnerWebhookSecret, WebhookDelivery
from lending.services.applications import application_final_outcome
from lending.services.partners import partner_applicant_reference_shown

EVENT_DECIDED = "application.decided"
SIGNATURE_HEADER = "FinAI-Signature"
SIGNATURE_VERSION = "v1"
MAX_ERROR_LENGTH = 500
# A delivery never attempted after this long lost its task (broker outage): queue it again.
UNSENT_SECONDS = 10 * 60
NOTIFY_LOOKBACK_DAYS = 1  # bounds the sweep's scan; decisions older than this are past notifying


class WebhookDeliveryError(ApplicationError):
    """A delivery attempt failed in a way a later attempt may not (timeout, refused, non-2xx)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="webhook_failed")


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `FinAI-Signature` value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={digest}"


def webhook_signature_verify(*, secret: str, header: str, body: bytes, tolerance_seconds: int = 300) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, refuse stale timestamps."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, header.strip())


def _decision_payload(decision: Decision) -> dict[str, Any]:
    application: LoanApplication = decision.application
    return decision_webhook_payload(
        decision=decision,
        application=application,
        partner=application.partner,
        stored_applicant_reference=application.applicant.reference,
        outcome=application_final_outcome(application),
    )


def decision_webhook_payload(
    *, decision: Decision, application: LoanApplication, partner: Any, stored_applicant_reference: str, outcome: str
) -> dict[str, Any]:
    """The body of `application.decided`, from its parts: a caller that already holds them (a batch chunk deciding
    in bulk, where nothing can have overridden the decision yet) reads nothing again."""
    return {
        "type": EVENT_DECIDED,
        "application": {
            "id": application.pk,
            "reference": application.reference,
            "applicant_reference": partner_applicant_reference_shown(
                partner=partner, stored=stored_applicant_reference
            ),
            "url": f"/api/v1/applications/{application.pk}/",
        },
        "decision": {
            "outcome": outcome,
            "probability_of_default": decision.probability_of_default,
            "score": decision.score,
            "reasons": [{"code": reason["code"], "text": reason["text"]} for reason in decision.reasons],
            "decided_at": decision.decided_at.isoformat(),
        },
    }


def webhook_decision_notify(*, decision: Decision) -> WebhookDelivery | None:
    """Queue the decision's webhook to the application's partner, once per application.

    Nothing is sent for shadow decisions, applications without a partner, or partners without a webhook.
    """
    application = decision.application
    partner = application.partner
    if decision.is_shadow or partner is None or not partner.webhook_url:
        return None
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            application=application,
            event=EVENT_DECIDED,
            defaults={"partner": partner, "payload": _decision_payload(decision)},
        )
        if created:
            from lending.tasks import webhook_deliver

            transaction.on_commit(lambda: webhook_deliver.delay(delivery.pk), robust=True)
    return delivery


def webhook_delivery_attempt(*, delivery_id: int, final: bool = False) -> WebhookDelivery:
    """POST the delivery once. A failure raises WebhookDeliveryError (to be retried) unless `final`.

    A delivery already made is not sent again, so a redelivered task is harmless.
    """
    delivery = WebhookDelivery.objects.select_related("partner").get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return delivery
    secret = PartnerWebhookSecret.objects.filter(partner=delivery.partner).values_list("secret", flat=True).first()
    body = json.dumps({"id": delivery.pk, **delivery.payload}, sort_keys=True, separators=(",", ":")).encode()
    problem, status_code = "", None
    if not delivery.partner.webhook_url or secret is None:
        problem = "the partner has no webhook URL and secret"
    else:
        request = urllib.request.Request(  # noqa: S310 - the URL is validated as http(s) when configured
            delivery.partner.webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "FinAI-Webhooks/1",
                "FinAI-Event": delivery.event,
                "FinAI-Delivery": str(delivery.pk),
                SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=int(time.time()), body=body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.API_WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                status_code = response.status
        except urllib.error.HTTPError as exc:
            status_code, problem = exc.code, f"the receiver answered {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            problem = f"could not reach the receiver: {exc}"
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = problem[:MAX_ERROR_LENGTH]
    if not problem:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
    elif final:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save(update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at"])
    if problem and not final:
        raise WebhookDeliveryError(f"Webhook delivery {delivery.pk} failed: {problem}")
    return delivery


def webhook_deliveries_unsent_requeue(*, older_than_seconds: int = UNSENT_SECONDS) -> int:
    """Queue again deliveries never attempted (their task was lost); retries in flight are left alone."""
    from lending.tasks import webhook_deliver

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    unsent = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, attempts=0, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for delivery_id in unsent:
        webhook_deliver.delay(delivery_id)
    return len(unsent)


def webhook_decisions_unnotified_notify() -> int:
    """Notify decisions made without a webhook (e.g. by the periodic decision sweep), since the secret was set."""
    decisions = (
        Decision.objects.filter(
            is_shadow=False,
            application__partner__webhook_url__gt="",
            application__webhook_deliveries__isnull=True,
            decided_at__gte=F("application__partner__webhook_secret__created_at"),
        )
        .filter(decided_at__gte=timezone.now() - timedelta(days=NOTIFY_LOOKBACK_DAYS))
        .select_related("application__partner", "application__applicant")
        .order_by("pk")[:1000]
    )
    notified = 0
    for decision in decisions:
        webhook_decision_notify(decision=decision)
        notified += 1
    return notified
