"""A live worker keeps the messages it holds: a task waiting for its countdown longer than the visibility timeout
runs once, where without renewal Redis would hand it out again every timeout."""

from __future__ import annotations

import time

import pytest
import redis

from finai.celery import app as celery_app
from tests.faults.conftest import VISIBILITY_TIMEOUT_SECONDS, wait_until

COUNTDOWN_SECONDS = 2 * VISIBILITY_TIMEOUT_SECONDS + 2
VERIFICATIONS = "SELECT count(*) FROM finai_auditevent WHERE action = 'audit.chain_verified'"


@pytest.mark.integration
def test_a_task_held_longer_than_the_visibility_timeout_by_a_live_worker_runs_once(faulty) -> None:
    faulty.start_worker()
    with celery_app.connection_for_write(faulty.redis.url) as connection:
        celery_app.send_task(
            "finai.tasks.verify_audit_chain", countdown=COUNTDOWN_SECONDS, queue="analytics", connection=connection
        )
    sent = time.monotonic()

    wait_until(lambda: faulty.sql(VERIFICATIONS)[0][0] >= 1, "the task to run", COUNTDOWN_SECONDS + 30)
    broker = redis.Redis.from_url(faulty.redis.url, socket_timeout=5)
    wait_until(lambda: broker.hlen("unacked") == 0 and broker.llen("analytics") == 0, "the broker to be idle", 30)
    time.sleep(2)  # a copy handed out again would run at the same countdown, within moments of the first

    assert time.monotonic() - sent >= COUNTDOWN_SECONDS - 1
    assert faulty.sql(VERIFICATIONS) == [(1,)]
