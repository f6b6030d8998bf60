"""Fault-test fixtures: the test's own Postgres cluster and Redis server, on free loopback ports, so stopping
them never touches the machine's services; a database per test cloned from a seeded template (a German credit
champion and a partner key); a real Celery worker (beat inside, as `make worker` starts it) and gunicorn.

Every wait is bounded. Postgres refuses to run as root, so its programs run as the `postgres` user.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "faults_template"
# Short so that a killed worker's task comes back within seconds (production: 60 s, finai/settings/base.py).
VISIBILITY_TIMEOUT_SECONDS = 4
START_TIMEOUT_SECONDS = 60

SEED = """
import json, sys
from analytics.engine.dataset_schema import schema_load
from analytics.services.registry import promotion_approve, promotion_request
from analytics.services.training_jobs import model_version_train
from lending.services.datasets import dataset_import
from lending.services.partners import partner_api_key_issue, partner_create
from lending.services.training import model_training_start
from tests.factories import UserFactory

trainer = UserFactory(username="fault_manager", roles=["model_manager"])
approver = UserFactory(username="fault_manager_2", roles=["model_manager"])
UserFactory(username="fault_compliance", roles=["compliance_officer"])
schema = schema_load("german_credit")
dataset_import(schema=schema, file=schema.resolve_file())
version = model_training_start(dataset="german_credit", family="scorecard", requested_by=trainer, seed=0)
version = model_version_train(version_id=version.pk)
request = promotion_request(version=version, requested_by=trainer, exception_justification="fault tests")
promotion_approve(request=request, approved_by=approver, accept_exception=True)
partner = partner_create(name="Fault Partner")
print("SEED " + json.dumps({"key": partner_api_key_issue(partner=partner).secret}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], Any], what: str, timeout: float) -> Any:
    """Poll until `condition` returns something truthy; fail the test, naming `what`, after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}.")


def _as_postgres(*command: str | Path) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *map(str, command)]


@dataclass
class PrivatePostgres:
    """A throw-away cluster: trust auth on 127.0.0.1, fsync off (nothing here must survive a crash)."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        subprocess.run(
            _as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            _as_postgres(
                PG_BIN / "pg_ctl",
                "-D",
                self.data,
                "-o",
                options,
                "-l",
                self.directory / "postgres.log",
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "start",
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS + 5,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"),
            check=False,
            capture_output=True,
            timeout=40,
        )

    def connect(self, database: str = "postgres") -> Any:
        connection = psycopg2.connect(self.url(database), connect_timeout=5)
        connection.autocommit = True
        return connection

    def query(self, database: str, sql: str, *params: Any) -> list[tuple]:
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()


@dataclass
class PrivateRedis:
    """A Redis server of the test's own, in memory only: stopping it loses every queued message."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*command, "--daemonize", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, "the private Redis server", START_TIMEOUT_SECONDS)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session")
def fault_directory() -> Iterator[Path]:
    """A folder the `postgres` user can enter (pytest's own temporary folders are root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="finai-faults-"))
    shutil.chown(directory, "postgres", "postgres")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster(fault_directory) -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres(fault_directory / "postgres")
    cluster.directory.mkdir()
    shutil.chown(cluster.directory, "postgres", "postgres")
    cluster.initdb()
    cluster.start()
    yield cluster
    cluster.stop()


def app_environment(*, database_url: str, redis_url: str, directory: Path, **extra: str) -> dict[str, str]:
    """What the web and worker processes of a fault test read: the private services, production-like logs, and
    multi-process metrics in the test's own folder (prometheus-client treats a variable set to "" as the current
    directory, which would litter the repository with its files)."""
    metrics = directory / "metrics"
    metrics.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finai.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ARTIFACT_ROOT": str(directory / "artifacts"),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
        "CONN_MAX_AGE": "60",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        **extra,
    }


@pytest.fixture(scope="session")
def seeded_template(postgres_cluster, fault_directory) -> dict[str, str]:
    """Migrate and seed the template database once; each test clones it (CREATE DATABASE … TEMPLATE)."""
    postgres_cluster.query("postgres", f"CREATE DATABASE {TEMPLATE}")
    redis = PrivateRedis(fault_directory)
    redis.start()
    try:
        env = app_environment(
            database_url=postgres_cluster.url(TEMPLATE), redis_url=redis.url, directory=fault_directory
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300
        )
        seeded = subprocess.run(
            [*manage, "shell", "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=300
        )
        # A synthetic book for screening runs (no run yet): about 39,000 bookings of 300 accounts, 8 live scenarios.
        subprocess.run(
            [*manage, "screening_load", "--source", "synthetic", "--accounts", "300", "--days", "200"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=300,
        )
    finally:
        redis.stop()
    [line] = [line for line in seeded.stdout.splitlines() if line.startswith("SEED ")]
    return json.loads(line.removeprefix("SEED "))


@dataclass
class Processes:
    """The application's processes of one test, against its database and Redis server."""

    postgres: PrivatePostgres
    redis: PrivateRedis
    database: str
    directory: Path
    partner_key: str
    worker: subprocess.Popen | None = None
    web: subprocess.Popen | None = None
    web_port: int = field(default_factory=free_port)
    worker_starts: int = 0
    env_changes: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return app_environment(
            database_url=self.postgres.url(self.database),
            redis_url=self.redis.url,
            directory=self.directory,
            **self.env_changes,
        )

    def sql(self, statement: str, *params: Any) -> list[tuple]:
        return self.postgres.query(self.database, statement, *params)

    def start_worker(self) -> subprocess.Popen:
        """`make worker`'s command: beat inside (-B), the prefork pool with two processes; ready once it says so."""
        self.worker_starts += 1
        log_path = self.directory / f"worker-{self.worker_starts}.log"
        with log_path.open("w") as log:
            self.worker = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "finai", "worker", "-Q", "scoring,training,analytics"),
                    *("-B", "-s", str(self.directory / "celerybeat-schedule"), "--concurrency", "2", "-l", "info"),
                    *("--without-gossip", "--without-mingle", "-n", f"fault-{uuid.uuid4().hex[:8]}@%h"),
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes beat's process with it
            )
        wait_until(lambda: "ready." in log_path.read_text(), f"the worker to start ({log_path})", START_TIMEOUT_SECONDS)
        return self.worker

    def kill_worker(self) -> None:
        """kill -9 of the worker and everything it started: no warm shutdown, nothing acknowledged."""
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=10)

    def start_web(self, *, workers: int = 2) -> None:
        log = (self.directory / "web.log").open("w")
        self.web = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")),
                *("-b", f"127.0.0.1:{self.web_port}", "--workers", str(workers), "finai.wsgi"),
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: self.get("/healthz")[0] == 200, "gunicorn to answer /healthz", START_TIMEOUT_SECONDS)

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, dict, str]:
        """(status, headers, body text) of one request to gunicorn; no exception for 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}{path}", data=data, method=method, headers=headers or {}
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, {}, ""

    def manage(self, *arguments: str, timeout: float = 120) -> str:
        """Run a management command against this test's database; its standard output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, dict, str]:
        headers = {"Authorization": f"Bearer {self.partner_key}", "Idempotency-Key": uuid.uuid4().hex}
        return self.request(method, path, body, headers)

    def stop(self) -> None:
        self.kill_worker()
        if self.web is not None and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            try:
                self.web.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.web.pid, signal.SIGKILL)


@pytest.fixture
def faulty(postgres_cluster, seeded_template, fault_directory) -> Iterator[Processes]:
    """A fresh seeded database and Redis server for one test; its processes are started by the test."""
    database = f"fault_{uuid.uuid4().hex[:10]}"
    postgres_cluster.query("postgres", f"CREATE DATABASE {database} TEMPLATE {TEMPLATE}")
    directory = fault_directory / database
    directory.mkdir()
    shutil.copytree(fault_directory / "artifacts", directory / "artifacts")
    redis = PrivateRedis(directory)
    redis.start()
    processes = Processes(postgres_cluster, redis, database, directory, seeded_template["key"])
    yield processes
    processes.stop()
    redis.stop()
    postgres_cluster.query(
        "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", database
    )
    postgres_cluster.query("postgres", f"DROP DATABASE IF EXISTS {database}")
