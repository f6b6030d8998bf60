"""A champion whose stored model no longer matches the registry's SHA-256 decides nothing (issue 20, finding 5).

Before: a partner got 422 "Invalid request" naming the artifact's path and both hashes, the application was
not stored, and a process that had loaded the model kept deciding with its copy. Now the application is
stored and waits, the partner gets a 503 problem naming nothing internal, the error log names the file and
both hashes for operators, and every process re-verifies a file that changed since it loaded it.
"""

from __future__ import annotations

import logging

import pytest
from django.core.files.storage import storages
from django.test import Client

from lending.models import Decision, IdempotencyRecord, LoanApplication
from lending.services.decisions import application_decide
from lending.tasks import decide_application
from tests.lending.api.helpers import application_body, bearer, submit

pytestmark = pytest.mark.django_db


def _tamper(version) -> bytes:
    """Flip the artifact's last byte in place, as an attacker with write access to the storage would."""
    path = storages["artifacts"].path(version.artifact_path)
    with open(path, "rb") as handle:
        original = handle.read()
    with open(path, "wb") as handle:
        handle.write(original[:-1] + bytes([original[-1] ^ 0xFF]))
    return original


def _restore(version, original: bytes) -> None:
    with open(storages["artifacts"].path(version.artifact_path), "wb") as handle:
        handle.write(original)


def test_a_tampered_champion_stores_the_application_and_answers_503_naming_nothing_internal(acme, champion, caplog):
    client = Client()
    assert submit(client, acme[1], application_body()).status_code == 201  # this process now holds the model
    _tamper(champion)

    with caplog.at_level(logging.ERROR, logger="finai.artifacts"):
        response = submit(client, acme[1], application_body(), idempotency_key="after-tampering")
        retried = submit(client, acme[1], application_body(), idempotency_key="after-tampering")

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    problem = response.json()
    assert problem["code"] == "model_unavailable"
    assert problem["type"] == "/api/docs/#problem-model_unavailable"
    for internal in (champion.artifact_path, champion.artifact_sha256, "sha256", "artifact"):
        assert internal.lower() not in response.content.decode().lower()
    application = LoanApplication.objects.get(pk=problem["application"]["id"])
    assert application.status == LoanApplication.Status.SUBMITTED
    assert not application.decisions.exists()
    assert response["Location"].endswith(problem["application"]["url"])
    assert client.get(problem["application"]["url"], **bearer(acme[1])).json()["decision"] is None
    # A retry replays the answer: still one application, one stored key.
    assert retried.status_code == 503
    assert retried["Idempotent-Replayed"] == "true"
    assert retried.json() == problem
    assert LoanApplication.objects.count() == 2
    assert IdempotencyRecord.objects.filter(key="after-tampering").count() == 1
    # Operators are told where and what: the file and both hashes, in the error log.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert champion.artifact_path in logged
    assert champion.artifact_sha256 in logged


def test_the_waiting_application_is_decided_once_the_artifact_is_restored(acme, champion):
    client = Client()
    assert submit(client, acme[1], application_body()).status_code == 201
    original = _tamper(champion)
    waiting_id = submit(client, acme[1], application_body()).json()["application"]["id"]

    assert decide_application.run(waiting_id) == {
        "application_id": waiting_id,
        "decided": False,
        "reason": "artifact_tampered",
    }
    _restore(champion, original)
    decision = application_decide(application_id=waiting_id)

    assert decision.model_version_id == champion.pk
    assert LoanApplication.objects.get(pk=waiting_id).status == LoanApplication.Status.DECIDED
    assert submit(client, acme[1], application_body()).status_code == 201


def test_an_asynchronous_submission_is_accepted_and_waits(acme, champion):
    _tamper(champion)

    response = submit(Client(), acme[1], application_body(), mode="async")

    assert response.status_code == 202, response.content
    assert response.json()["decision"] is None
    assert not Decision.objects.exists()
