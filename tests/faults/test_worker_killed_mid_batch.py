"""kill -9 of the worker in the middle of a 2,000-application batch, then a restart: every application is decided
exactly once, and the audit chain still verifies."""

from __future__ import annotations

import json
import time

import pytest
import redis

from tests.faults.conftest import VISIBILITY_TIMEOUT_SECONDS, wait_until
from tests.lending.api.helpers import application_body

BATCH_SIZE = 2000
DECISIONS = """SELECT count(*), count(DISTINCT application_id) FROM lending_decision
    WHERE NOT is_shadow AND application_id IN (SELECT application_id FROM lending_batchitem)"""
DECISION_EVENTS = """SELECT count(*), count(DISTINCT object_id) FROM finai_auditevent
    WHERE action = 'decision.made' AND object_id IN (SELECT application_id::text FROM lending_batchitem)"""
DECIDED_APPLICATIONS = """SELECT count(*) FROM lending_loanapplication
    WHERE status = 'decided' AND id IN (SELECT application_id FROM lending_batchitem)"""


def _decided(faulty) -> int:
    return faulty.sql(DECISIONS)[0][0]


def _broker_idle(faulty) -> bool:
    """Nothing queued, nothing taken and unacknowledged: no task is left that could decide anything again."""
    broker = redis.Redis.from_url(faulty.redis.url, socket_timeout=5)
    queued = sum(broker.llen(queue) for queue in ("scoring", "training", "analytics"))
    return queued == 0 and broker.hlen("unacked") == 0


@pytest.mark.integration
def test_a_worker_killed_mid_batch_is_restarted_and_every_application_is_decided_exactly_once(faulty) -> None:
    started = time.monotonic()
    faulty.start_web()
    rows = [
        application_body(applicant={"reference": f"batch-{number}", "full_name": f"Applicant {number}"})
        for number in range(BATCH_SIZE)
    ]
    status, _, body = faulty.api("POST", "/api/v1/batches/", {"applications": rows})
    assert status == 202, body
    faulty.start_worker()
    print(f"batch stored and worker started in {time.monotonic() - started:.1f} s")

    # Mid-chunk: chunks are 250 rows, so some rows of the chunks in progress are decided and some are not.
    wait_until(lambda: _decided(faulty) >= BATCH_SIZE // 4 + 100, "a quarter of the batch to be decided", 120)
    faulty.kill_worker()
    decided_when_killed = _decided(faulty)
    assert decided_when_killed < BATCH_SIZE

    time.sleep(VISIBILITY_TIMEOUT_SECONDS)  # the dead worker's message must come back by the broker's own clock
    restarted = time.monotonic()
    faulty.start_worker()
    wait_until(lambda: _decided(faulty) == BATCH_SIZE, "every application of the batch to be decided", 150)
    wait_until(lambda: _broker_idle(faulty), "the queues to drain", 60)

    print(f"killed at {decided_when_killed} decided; the rest in {time.monotonic() - restarted:.1f} s after restart")
    assert faulty.sql(DECISIONS) == [(BATCH_SIZE, BATCH_SIZE)]
    assert faulty.sql(DECISION_EVENTS) == [(BATCH_SIZE, BATCH_SIZE)]
    assert faulty.sql(DECIDED_APPLICATIONS) == [(BATCH_SIZE,)]
    verification = json.loads(faulty.manage("verify_audit_log", "--json").strip().splitlines()[-1])
    assert verification["intact"] is True
