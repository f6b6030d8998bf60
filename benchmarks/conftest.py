"""Benchmarks measure production paths (COPY into Postgres), so they refuse to run on anything else.

Each benchmark records its figures with the `figure` fixture before asserting its limit; at the end of the
session they are printed as one table and written to `bench/results.json` (value, unit, the limit beside it,
whether it held, the machine's core count and the commit), so a run's numbers outlive its terminal.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results.json"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    limit: float | None
    comparison: str  # "<=" (a ceiling, e.g. seconds) or ">=" (a floor, e.g. PR-AUC)
    note: str

    @property
    def holds(self) -> bool | None:
        if self.limit is None:
            return None
        return self.value <= self.limit if self.comparison == "<=" else self.value >= self.limit


_figures: list[Figure] = []


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.exit(
            "The benchmarks time bulk loading into Postgres: set DATABASE_URL=postgres://... "
            "(pytest-django creates and drops its own test_<name> database).",
            returncode=3,
        )


@pytest.fixture(autouse=True)
def isolated_cache(settings) -> None:
    """Rate-limit counters of one benchmark never reach another, nor a later run on the same Redis: a new test
    database gives its partners the same ids again, and a minute-long window would still hold the last run's
    requests (the HTTP benchmark's server is a process of its own, and its partner has a limit of its own)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"bench-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def figure() -> Callable[..., Figure]:
    """Record one measured figure: `figure("screening_1m", 2.7, "s", limit=20)`."""

    def record(
        name: str, value: float, unit: str, *, limit: float | None = None, comparison: str = "<=", note: str = ""
    ) -> Figure:
        measured = Figure(name, float(value), unit, limit, comparison, note)
        _figures.append(measured)
        return measured

    return record


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=RESULTS.parents[1]
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _figures:
        return
    cores, commit = os.cpu_count(), _commit()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "cores": cores,
                "commit": commit,
                "figures": [{**asdict(item), "holds": item.holds} for item in _figures],
            },
            indent=2,
        )
        + "\n"
    )
    terminalreporter.section(f"benchmark figures ({cores} cores, commit {commit}; written to {RESULTS.name})")
    width = max(len(item.name) for item in _figures)
    for item in _figures:
        limit = "" if item.limit is None else f"{item.comparison} {item.limit:g} {item.unit}"
        verdict = {True: "ok", False: "MISSED", None: ""}[item.holds]
        terminalreporter.write_line(
            f"{item.name:<{width}}  {item.value:>12.4g} {item.unit:<8} {limit:<18} {verdict:<6} {item.note}"
        )
