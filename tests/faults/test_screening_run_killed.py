"""A live screening run whose worker is killed (kill -9) while it records alerts: once the worker is back, the run
is finished by the task the broker hands out again, and no alert or case is recorded twice."""

from __future__ import annotations

import json
import time

import pytest

from tests.faults.conftest import wait_until

# The run's lease lasts the hard time limit: short here, so the dead worker's lease expires within the test.
TIME_LIMIT_SECONDS = 20
REQUEST_RUN = """
import json
from django.contrib.auth import get_user_model
from monitoring.models import ScreenedTransaction
from monitoring.services.scenarios import active_versions
from monitoring.services.screening import screening_run_request
from django.db.models import Max, Min

span = ScreenedTransaction.objects.aggregate(start=Min("booked_at"), end=Max("booked_at"))
run = screening_run_request(
    kind="live",
    period_start=span["start"].replace(hour=0, minute=0, second=0, microsecond=0),
    period_end=span["end"].replace(hour=0, minute=0, second=0, microsecond=0),
    versions=active_versions(),
    requested_by=get_user_model().objects.get(username="fault_compliance"),
)
print("RUN " + json.dumps(run.pk))
"""
ALERTS = "SELECT count(*) FROM monitoring_screeningalert WHERE run_id = %s"
DISTINCT_WINDOWS = (
    """SELECT count(DISTINCT (scenario_version_id, account, window_end)) FROM monitoring_screeningalert"""
)
ALL_ALERTS = "SELECT count(*) FROM monitoring_screeningalert"
CASES = "SELECT count(*), count(DISTINCT account) FROM monitoring_screeningcase"
ALERTED_ACCOUNTS = "SELECT count(DISTINCT account) FROM monitoring_screeningalert"
RUN = "SELECT status, results FROM monitoring_screeningrun WHERE id = %s"
RUN_DONE_EVENTS = "SELECT count(*) FROM finai_auditevent WHERE action = 'screening.run_done' AND object_id = %s"


@pytest.mark.integration
def test_a_screening_run_killed_halfway_is_finished_after_a_restart_without_duplicates(faulty) -> None:
    faulty.env_changes = {
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT_SECONDS),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT_SECONDS - 5),
    }
    faulty.start_worker()
    output = faulty.manage("shell", "-c", REQUEST_RUN)
    run_id = json.loads(next(line for line in output.splitlines() if line.startswith("RUN ")).removeprefix("RUN "))

    wait_until(lambda: faulty.sql(ALERTS, run_id)[0][0] > 0, "the run to record its first alerts", 90)
    faulty.kill_worker()
    alerts_when_killed = faulty.sql(ALERTS, run_id)[0][0]
    assert faulty.sql(RUN, run_id)[0][0] == "running"

    restarted = time.monotonic()
    faulty.start_worker()
    wait_until(lambda: faulty.sql(RUN, run_id)[0][0] != "running", "the run to be finished", 90)
    print(f"killed after {alerts_when_killed} alerts; finished {time.monotonic() - restarted:.1f} s after restart")

    status, results = faulty.sql(RUN, run_id)[0]
    assert status == "done"
    assert 0 < alerts_when_killed < results["alerts"]
    assert faulty.sql(ALL_ALERTS) == faulty.sql(DISTINCT_WINDOWS) == [(results["alerts"],)]
    assert faulty.sql(CASES) == [(faulty.sql(ALERTED_ACCOUNTS)[0][0],) * 2]
    assert faulty.sql(RUN_DONE_EVENTS, str(run_id)) == [(1,)]
