"""Alerts: one open per rule and subject, audited acknowledge and resolve, email and a signed webhook."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from finai.errors import ApplicationError
from finai.models import AuditEvent
from finai.services import audit_chain_verify
from lending.services.webhooks import SIGNATURE_HEADER, webhook_signature_verify
from monitoring.models import Alert
from monitoring.services.alerts import (
    AlertBreach,
    AlertNotificationError,
    alert_acknowledge,
    alert_breach_record,
    alert_notify,
    alert_resolve,
)

SECRET = "alert-webhook-secret-for-tests"


def _breach(psi: float = 0.14, subject: str = "consumer_loan v1 duration") -> AlertBreach:
    return AlertBreach(
        rule=Alert.Rule.FEATURE_DRIFT,
        subject=subject,
        severity=Alert.Severity.CRITICAL if psi >= 0.25 else Alert.Severity.WARNING,
        summary=f"duration: PSI {psi}",
        measurement={"psi": psi},
    )


@pytest.mark.django_db
def test_a_second_breach_while_open_adds_to_the_alert_instead_of_opening_another() -> None:
    first = alert_breach_record(breach=_breach(0.14))
    second = alert_breach_record(breach=_breach(0.18))

    assert second.pk == first.pk
    [alert] = Alert.objects.all()
    assert alert.breaches == 2
    assert alert.latest == {"psi": 0.18}
    assert AuditEvent.objects.filter(action="alert.opened").count() == 1


@pytest.mark.django_db
def test_a_critical_breach_escalates_the_open_alert() -> None:
    alert_breach_record(breach=_breach(0.14))
    alert = alert_breach_record(breach=_breach(0.40))

    assert alert.severity == Alert.Severity.CRITICAL


@pytest.mark.django_db
def test_another_subject_opens_its_own_alert() -> None:
    alert_breach_record(breach=_breach(subject="consumer_loan v1 duration"))
    alert_breach_record(breach=_breach(subject="consumer_loan v1 amount"))

    assert Alert.objects.count() == 2


@pytest.mark.django_db
def test_acknowledging_records_who_when_and_the_note_in_the_audit_trail(model_manager) -> None:
    alert = alert_breach_record(breach=_breach())

    alert = alert_acknowledge(alert=alert, user=model_manager, note="Looking at the new broker channel.")

    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert alert.acknowledged_by == model_manager
    assert alert.acknowledged_at is not None
    event = AuditEvent.objects.get(action="alert.acknowledged")
    assert event.actor == model_manager
    assert event.payload["note"] == "Looking at the new broker channel."
    assert audit_chain_verify().intact


@pytest.mark.django_db
def test_a_breach_while_acknowledged_still_adds_to_the_same_alert(model_manager) -> None:
    alert = alert_acknowledge(alert=alert_breach_record(breach=_breach()), user=model_manager)

    again = alert_breach_record(breach=_breach(0.2))

    assert again.pk == alert.pk
    assert again.breaches == 2
    assert again.status == Alert.Status.ACKNOWLEDGED


@pytest.mark.django_db
def test_resolving_requires_a_note_and_is_audited(model_manager) -> None:
    alert = alert_breach_record(breach=_breach())

    with pytest.raises(ApplicationError) as refused:
        alert_resolve(alert=alert, user=model_manager, note="  ")
    assert "note" in refused.value.details

    alert = alert_resolve(alert=alert, user=model_manager, note="Retrained on the new channel's applicants.")
    assert alert.status == Alert.Status.RESOLVED
    assert alert.resolved_by == model_manager
    event = AuditEvent.objects.get(action="alert.resolved")
    assert event.payload["note"] == "Retrained on the new channel's applicants."


@pytest.mark.django_db
def test_a_breach_after_resolution_opens_a_new_alert(model_manager) -> None:
    resolved = alert_resolve(alert=alert_breach_record(breach=_breach()), user=model_manager, note="fixed")

    reopened = alert_breach_record(breach=_breach())

    assert reopened.pk != resolved.pk
    assert reopened.status == Alert.Status.OPEN


@pytest.mark.django_db
def test_only_model_managers_acknowledge_or_resolve(loan_officer, compliance_officer) -> None:
    alert = alert_breach_record(breach=_breach())

    for user in (loan_officer, compliance_officer):
        with pytest.raises(PermissionDenied):
            alert_acknowledge(alert=alert, user=user)
        with pytest.raises(PermissionDenied):
            alert_resolve(alert=alert, user=user, note="not mine to close")
    assert Alert.objects.get().status == Alert.Status.OPEN


@pytest.mark.django_db
def test_a_resolved_alert_cannot_be_acknowledged(model_manager) -> None:
    alert = alert_resolve(alert=alert_breach_record(breach=_breach()), user=model_manager, note="fixed")

    with pytest.raises(ApplicationError):
        alert_acknowledge(alert=alert, user=model_manager)


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[Any, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[str]:
    """A real HTTP server on the loopback that records what it is sent."""
    _Receiver.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


@pytest.mark.django_db
def test_the_webhook_receives_the_alert_signed_with_the_shared_secret(settings, webhook_receiver) -> None:
    settings.MONITORING_ALERT_WEBHOOK_URL = webhook_receiver
    settings.MONITORING_ALERT_WEBHOOK_SECRET = SECRET
    alert = alert_breach_record(breach=_breach())

    alert_notify(alert_id=alert.pk, channel="webhook")

    [(headers, body)] = _Receiver.received
    assert webhook_signature_verify(secret=SECRET, header=headers[SIGNATURE_HEADER], body=body)
    assert not webhook_signature_verify(secret="another-secret", header=headers[SIGNATURE_HEADER], body=body)
    payload = json.loads(body)
    assert payload["event"] == "alert"
    assert payload["id"] == alert.pk
    assert payload["rule"] == "feature_drift"


@pytest.mark.django_db
def test_an_unreachable_webhook_raises_so_the_task_retries(settings) -> None:
    settings.MONITORING_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/alerts"
    settings.MONITORING_ALERT_WEBHOOK_SECRET = SECRET
    alert = alert_breach_record(breach=_breach())

    with pytest.raises(AlertNotificationError):
        alert_notify(alert_id=alert.pk, channel="webhook")


@pytest.mark.django_db
def test_the_email_names_the_rule_the_subject_and_the_measurement(settings) -> None:
    settings.MONITORING_ALERT_EMAILS = ["model-risk@lender.example"]
    alert = alert_breach_record(breach=_breach(0.31))

    alert_notify(alert_id=alert.pk, channel="email")

    [message] = mail.outbox
    assert message.to == ["model-risk@lender.example"]
    assert "Feature drift" in message.subject
    assert "consumer_loan v1 duration" in message.subject
    assert "PSI 0.31" in message.body


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run inline where they are queued (the end-to-end test uses a real worker)."""
    from finai.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.mark.django_db(transaction=True)
def test_opening_an_alert_sends_one_notification_per_configured_channel(
    settings, webhook_receiver, eager_celery
) -> None:
    settings.MONITORING_ALERT_EMAILS = ["model-risk@lender.example"]
    settings.MONITORING_ALERT_WEBHOOK_URL = webhook_receiver
    settings.MONITORING_ALERT_WEBHOOK_SECRET = SECRET

    alert_breach_record(breach=_breach())
    alert_breach_record(breach=_breach(0.2))  # adds to the open alert: nothing more is sent

    assert len(mail.outbox) == 1
    assert len(_Receiver.received) == 1
