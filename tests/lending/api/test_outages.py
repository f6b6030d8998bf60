"""A broker outage delays partner work, never drops it: requests still succeed, a sweep resumes the rest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lending.models import Batch, BatchItem, LoanApplication, WebhookDelivery
from lending.services.decisions import application_decide
from lending.services.partners import partner_webhook_configure
from lending.tasks import partner_api_sweep
from tests.lending.api.helpers import application_body, bearer, submit

pytestmark = pytest.mark.django_db


def broker_down(*args, **kwargs):
    raise ConnectionError("broker unreachable")


def test_an_async_submission_is_accepted_and_stored_while_the_broker_is_down(
    client, acme, champion, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("lending.tasks.decide_application.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, acme[1], application_body(), mode="async")

    assert response.status_code == 202
    assert LoanApplication.objects.filter(pk=response.json()["id"], status="submitted").exists()


def test_a_batch_whose_chunks_were_lost_is_resumed_by_the_sweep(
    client, acme, champion, monkeypatch, eager_celery, django_capture_on_commit_callbacks
):
    with monkeypatch.context() as outage:
        outage.setattr("lending.tasks.batch_process_chunk.delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            batch = client.post(
                "/api/v1/batches/",
                {"applications": [application_body(), application_body()]},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="lost",
                **bearer(acme[1]),
            )
    assert batch.status_code == 202
    assert BatchItem.objects.filter(status="pending").count() == 2

    partner_api_sweep()
    assert BatchItem.objects.filter(status="pending").count() == 2  # too recent: perhaps still queued

    Batch.objects.update(created_at=timezone.now() - dt.timedelta(hours=1))
    result = partner_api_sweep()

    assert result["batches"] == 1
    assert Batch.objects.get().status == "completed"
    assert BatchItem.objects.filter(status="decided").count() == 2


def test_a_decision_made_without_the_task_still_reaches_the_webhook_through_the_sweep(
    client, acme, champion, monkeypatch, django_capture_on_commit_callbacks
):
    partner, key = acme
    partner_webhook_configure(partner=partner, url="http://127.0.0.1:9/hooks")
    monkeypatch.setattr("lending.tasks.decide_application.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        application_id = submit(client, key, application_body(), mode="async").json()["id"]
    application_decide(application_id=application_id)  # decided outside the task, which would notify
    assert not WebhookDelivery.objects.exists()

    queued = []
    monkeypatch.setattr("lending.tasks.webhook_deliver.delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        result = partner_api_sweep()

    delivery = WebhookDelivery.objects.get(application_id=application_id)
    assert result["decisions_notified"] == 1
    assert queued == [(delivery.pk,)]
    assert partner_api_sweep()["decisions_notified"] == 0


def test_decisions_made_before_the_webhook_was_configured_are_not_sent(client, acme, champion):
    partner, key = acme
    submit(client, key, application_body(), mode="sync")
    partner_webhook_configure(partner=partner, url="http://127.0.0.1:9/hooks")

    assert partner_api_sweep()["decisions_notified"] == 0


def test_a_delivery_whose_task_was_lost_is_queued_again(
    client, acme, champion, monkeypatch, django_capture_on_commit_callbacks
):
    partner, key = acme
    partner_webhook_configure(partner=partner, url="http://127.0.0.1:9/hooks")
    monkeypatch.setattr("lending.tasks.webhook_deliver.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(client, key, application_body(), mode="sync").status_code == 201
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(created_at=timezone.now() - dt.timedelta(hours=1))

    queued = []
    monkeypatch.setattr("lending.tasks.webhook_deliver.delay", lambda *args: queued.append(args))
    partner_api_sweep()

    assert queued == [(delivery.pk,)]


def test_the_decision_task_notifies_the_webhook_itself(
    client, acme, champion, monkeypatch, django_capture_on_commit_callbacks
):
    from lending.tasks import decide_application

    partner, key = acme
    partner_webhook_configure(partner=partner, url="http://127.0.0.1:9/hooks")
    monkeypatch.setattr("lending.tasks.decide_application.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        application_id = submit(client, key, application_body(), mode="async").json()["id"]
    monkeypatch.setattr("lending.tasks.webhook_deliver.delay", lambda *args: None)

    with django_capture_on_commit_callbacks(execute=True):
        decide_application(application_id)

    assert WebhookDelivery.objects.filter(application_id=application_id, status="pending").exists()
