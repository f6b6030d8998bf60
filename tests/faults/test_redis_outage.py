"""Redis stopped while partners submit 200 applications: every one is accepted, and every one is decided within a
minute of Redis returning, by the worker's own beat (nothing started separately), each exactly once."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.conftest import wait_until
from tests.lending.api.helpers import application_body

SUBMISSIONS = 200
# Each submission waits out the web's short retries of the unreachable broker (about 0.6 s): submit in parallel.
PARTNER_CONNECTIONS = 10
STORED = "SELECT count(*) FROM lending_loanapplication WHERE channel = 'api'"
DECIDED = """SELECT count(*), count(DISTINCT application_id) FROM lending_decision
    WHERE NOT is_shadow AND application_id IN (SELECT id FROM lending_loanapplication WHERE channel = 'api')"""


@pytest.mark.integration
def test_applications_submitted_while_redis_is_down_are_accepted_and_decided_within_a_minute_of_its_return(
    faulty,
) -> None:
    faulty.start_web(workers=PARTNER_CONNECTIONS)
    faulty.start_worker()
    faulty.redis.stop()

    def submit(number: int) -> int:
        body = application_body(applicant={"reference": f"outage-{number}", "full_name": f"Applicant {number}"})
        return faulty.api("POST", "/api/v1/applications/?mode=async", body)[0]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PARTNER_CONNECTIONS) as partners:
        statuses = Counter(partners.map(submit, range(SUBMISSIONS)))
    print(f"{SUBMISSIONS} submissions during the outage in {time.monotonic() - started:.1f} s: {dict(statuses)}")
    assert set(statuses) <= {201, 202}, statuses
    assert faulty.sql(STORED) == [(SUBMISSIONS,)]
    assert faulty.sql(DECIDED) == [(0, 0)]  # nothing could be queued: the decisions wait for the broker

    faulty.redis.start()
    returned = time.monotonic()
    wait_until(lambda: faulty.sql(DECIDED)[0][0] >= SUBMISSIONS, "every application to be decided", 60)
    print(f"all decided {time.monotonic() - returned:.1f} s after Redis returned")

    assert faulty.sql(DECIDED) == [(SUBMISSIONS, SUBMISSIONS)]
