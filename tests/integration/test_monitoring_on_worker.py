"""End to end: Celery beat schedules the monitoring run, a real worker takes it, and over a stream of 12
monthly cohorts with a planted shift from month 7 the one alert opened is that feature's, first breached
in month 7's window; over a stream with a disparity planted from month 9, the fairness alert opens on month 9's
windows (its first week may begin in the last days of month 8)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from finai.models import AuditEvent
from monitoring.models import Alert, MonitoringWindow
from tests.monitoring.drift_stream import (
    SHIFT_FROM_MONTH,
    SHIFTED_FEATURE,
    month_start,
    stream_champion,
    stream_month_decide,
    stream_month_protect_and_override,
)

ROOT = Path(__file__).resolve().parents[2]
BEAT_EVERY_SECONDS = 2
TIMEOUT_SECONDS = 120


@pytest.fixture
def worker_with_beat(transactional_db, tmp_path) -> Iterator[subprocess.Popen]:
    """A worker with an embedded beat whose monitoring run comes every few seconds, on the test database."""
    from django.db import connection

    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finai.settings.test",
        "MONITORING_RUN_EVERY_SECONDS": str(BEAT_EVERY_SECONDS),
    }
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "finai",
                "worker",
                "-B",
                "-s",
                str(tmp_path / "beat-schedule"),
                "-Q",
                "scoring,training,analytics",
                "--pool",
                "solo",
                "-l",
                "info",
                "-n",
                f"beat-test-{os.getpid()}@%h",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    print(log_path.read_text()[-3000:])  # shown when the test fails


@pytest.mark.integration
def test_the_beat_scheduled_run_on_a_worker_raises_only_the_shifted_features_alert(worker_with_beat) -> None:
    version = stream_champion()
    this_month = month_start(timezone.localdate().replace(day=1), 0).date()
    first = month_start(this_month, -12).date()
    rng = np.random.default_rng(11)
    for month in range(1, 13):
        stream_month_decide(version=version, first=first, month=month, shifted=True, rng=rng)

    deadline = time.monotonic() + TIMEOUT_SECONDS
    while MonitoringWindow.objects.filter(model_version=version, period="month").count() < 12:
        assert worker_with_beat.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, "no monitoring run measured the 12 months in time"
        time.sleep(0.5)

    [alert] = Alert.objects.all()
    assert alert.rule == Alert.Rule.FEATURE_DRIFT
    assert alert.subject.endswith(f" {SHIFTED_FEATURE}")
    assert alert.breaches == 12 - SHIFT_FROM_MONTH + 1
    opened = AuditEvent.objects.get(action="alert.opened")
    assert opened.payload["starts_at"] == month_start(first, SHIFT_FROM_MONTH - 1).isoformat()
    assert opened.payload["period"] == "month"
    assert opened.actor_label == "monitoring"
    assert dt.datetime.fromisoformat(opened.payload["starts_at"]) < timezone.now()


@pytest.mark.integration
def test_the_beat_scheduled_run_on_a_worker_raises_the_fairness_alert_first_in_month_9(
    worker_with_beat, loan_officer
) -> None:
    version = stream_champion()
    this_month = month_start(timezone.localdate().replace(day=1), 0).date()
    first = month_start(this_month, -10).date()
    rng = np.random.default_rng(12)
    for month in range(1, 11):
        stream_month_decide(version=version, first=first, month=month, shifted=False, rng=rng)
        stream_month_protect_and_override(version=version, month=month, rng=rng, officer=loan_officer, disparity_from=9)

    deadline = time.monotonic() + TIMEOUT_SECONDS
    while MonitoringWindow.objects.filter(model_version=version, period="month").count() < 10:
        assert worker_with_beat.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, "no monitoring run measured the 10 months in time"
        time.sleep(0.5)

    [alert] = Alert.objects.filter(rule=Alert.Rule.FAIRNESS_RATIO)
    assert alert.subject == f"consumer_loan v{version.pk} sex female"
    opened = AuditEvent.objects.get(action="alert.opened", payload__rule=Alert.Rule.FAIRNESS_RATIO)
    assert dt.datetime.fromisoformat(opened.payload["starts_at"]) >= month_start(first, 8) - dt.timedelta(days=6)
