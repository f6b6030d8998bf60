"""The soak's settings, from SOAK_* variables, and where it writes."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORK = ROOT / "var" / "soak"  # logs, artifacts, beat's schedule, metrics
RESULTS = ROOT / "var" / "soak.json"


class SoakError(Exception):
    """The set-up failed; the message says where and points at the log."""


def _number(name: str, default: float, *, whole: bool = False) -> float:
    """A positive number from the environment; anything else stops the soak with the variable's name."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a positive {'whole ' if whole else ''}number, not {raw!r}.") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive, not {raw!r}.")
    return value


@dataclass(frozen=True)
class SoakConfig:
    """Every SOAK_* variable, with its default:

    SOAK_SECONDS (600)                       the measured load, after SOAK_WARMUP_SECONDS (10) at the same rates
    SOAK_DECISIONS_PER_SECOND (20)           synchronous decisions
    SOAK_SCREENING_BATCHES_PER_SECOND (2)    screening batches of SOAK_SCREENING_BATCH_SIZE (20) bookings, on
                                             SOAK_ACCOUNTS (1000) accounts
    SOAK_DATABASE_URL (finai_soak on 127.0.0.1)  dropped and recreated
    SOAK_REDIS_URL (REDIS_URL, else redis://127.0.0.1:6379/0)  broker and cache
    SOAK_CLIENT_THREADS (64)                 requests in flight at most; more wait, and their wait is counted
    SOAK_WORKER_CONCURRENCY (2)              the Celery worker's pool
    SOAK_SAMPLE_SECONDS (10)                 how often memory is read
    SOAK_DRAIN_SECONDS (120)                 how long the worker may take to deliver the last webhooks
    SOAK_LOG_LEVEL (INFO)                    of gunicorn and the worker, in var/soak/*.log
    """

    seconds: float
    warmup_seconds: float
    decisions_per_second: float
    screening_batches_per_second: float
    screening_batch_size: int
    accounts: int
    client_threads: int
    worker_concurrency: int
    sample_seconds: float
    drain_seconds: float
    database_url: str
    redis_url: str
    log_level: str

    @classmethod
    def from_environment(cls) -> SoakConfig:
        return cls(
            seconds=_number("SOAK_SECONDS", 600),
            warmup_seconds=_number("SOAK_WARMUP_SECONDS", 10),
            decisions_per_second=_number("SOAK_DECISIONS_PER_SECOND", 20),
            screening_batches_per_second=_number("SOAK_SCREENING_BATCHES_PER_SECOND", 2),
            screening_batch_size=int(_number("SOAK_SCREENING_BATCH_SIZE", 20, whole=True)),
            accounts=int(_number("SOAK_ACCOUNTS", 1000, whole=True)),
            client_threads=int(_number("SOAK_CLIENT_THREADS", 64, whole=True)),
            worker_concurrency=int(_number("SOAK_WORKER_CONCURRENCY", 2, whole=True)),
            sample_seconds=_number("SOAK_SAMPLE_SECONDS", 10),
            drain_seconds=_number("SOAK_DRAIN_SECONDS", 120),
            database_url=os.environ.get("SOAK_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/finai_soak",
            redis_url=os.environ.get("SOAK_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            log_level=os.environ.get("SOAK_LOG_LEVEL", "INFO"),
        )
