"""Root pytest configuration: back-end reporting, CI service checks, personas, a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def _backends() -> tuple[str, str]:
    database = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    broker = "redis" if os.environ.get("REDIS_URL") else "embedded file-system transport"
    return database, broker


def pytest_report_header(config: pytest.Config) -> str:
    database, broker = _backends()
    return f"FinAI test back-ends: database={database}, broker={broker}"


def pytest_configure(config: pytest.Config) -> None:
    """In CI the suite must run on Postgres and Redis: stop at once, never skip, if they are missing."""
    if not IN_CI:
        return
    database, broker = _backends()
    if database != "postgres" or broker != "redis":
        pytest.exit(f"CI=true requires DATABASE_URL (postgres) and REDIS_URL; got {database}, {broker}.", 3)
    import psycopg2
    import redis

    try:
        psycopg2.connect(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", connect_timeout=5).close()
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5).ping()
    except Exception as exc:
        pytest.exit(f"CI=true but a required service is unreachable: {exc}", 3)


@pytest.fixture
def make_user(db):
    """Create a user holding the given roles."""
    from tests.factories import UserFactory

    def make(username: str, *roles: str):
        return UserFactory(username=username, roles=list(roles))

    return make


# The fixed personas of permission tests: two of each working role (four eyes, "mine" versus "theirs"), an
# administrator, an outsider with no role who must see nothing, and two partners who must see nothing of
# each other.


@pytest.fixture
def loan_officer(make_user):
    return make_user("olivia_officer", "loan_officer")


@pytest.fixture
def second_loan_officer(make_user):
    return make_user("oliver_officer", "loan_officer")


@pytest.fixture
def model_manager(make_user):
    return make_user("mark_manager", "model_manager")


@pytest.fixture
def second_model_manager(make_user):
    return make_user("maria_manager", "model_manager")


@pytest.fixture
def compliance_officer(make_user):
    return make_user("carla_compliance", "compliance_officer")


@pytest.fixture
def second_compliance_officer(make_user):
    return make_user("cyril_compliance", "compliance_officer")


@pytest.fixture
def analyst(make_user):
    """Runs clustering experiments and chooses segmentations; no lending, models or protected attributes."""
    return make_user("anna_analyst", "analyst")


@pytest.fixture
def administrator(make_user):
    return make_user("ada_admin", "admin")


@pytest.fixture
def outsider(make_user):
    """An authenticated user with no role, who must see nothing."""
    return make_user("oscar_outsider")


@pytest.fixture
def make_partner(db):
    """A partner organisation and a fresh key for it: (partner, key)."""
    from lending.services.partners import partner_api_key_issue, partner_create

    def make(name: str) -> tuple[Any, str]:
        partner = partner_create(name=name)
        return partner, partner_api_key_issue(partner=partner).secret

    return make


@pytest.fixture
def acme(make_partner) -> tuple[Any, str]:
    return make_partner("Acme Lending")


@pytest.fixture
def globex(make_partner) -> tuple[Any, str]:
    """The other partner, who must see nothing of Acme's."""
    return make_partner("Globex Finance")


def _test_database_url() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process consuming every queue, against the test database.

    Tests that use it must commit their data (the `transactional_db` fixture) so the worker sees it.
    """
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "finai.settings.test"}
    with django_db_blocker.unblock():
        env["DATABASE_URL"] = _test_database_url()
    celery = [sys.executable, "-m", "celery", "-A", "finai"]
    subprocess.run(
        [*celery, "purge", "-f", "-Q", "scoring,training,analytics"],
        env=env,
        cwd=ROOT,
        check=False,
        capture_output=True,
        timeout=60,
    )
    # One log per test database: runs that share this checkout must not read each other's "ready.".
    log_path = ROOT / "var" / f"test-worker-{Path(env['DATABASE_URL']).stem}.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                *celery,
                "worker",
                "-Q",
                "scoring,training,analytics",
                "--pool",
                "solo",
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}@%h",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while "ready." not in log_path.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError("The Celery worker did not start:\n" + log_path.read_text()[-4000:])
        time.sleep(0.2)
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.fixture
def trained_version(db, model_manager):
    """A scorecard trained (inline, no worker) on the German credit records, as a candidate."""
    from analytics.engine.dataset_schema import schema_load
    from analytics.services.training_jobs import TrainingInProgressError, model_version_train
    from lending.services.datasets import dataset_import
    from lending.services.training import model_training_start

    schema = schema_load("german_credit")
    dataset_import(schema=schema, file=schema.resolve_file())
    version = model_training_start(dataset="german_credit", family="scorecard", requested_by=model_manager, seed=0)
    try:
        return model_version_train(version_id=version.pk)
    except TrainingInProgressError:  # a running test worker took the queued task first: let it finish
        deadline = time.monotonic() + 120
        while version.status == "training" and time.monotonic() < deadline:
            time.sleep(0.2)
            version.refresh_from_db()
        return version


@pytest.fixture
def champion(trained_version, model_manager, second_model_manager):
    """The German credit scorecard promoted to champion by two different managers."""
    from analytics.services.registry import promotion_approve, promotion_request

    request = promotion_request(
        version=trained_version, requested_by=model_manager, exception_justification="test champion"
    )
    return promotion_approve(request=request, approved_by=second_model_manager, accept_exception=True)
