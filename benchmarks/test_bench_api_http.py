"""A partner's synchronous decision over real HTTP: gunicorn (2 workers) on Postgres and Redis, loaded by `wrk`.

Issue 19, `api_decision`: the load generator runs in its own process on loopback, 20 s at 1 connection and 20 s
at 8, posting docs/api.md's application with a fresh Idempotency-Key each time. Targets on a 2-core machine:
p50 <= 3 ms and p99 <= 15 ms at 1 connection, >= 500 decisions/s at 8, no errors. The speed figures are recorded
beside their limits, not asserted (the table shows what is missed); errors are asserted, and so is what the load
left behind: every decision stored once with its reasons and its `decision.made` event, and the audit trail intact.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
WRK_SCRIPT = Path(__file__).resolve().parent / "http" / "decision.lua"
SUBMIT_PATH = "/api/v1/applications/?mode=sync"
RUN_SECONDS = 20
WARM_UP_SECONDS = 5
# A response slower than this counts as a wrk timeout error; far above any target, below gunicorn's 60 s limit.
WRK_TIMEOUT_SECONDS = 30
P50_LIMIT_MILLISECONDS = 3
P99_LIMIT_MILLISECONDS = 15
DECISIONS_PER_SECOND_FLOOR = 500
# The bench's partner sends far more than API_RATE_LIMIT's 600/minute; it gets its own limit (Partner.rate_limit),
# so the throttle still runs on every request, as it does in production.
BENCH_PARTNER_RATE = "1000000/minute"


def docs_application() -> dict[str, Any]:
    """The application docs/api.md's walk-through posts, read from the page so the bench sends exactly it."""
    page = (ROOT / "docs" / "api.md").read_text()
    found = re.search(r"cat > application\.json <<'JSON'\n(.*?)\nJSON\n", page, re.DOTALL)
    assert found, "docs/api.md no longer holds the application.json walk-through"
    return json.loads(found.group(1))


@dataclass(frozen=True)
class LoadRun:
    """What wrk reported for one run, from the JSON line its script's done() prints."""

    label: str
    connections: int
    requests: int
    seconds: float
    statuses: dict[int, int]
    replayed: int
    keys_made: dict[int, int]  # thread number -> how many keys its request() built
    socket_errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    application_ids: list[int]

    @property
    def succeeded(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        """Non-2xx answers plus wrk's own socket errors (connect, read, write, timeout)."""
        return self.requests - self.succeeded + sum(self.socket_errors.values())

    @property
    def keys_sent(self) -> set[str]:
        """The Idempotency-Keys the run sent: all it built but the first of thread 1, built when wrk calls
        request() once before the run to check the request parses (script_verify_request), and never sent."""
        built = {f"{self.label}-{thread}-{n}" for thread, count in self.keys_made.items() for n in range(1, count + 1)}
        return built - {f"{self.label}-1-1"}

    @property
    def decisions_per_second(self) -> float:
        return self.succeeded / self.seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """The pytest-django test database (test_<name>), where this test's committed rows are."""
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        f"/{database['NAME']}"
    )


@dataclass(frozen=True)
class DecisionServer:
    base_url: str
    metrics_token: str
    log_path: Path

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        # Sent as the TLS-terminating proxy would: production redirects plain HTTP to HTTPS.
        headers = {"X-Forwarded-Proto": "https", **(headers or {})}
        request = urllib.request.Request(self.base_url + path, headers=headers)  # noqa: S310 - http to loopback
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - our own loopback server
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refusal:
            return refusal.code, refusal.read().decode()


@pytest.fixture
def decision_server(transactional_db, tmp_path: Path) -> Iterator[DecisionServer]:
    """gunicorn with the repository's gunicorn.conf.py and 2 workers, configured as production is (DEBUG off,
    HTTPS enforced behind a proxy, JSON logs, multi-process metrics), against the test database and Redis."""
    port, metrics_dir, metrics_token = _free_port(), tmp_path / "metrics", secrets.token_hex(16)
    metrics_dir.mkdir()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finai.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # The chain's seal must be the one this test process verifies with.
        "AUDIT_CHAIN_KEY": settings.AUDIT_CHAIN_KEY,
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.jsonl"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "USE_X_FORWARDED_PROTO": "true",
        "DATABASE_URL": _test_database_url(),
        # A production server needs Redis (shared rate limits, broker); the machine's when none is named.
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "ARTIFACT_ROOT": str(settings.ARTIFACT_ROOT),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": metrics_token,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
    }
    log_path = tmp_path / "gunicorn.jsonl"
    command = [
        *(sys.executable, "-m", "gunicorn"),
        *("--config", str(ROOT / "gunicorn.conf.py"), "--workers", "2", "--bind", f"127.0.0.1:{port}"),
        # gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): a second
        # server on the host (a soak run, a developer's) would have it replaced, then removed, by this one.
        "--no-control-socket",
    ]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = DecisionServer(f"http://127.0.0.1:{port}", metrics_token, log_path)
    try:
        _wait_until_ready(server, running)
        yield running
    finally:
        _stop(server)


def _wait_until_ready(server: subprocess.Popen, running: DecisionServer) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{running.log_path.read_text()[-4000:]}")
        try:
            if running.get("/readyz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.25)
    pytest.fail(f"gunicorn was not ready within 120 s:\n{running.log_path.read_text()[-4000:]}")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM: gunicorn's graceful shutdown; its workers, in the same session, are killed if it hangs."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture
def german_credit():
    from analytics.engine.dataset_schema import schema_load
    from analytics.engine.families.base import training_data_from_file

    return training_data_from_file(schema_load("german_credit"))


@pytest.fixture
def champion(transactional_db, german_credit):
    """A scorecard on German credit as the consumer_loan champion, and the fitted model it was stored from."""
    from analytics.engine.families import family_get
    from analytics.models import DataSnapshot, ModelVersion
    from finai.artifacts import artifact_store

    model = family_get("scorecard").fit(german_credit, seed=0)
    path, digest = artifact_store(name="models/bench/http-scorecard.finai", content=model.to_bytes())
    snapshot = DataSnapshot.objects.create(dataset="german_credit", content_hash="c" * 64, row_count=1000)
    version = ModelVersion.objects.create(
        family="scorecard", status="champion", snapshot=snapshot, artifact_path=path, artifact_sha256=digest
    )
    return version, model


@pytest.fixture
def bench_partner(transactional_db):
    """(partner, key): the partner the load is sent as, allowed the load's rate."""
    from lending.services.partners import partner_api_key_issue, partner_create, partner_rate_limit_set

    partner = partner_create(name="HTTP benchmark partner")
    partner_rate_limit_set(partner=partner, rate=BENCH_PARTNER_RATE)
    return partner, partner_api_key_issue(partner=partner).secret


@pytest.fixture
def wrk_executable() -> str:
    """Debian's wrk (`make wrk`); missing, the benchmark fails rather than skip, so `make bench` cannot pass
    without its HTTP figures."""
    found = shutil.which("wrk")
    if found is None:
        pytest.fail("wrk is missing: `make wrk` installs it (apt-get install wrk)")
    return found


@pytest.fixture
def load(wrk_executable: str, decision_server: DecisionServer, bench_partner, tmp_path: Path) -> Callable[..., LoadRun]:
    """Run wrk against the server: `load("1conn", connections=1, threads=1, seconds=20)`."""
    body_path = tmp_path / "application.json"
    body_path.write_text(json.dumps(docs_application()))
    environment = {**os.environ, "BENCH_API_KEY": bench_partner[1]}

    def run(label: str, *, connections: int, threads: int, seconds: int) -> LoadRun:
        command = [wrk_executable, "--threads", str(threads), "--connections", str(connections)]
        command += ["--duration", f"{seconds}s", "--timeout", f"{WRK_TIMEOUT_SECONDS}s", "--latency"]
        command += ["--script", str(WRK_SCRIPT), decision_server.base_url + SUBMIT_PATH, str(body_path), label]
        finished = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_SECONDS + 30
        )
        report, _, result = finished.stdout.partition("wrk-result ")
        print(f"\nwrk {label}: {connections} connections, {threads} threads\n{report.rstrip()}")
        assert finished.returncode == 0, f"wrk failed:\n{finished.stdout}\n{finished.stderr}"
        assert result, f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}"
        measured = json.loads(result)
        return LoadRun(
            label=label,
            connections=connections,
            requests=measured["requests"],
            seconds=measured["duration_us"] / 1e6,
            statuses={int(status): count for status, count in measured["statuses"].items()},
            replayed=measured["replayed"],
            keys_made={int(thread): count for thread, count in measured["keys_made"].items()},
            socket_errors=measured["socket_errors"],
            p50_ms=measured["latency_us"]["p50"] / 1000,
            p99_ms=measured["latency_us"]["p99"] / 1000,
            application_ids=[int(found) for found in measured["application_ids"] if found.isdigit()],
        )

    return run


@pytest.mark.django_db(transaction=True)
def test_synchronous_decisions_under_http_load_are_all_stored_with_reasons_and_audited(
    decision_server, load, champion, bench_partner, figure
):
    warm_up = load("warmup", connections=8, threads=2, seconds=WARM_UP_SECONDS)  # both workers load the model
    one = load("1conn", connections=1, threads=1, seconds=RUN_SECONDS)
    eight = load("8conn", connections=8, threads=2, seconds=RUN_SECONDS)
    runs = (warm_up, one, eight)

    note = f"gunicorn 2 workers, wrk {RUN_SECONDS} s"
    figure("api_decision_p50_1conn", one.p50_ms, "ms", limit=P50_LIMIT_MILLISECONDS, note=f"{note}, 1 connection")
    figure("api_decision_p99_1conn", one.p99_ms, "ms", limit=P99_LIMIT_MILLISECONDS, note=f"{note}, 1 connection")
    figure(
        "api_decision_rps_8conn",
        eight.decisions_per_second,
        "decisions/s",
        limit=DECISIONS_PER_SECOND_FLOOR,
        comparison=">=",
        note=f"{note}, 8 connections ({one.decisions_per_second:.0f}/s at 1)",
    )
    figure("api_decision_p50_8conn", eight.p50_ms, "ms", note=f"{note}, 8 connections")
    figure("api_decision_p99_8conn", eight.p99_ms, "ms", note=f"{note}, 8 connections")
    figure("api_decision_errors", one.errors + eight.errors, "count", limit=0, note="non-2xx and socket errors")

    for run in runs:
        assert run.errors == 0, f"{run.label}: statuses {run.statuses}, socket errors {run.socket_errors}"
        assert run.replayed == 0, f"{run.label}: {run.replayed} fresh keys were answered as replays"
        assert len(run.application_ids) == run.succeeded == run.requests > 0
    _assert_every_decision_stored_once_with_reasons_and_event(runs, champion, bench_partner[0], decision_server)


def _stored_applications(run: LoadRun) -> dict[str, int]:
    """Idempotency key -> application id for the run's requests that the server committed.

    wrk stops at its deadline without reading the answers still on their way (one per connection at most),
    while the server goes on to commit them: wait, briefly, until every key sent is stored.
    """
    from lending.models import IdempotencyRecord

    records = IdempotencyRecord.objects.filter(key__startswith=f"{run.label}-")
    deadline = time.monotonic() + 15
    while records.count() < len(run.keys_sent) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(records.values_list("response_status", flat=True)) == {201}, f"{run.label}: not every answer was 201"
    return dict(records.values_list("key", "response_body__id"))


def _assert_every_decision_stored_once_with_reasons_and_event(
    runs: tuple[LoadRun, ...], champion, partner, server: DecisionServer
) -> None:
    from analytics.engine.scoring import Scorer
    from finai.models import AuditEvent
    from finai.services import audit_trail_verify
    from lending.models import Decision, LoanApplication

    stored_ids: set[int] = set()
    for run in runs:
        stored = _stored_applications(run)
        # Exact: every key the client sent was committed, once, and no other.
        assert set(stored) == run.keys_sent, f"{run.label}: {len(stored)} keys stored of {len(run.keys_sent)} sent"
        ids = set(stored.values())
        assert len(ids) == len(stored), f"{run.label}: one application answered two keys"
        answered = set(run.application_ids)
        assert len(answered) == len(run.application_ids), f"{run.label}: one application id answered twice"
        # Every 2xx the client read names a stored application; the stored ones it did not read are the answers
        # in flight when wrk stopped, at most one per connection.
        assert answered <= ids, f"{run.label}: answered but not stored: {sorted(answered - ids)[:10]}"
        in_flight = len(ids - answered)
        assert in_flight <= run.connections, f"{run.label}: {in_flight} stored but never answered"
        print(f"\n{run.label}: {len(ids)} stored = {run.succeeded} answered 201 + {in_flight} in flight at the cut-off")
        stored_ids |= ids

    # Nothing else was written for the partner: no application without its idempotency record.
    assert set(LoanApplication.objects.filter(partner=partner).values_list("pk", flat=True)) == stored_ids

    version, model = champion
    application = docs_application()
    loan = application["loan"]
    inputs = {
        **application["features"],
        "credit_amount": float(loan["amount"]),
        "duration_in_month": loan["term_months"],
        "purpose": loan["purpose"],
    }
    expected = Scorer(model, version.policy).decide(inputs).as_dict()  # the fitted model, in this process

    decisions = list(Decision.objects.filter(application_id__in=stored_ids))
    assert Counter(decision.application_id for decision in decisions) == Counter(stored_ids)
    for decision in decisions:
        assert not decision.is_shadow
        assert decision.model_version_id == version.pk
        assert (decision.outcome, decision.score, decision.reasons) == (
            expected["outcome"],
            expected["score"],
            expected["reasons"],
        )
        assert decision.probability_of_default == pytest.approx(expected["probability_of_default"], abs=1e-12)

    events = AuditEvent.objects.filter(action="decision.made", object_type="loan_application")
    payloads = {int(object_id): payload for object_id, payload in events.values_list("object_id", "payload")}
    assert events.count() == len(payloads) == len(stored_ids), "one decision.made event per decision"
    expected_codes = [reason["code"] for reason in expected["reasons"]]
    for decision in decisions:
        payload = payloads[decision.application_id]
        assert (payload["decision_id"], payload["outcome"], payload["reasons"]) == (
            decision.pk,
            decision.outcome,
            expected_codes,
        )

    verification = audit_trail_verify()  # what `manage.py verify_audit_log` runs
    assert verification.intact, verification.as_dict()
    assert verification.events_checked == AuditEvent.objects.count()

    # The servers' own count, summed over both workers by prometheus-client's multi-process mode.
    status, metrics = server.get("/metrics", headers={"Authorization": f"Bearer {server.metrics_token}"})
    assert status == 200, metrics
    counted = sum(float(value) for value in re.findall(r"^finai_decisions_total\{[^}]*\} (\S+)$", metrics, re.M))
    assert counted == len(stored_ids)
    print(
        f"\npost-checks: {len(stored_ids)} decisions stored once each with reasons {expected_codes} "
        f"({expected['outcome']}), one decision.made event each, audit chain of {verification.events_checked} "
        f"events intact"
    )
