"""The stack under load: a fresh database, a Celery worker with beat, a champion, a partner with a webhook, gunicorn.

Django is set up in this process only once the soak's environment is in place (its database, its secret key), so
the project's own modules are imported inside the functions that use them.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from benchmarks.soak.config import BIN, ROOT, WORK, SoakConfig, SoakError
from benchmarks.soak.load import Traffic
from benchmarks.soak.processes import Processes

READY_TIMEOUT_SECONDS = 180
TRAINING_TIMEOUT_SECONDS = 600
QUEUES = "scoring,training,analytics"


def _workspace_prepare() -> None:
    """An empty var/soak/: last run's logs, artifacts and metric files would blur this one's."""
    shutil.rmtree(WORK, ignore_errors=True)
    for folder in ("artifacts", "metrics"):
        (WORK / folder).mkdir(parents=True)


def _database_recreate(database_url: str) -> str:
    """Drop and create the soak's database, so every soak starts from the same empty tables."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not parts.scheme.startswith("postgres") or not name:
        raise SystemExit(f"SOAK_DATABASE_URL must name a Postgres database, not {database_url!r}.")
    server = urlunsplit(parts._replace(path="/postgres"))
    connection = psycopg2.connect(server)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    return name


def _service_environment(config: SoakConfig) -> dict[str, str]:
    """Production settings (DEBUG off, HTTPS required behind a proxy) on the soak's own database and files."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finai.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "USE_X_FORWARDED_PROTO": "true",
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "ARTIFACT_ROOT": str(WORK / "artifacts"),
        "AUDIT_CHECKPOINT_FILE": str(WORK / "audit-checkpoints.jsonl"),
        "PROMETHEUS_MULTIPROC_DIR": str(WORK / "metrics"),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": config.log_level,
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }


def _manage(*arguments: str, env: dict[str, str]) -> None:
    with (WORK / "setup.log").open("ab") as log:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        raise SoakError(f"manage.py {' '.join(arguments)} failed ({result.returncode}): see {WORK / 'setup.log'}")


def _wait_for_worker(name: str, processes: Processes) -> None:
    from finai.celery import app

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        processes.check_alive()
        if app.control.ping(destination=[name], timeout=1.0):
            return
    raise SoakError(f"The Celery worker did not answer a ping in {READY_TIMEOUT_SECONDS} s: see {WORK}/worker.log")


def _champion_train(processes: Processes) -> int:
    """A scorecard on German credit, trained by the worker and promoted by two managers (four eyes)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from analytics.models import ModelVersion
    from analytics.services.registry import promotion_approve, promotion_request
    from finai.roles import Role
    from lending.services.training import model_training_start

    managers = Group.objects.get_or_create(name=Role.MODEL_MANAGER)[0]
    trainer, approver = (get_user_model().objects.create_user(username=name) for name in ("soak_mrm", "soak_mrm_2"))
    for user in (trainer, approver):
        user.groups.add(managers)
    version = model_training_start(dataset="german_credit", family="scorecard", requested_by=trainer, seed=0)
    deadline = time.monotonic() + TRAINING_TIMEOUT_SECONDS
    while version.status == ModelVersion.Status.TRAINING and time.monotonic() < deadline:
        processes.check_alive()
        time.sleep(1)
        version.refresh_from_db()
    if version.status != ModelVersion.Status.CANDIDATE:
        raise SoakError(f"Training did not finish: {version.status} {version.failure}; see {WORK}/worker.log")
    request = promotion_request(
        version=version, requested_by=trainer, exception_justification="Soak test: the champion under load."
    )
    promotion_approve(request=request, approved_by=approver, accept_exception=True, note="Soak test")
    return version.pk


@dataclass
class Partner:
    id: int
    key: str


def _partner_create(config: SoakConfig, webhook_url: str) -> Partner:
    """A partner whose own limit is ten times the soak's rate, so the soak never meets a 429."""
    from lending.services.partners import (
        partner_api_key_issue,
        partner_create,
        partner_rate_limit_set,
        partner_webhook_configure,
    )

    partner = partner_create(name="Soak partner")
    per_minute = math.ceil((config.decisions_per_second + config.screening_batches_per_second) * 60 * 10)
    partner_rate_limit_set(partner=partner, rate=f"{per_minute}/minute")
    partner_webhook_configure(partner=partner, url=webhook_url)
    return Partner(partner.pk, partner_api_key_issue(partner=partner, label="soak").secret)


class WebhookReceiver(ThreadingHTTPServer):
    """The partner's end of the webhooks: counts deliveries and checks each signature as docs/api.md says."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.secret = ""
        self.deliveries: set[str] = set()
        self.bad_signatures = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        from lending.services.webhooks import SIGNATURE_HEADER, webhook_signature_verify

        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signed = webhook_signature_verify(
            secret=self.server.secret, header=self.headers.get(SIGNATURE_HEADER, ""), body=body
        )
        with self.server.lock:
            if signed:
                self.server.deliveries.add(self.headers.get("FinAI-Delivery", ""))
            else:
                self.server.bad_signatures += 1
        self.send_response(204 if signed else 400)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: thousands of deliveries would bury the table."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_web(traffic: Traffic, processes: Processes) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        processes.check_alive()
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", traffic.port, timeout=5)
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            if connection.getresponse().status == 200:
                return
        time.sleep(0.5)
    raise SoakError(f"gunicorn did not answer /healthz in {READY_TIMEOUT_SECONDS} s: see {WORK}/web.log")


@dataclass(frozen=True)
class Stack:
    """What the set-up started and made: the two process trees to watch, and the traffic to send them."""

    web_pid: int
    worker_pid: int
    partner_id: int
    champion: int
    traffic: Traffic


def stack_start(config: SoakConfig, processes: Processes, receiver: WebhookReceiver) -> Stack:
    """A fresh database, a worker (which trains the champion), the partner and its webhook, then gunicorn."""
    _workspace_prepare()
    database = _database_recreate(config.database_url)
    print(f"soak: database {database} recreated; migrating and loading German credit (log: var/soak/setup.log)")
    env = _service_environment(config)
    os.environ.update({**env, "LOG_LEVEL": "WARNING"})  # this process's own Django: set-up and counting only
    _manage("migrate", "--noinput", env=env)
    _manage("load_german_credit", env=env)

    worker_name = f"soak-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    worker_command = f"celery -A finai worker -Q {QUEUES} --concurrency {config.worker_concurrency} -n {worker_name} -B"
    worker = processes.start(
        "worker", [str(BIN / "celery"), *worker_command.split()[1:], "-s", str(WORK / "celerybeat-schedule")], env=env
    )
    import django

    django.setup()
    from analytics.engine.dataset_schema import schema_load
    from analytics.engine.families.base import training_data_from_file
    from lending.models import PartnerWebhookSecret
    from monitoring.services.scenarios import active_versions, screening_scenarios_ensure

    _wait_for_worker(worker_name, processes)
    print("soak: worker up; training the champion on it")
    champion = _champion_train(processes)
    screening_scenarios_ensure()
    partner = _partner_create(config, receiver.url)
    receiver.secret = PartnerWebhookSecret.objects.get(partner_id=partner.id).secret

    port = _free_port()
    web = processes.start(
        "web", [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}"], env=env
    )
    rows = training_data_from_file(schema_load("german_credit")).features.to_dict("records")
    traffic = Traffic(config=config, key=partner.key, port=port, rows=rows)
    _wait_for_web(traffic, processes)
    print(f"soak: champion v{champion}, {len(active_versions())} screening scenarios, gunicorn on :{port}")
    return Stack(web.pid, worker.pid, partner.id, champion, traffic)
