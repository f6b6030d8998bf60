"""With a real Celery worker process: async submissions and batch chunks are decided on the scoring queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from django.core.files.storage import storages
from django.test import Client

from analytics.models import DataSnapshot, ModelVersion
from finai.artifacts import artifact_store
from tests.lending.api.helpers import application_body, bearer, submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_champion(transactional_db, scorecard_artifact) -> Iterator[ModelVersion]:
    """A champion whose artifact the worker process can read (the project's artifact storage)."""
    path, digest = artifact_store(name="models/consumer_loan/api-worker-test.finai", content=scorecard_artifact)
    snapshot = DataSnapshot.objects.create(dataset="german_credit", content_hash="1" * 64, row_count=1000)
    yield ModelVersion.objects.create(
        family="scorecard", status="champion", snapshot=snapshot, artifact_path=path, artifact_sha256=digest
    )
    storages["artifacts"].delete(path)


def wait_for(read: Callable[[], dict], done: Callable[[dict], bool], *, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        body = read()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def test_the_worker_decides_async_submissions_and_batches(celery_worker_process, acme, shared_champion):
    client, key = Client(), acme[1]
    submitted = submit(client, key, application_body(), mode="async")
    batch = client.post(
        "/api/v1/batches/",
        {"applications": [application_body() for _ in range(3)]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="worker-batch",
        **bearer(key),
    )
    assert submitted.status_code == batch.status_code == 202

    application = wait_for(
        lambda: client.get(submitted["Location"], **bearer(key)).json(), lambda body: body["decision"] is not None
    )
    progress = wait_for(
        lambda: client.get(batch["Location"], **bearer(key)).json(), lambda body: body["status"] == "completed"
    )

    assert application["decision"]["model_version"] == shared_champion.pk
    assert (progress["status"], progress["decided"], progress["invalid"]) == ("completed", 3, 0)
