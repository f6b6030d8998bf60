"""Webhooks against a real HTTP receiver on 127.0.0.1: signed, retried after a failure, sent once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lending.models import Decision, WebhookDelivery
from lending.services.partners import partner_webhook_configure
from lending.services.webhooks import webhook_signature, webhook_signature_verify
from lending.tasks import webhook_deliver
from tests.lending.api.helpers import application_body, submit

pytestmark = pytest.mark.django_db


class Receiver:
    """A partner's endpoint: answers the scripted statuses in turn and records what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses[min(len(receiver.received), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/finai"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_failing_once() -> Iterator[Receiver]:
    with Receiver([500, 200]) as receiver:
        yield receiver


def decide_with_webhook(client, key, django_capture_on_commit_callbacks) -> WebhookDelivery:
    """Submit synchronously; return the delivery queued on commit (not yet sent)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = submit(client, key, application_body(), mode="sync")
    assert response.status_code == 201
    # The webhook's delivery task is queued once, only when the decision commits (beside it: the decision counter).
    assert [callback.__module__ for callback in callbacks].count("lending.services.webhooks") == 1
    return WebhookDelivery.objects.get(application_id=response.json()["id"])


def test_a_failed_delivery_is_retried_and_every_attempt_is_signed(
    client, acme, champion, receiver_failing_once, django_capture_on_commit_callbacks
):
    partner, key = acme
    secret = partner_webhook_configure(partner=partner, url=receiver_failing_once.url)
    delivery = decide_with_webhook(client, key, django_capture_on_commit_callbacks)

    webhook_deliver.apply(args=(delivery.pk,))  # Celery runs the autoretry inline here; a worker would back off

    assert len(receiver_failing_once.received) == 2
    for headers, body in receiver_failing_once.received:
        assert webhook_signature_verify(secret=secret, header=headers["finai-signature"], body=body)
        assert headers["finai-delivery"] == str(delivery.pk)
        assert headers["finai-event"] == "application.decided"
    payload = json.loads(receiver_failing_once.received[1][1])
    decision = Decision.objects.get(application_id=delivery.application_id, is_shadow=False)
    assert payload["application"]["id"] == delivery.application_id
    assert payload["decision"]["outcome"] == decision.outcome
    assert payload["decision"]["probability_of_default"] == decision.probability_of_default
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)


def test_a_delivered_webhook_is_not_sent_again(client, acme, champion, django_capture_on_commit_callbacks):
    partner, key = acme
    with Receiver([200]) as receiver:
        partner_webhook_configure(partner=partner, url=receiver.url)
        delivery = decide_with_webhook(client, key, django_capture_on_commit_callbacks)
        webhook_deliver.apply(args=(delivery.pk,))
        webhook_deliver.apply(args=(delivery.pk,))

    assert len(receiver.received) == 1


def test_after_the_last_attempt_the_delivery_is_marked_failed(
    client, acme, champion, settings, django_capture_on_commit_callbacks
):
    partner, key = acme
    with Receiver([503]) as receiver:
        partner_webhook_configure(partner=partner, url=receiver.url)
        delivery = decide_with_webhook(client, key, django_capture_on_commit_callbacks)
        webhook_deliver.apply(args=(delivery.pk,))

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == webhook_deliver.max_retries + 1 == settings.API_WEBHOOK_MAX_ATTEMPTS
    assert len(receiver.received) == delivery.attempts
    assert delivery.last_error == "the receiver answered 503"


def test_the_retries_back_off_exponentially():
    assert webhook_deliver.autoretry_for
    assert webhook_deliver.retry_backoff == 30
    assert webhook_deliver.retry_backoff_max == 3600


def test_partners_without_a_webhook_get_no_delivery(client, acme, champion):
    response = submit(client, acme[1], application_body(), mode="sync")

    assert not WebhookDelivery.objects.filter(application_id=response.json()["id"]).exists()


def test_a_signature_from_another_secret_or_a_changed_body_does_not_verify():
    header = webhook_signature(secret="whsec_right", timestamp=1_700_000_000, body=b'{"a":1}')

    assert webhook_signature_verify(secret="whsec_right", header=header, body=b'{"a":1}', tolerance_seconds=10**10)
    assert not webhook_signature_verify(secret="whsec_wrong", header=header, body=b'{"a":1}', tolerance_seconds=10**10)
    assert not webhook_signature_verify(secret="whsec_right", header=header, body=b'{"a":2}', tolerance_seconds=10**10)
    assert not webhook_signature_verify(secret="whsec_right", header=header, body=b'{"a":1}')  # stale timestamp
