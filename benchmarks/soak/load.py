"""Partner traffic at fixed rates: decisions and screening batches, each paced by the clock (an open loop)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from benchmarks.soak.config import SoakConfig

DECISION_PATH = "/api/v1/applications/?mode=sync"
SCREENING_PATH = "/api/v1/screening/batches/"
REQUEST_TIMEOUT_SECONDS = 60  # gunicorn's own request timeout: past it the worker is killed anyway


@dataclass(frozen=True)
class Outcome:
    kind: str
    phase: str
    lag_seconds: float  # from the moment the clock said to send to the moment it was sent
    latency_seconds: float
    status: int | None
    error: str


@dataclass
class Traffic:
    """What to send: request bodies made on the pacing thread (one per kind), so no lock is needed."""

    config: SoakConfig
    key: str
    port: int
    rows: list[dict[str, Any]]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # seeded: the same bookings each run
    applications: int = 0
    bookings: int = 0

    def decision_body(self) -> bytes:
        """docs/api.md's application, its characteristics cycling through German credit's rows."""
        row = self.rows[self.applications % len(self.rows)]
        self.applications += 1
        loan = {"amount": f"{row['credit_amount']:.2f}", "term_months": int(row["duration_in_month"])}
        features = {k: v for k, v in row.items() if k not in ("credit_amount", "duration_in_month", "purpose")}
        return json.dumps(
            {
                "product": "consumer_loan",
                "applicant": {"reference": f"soak-{self.run}-{self.applications}", "full_name": "Soak Applicant"},
                "loan": {**loan, "purpose": row["purpose"]},
                "features": features,
            }
        ).encode()

    def screening_body(self) -> bytes:
        """A batch of bookings on SOAK_ACCOUNTS accounts, booked in the last hour; one in twenty is a cash
        deposit just under the reporting threshold, so structuring alerts and cases are opened as it runs."""
        now, bookings = dt.datetime.now(dt.UTC), []
        for _ in range(self.config.screening_batch_size):
            self.bookings += 1
            pick = self.rng
            booking: dict[str, Any] = {
                "transaction_id": f"soak-{self.run}-{self.bookings}",
                "account": f"SOAK-{pick.randrange(self.config.accounts):05d}",
                "booked_at": (now - dt.timedelta(seconds=pick.uniform(1, 3600))).isoformat(),
            }
            if pick.random() < 0.05:
                booking |= {"amount": f"{pick.uniform(9000, 9999):.2f}", "direction": "in", "kind": "cash"}
            else:
                kind = pick.choice(("transfer", "transfer", "card", "cash"))
                booking |= {
                    "amount": f"{max(pick.lognormvariate(4.5, 1.2), 0.01):.2f}",
                    "direction": pick.choice(("in", "out")),
                    "kind": kind,
                }
                if kind == "transfer":
                    booking["counterparty"] = f"SOAK-{pick.randrange(self.config.accounts):05d}"
            bookings.append(booking)
        return json.dumps({"transactions": bookings}).encode()

    def post(self, path: str, body: bytes) -> int:
        """One request on its own connection (gunicorn's sync workers close each one), through the 'proxy'."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_SECONDS)
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    "Authorization": f"Bearer {self.key}",
                    "Idempotency-Key": str(uuid.uuid4()),
                    "Content-Type": "application/json",
                    "X-Forwarded-Proto": "https",
                },
            )
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def _send(
    traffic: Traffic, outcomes: list[Outcome], *, kind: str, phase: str, path: str, body: bytes, due: float
) -> None:
    sent = time.monotonic()
    status, error = None, ""
    try:
        status = traffic.post(path, body)
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
    outcomes.append(Outcome(kind, phase, sent - due, time.monotonic() - sent, status, error))


def _pace(*, rate: float, start: float, end: float, stop: threading.Event, send: Callable[[float], None]) -> None:
    """The n-th request is due at start + n / rate, whatever happened to the ones before it (an open loop)."""
    sent = 0
    while not stop.is_set():
        due = start + sent / rate
        if due >= end:
            return
        if stop.wait(max(due - time.monotonic(), 0)):
            return
        send(due)
        sent += 1


def load_run(traffic: Traffic, outcomes: list[Outcome], *, phase: str, seconds: float, stop: threading.Event) -> None:
    """Decisions and screening batches at their rates for `seconds`; returns when every answer is in.

    Interrupted, it stops the pacing and drops the requests not yet sent instead of waiting for them.
    """
    config = traffic.config
    start = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=config.client_threads, thread_name_prefix="soak-client")

    def sender(kind: str, path: str, make_body: Callable[[], bytes]) -> Callable[[float], None]:
        def send(due: float) -> None:
            body = make_body()
            pool.submit(_send, traffic, outcomes, kind=kind, phase=phase, path=path, body=body, due=due)

        return send

    pacers = [
        threading.Thread(
            target=_pace,
            kwargs={"rate": rate, "start": start, "end": start + seconds, "stop": stop, "send": sender(*request)},
            name=f"soak-pace-{request[0]}",
        )
        for rate, request in (
            (config.decisions_per_second, ("decision", DECISION_PATH, traffic.decision_body)),
            (config.screening_batches_per_second, ("screening", SCREENING_PATH, traffic.screening_body)),
        )
    ]
    try:
        for pacer in pacers:
            pacer.start()
        for pacer in pacers:
            while pacer.is_alive():  # short joins, so Ctrl-C reaches the main thread at once
                pacer.join(0.5)
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
