"""How recovery is wired: beat runs inside the documented worker, and a dead worker's tasks return within a minute
while a live worker renews what it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

from finai.celery import BrokerLeaseRenewal
from finai.celery import app as celery_app
from tests.faults.conftest import ROOT


def test_make_worker_runs_beat_inside_the_worker() -> None:
    """The sweeper of waiting applications is periodic: without -B nobody would run it."""
    command = subprocess.run(["make", "-n", "worker"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)

    [worker_line] = [line for line in command.stdout.splitlines() if "celery -A finai worker" in line]
    assert " -B " in f"{worker_line} "


def test_the_sweeper_of_waiting_applications_runs_every_half_minute_or_sooner() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["decide-waiting-applications"]

    assert entry["task"] == "lending.tasks.decide_waiting_applications"
    assert entry["schedule"] <= 30


def test_a_dead_workers_tasks_return_to_their_queue_within_a_minute() -> None:
    """Read as a process configured for Redis reads it, whatever broker this test run uses."""
    script = "import json; from finai.celery import app; print(json.dumps(app.conf.broker_transport_options))"
    read = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "finai.settings.test", "REDIS_URL": "redis://127.0.0.1:1/0"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    options = json.loads(read.stdout.strip().splitlines()[-1])

    assert options["visibility_timeout"] <= 60
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10


def test_workers_renew_the_messages_they_hold() -> None:
    assert BrokerLeaseRenewal in celery_app.steps["consumer"]
