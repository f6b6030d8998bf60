"""The soak's own arithmetic (`make soak` runs outside the suite): what it measures must be measured right.

Nothing here starts the stack; the figures are checked on outcomes and processes made by the tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.soak.config import SoakConfig
from benchmarks.soak.figures import kind_figures, percentile, report_build
from benchmarks.soak.load import Outcome
from benchmarks.soak.processes import MemorySample, process_tree


def test_a_percentile_is_the_nearest_rank():
    values = [float(value) for value in range(100, 0, -1)]

    assert (percentile(values, 0.50), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_latency_counts_from_when_a_request_was_due_and_failures_are_counted_by_kind():
    """A request sent 2 s late because the server fell behind waited 2 s more: the partner saw 2.1 s."""
    outcomes = [
        Outcome("decision", "soak", lag_seconds=2.0, latency_seconds=0.1, status=201, error=""),
        Outcome("decision", "soak", lag_seconds=0.0, latency_seconds=0.2, status=500, error="HTTP 500"),
        Outcome("screening", "soak", lag_seconds=0.0, latency_seconds=9.0, status=201, error=""),
    ]

    figures = kind_figures(outcomes, kind="decision", offered_seconds=1, answered_seconds=2)

    assert figures["p99_ms"] == pytest.approx(2100.0)
    assert figures["service_p99_ms"] == pytest.approx(200.0)
    assert (figures["sent"], figures["ok"], figures["errors"]) == (2, 1, 1)
    assert figures["errors_by_kind"] == {"HTTP 500": 1}
    assert (figures["offered_per_second"], figures["answered_per_second"]) == (2.0, 0.5)


def _rss_kib(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


def test_a_process_tree_holds_every_descendant_and_sums_their_resident_memory():
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(tree := process_tree(parent.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)

        sample = MemorySample.read(parent.pid, started=time.monotonic())

        assert len(tree) == 3
        assert set(sample.rss_kib) == set(tree)
        assert sample.rss_kib == {pid: _rss_kib(pid) for pid in tree}  # sleeping processes do not change
        assert sample.rss_mib == pytest.approx(sum(sample.rss_kib.values()) / 1024)
    finally:
        for pid in process_tree(parent.pid):  # the test's own processes, by id
            os.kill(pid, signal.SIGTERM)
        parent.wait(timeout=10)


def test_a_soak_fails_when_the_server_fell_behind_or_the_database_disagrees(monkeypatch):
    monkeypatch.setenv("SOAK_SECONDS", "60")
    config = SoakConfig.from_environment()
    outcomes = [Outcome("decision", "soak", 0.0, 0.05, 201, "")]

    report = report_build(
        config,
        outcomes=outcomes,
        durations={"warmup": 10.0, "soak": 96.0},
        memory={},
        stored={"decisions": 0},
        expected={"decisions": 1},
        receiver=SimpleNamespace(deliveries=set(), bad_signatures=0),
    )

    assert report["problems"] == [
        "the server fell behind: 60 s of requests took 96 s to answer (lower the rates, or give it more cores)",
        "decisions: 0 stored, 1 expected",
    ]


def test_a_soak_that_kept_the_rate_and_matches_the_database_has_no_problem(monkeypatch):
    monkeypatch.setenv("SOAK_SECONDS", "60")
    outcomes = [Outcome("decision", "soak", 0.0, 0.05, 201, "")]

    report = report_build(
        SoakConfig.from_environment(),
        outcomes=outcomes,
        durations={"warmup": 10.0, "soak": 60.4},
        memory={},
        stored={"decisions": 1},
        expected={"decisions": 1},
        receiver=SimpleNamespace(deliveries={"1"}, bad_signatures=0),
    )

    assert report["problems"] == []
