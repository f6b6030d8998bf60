"""Safe defaults (issue 20, findings 4 and 6 to 9): login throttling, formula-safe CSVs, hostile uploads refused
with a named error, a production deploy that serves its static files, a content security policy, database outages
answered 503, bounded uploads and production requirements without test tools, every package pinned with its hash."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client, override_settings
from django.urls import reverse

from analytics.engine.fairness import FairnessAudit, FairnessConfig, fairness_report_compute
from analytics.models import FairnessReport
from finai.models import AuditEvent
from lending.api.renderers import CSVRenderer
from tests.lending.api.helpers import bearer
from tests.lending.views.test_application_form import VALID, post

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
FORMULA = "=cmd|' /C calc'!A0"
PRODUCTION_STATIC_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


@pytest.fixture
def address() -> str:
    """A client address of this test alone: lockout counts live in the shared cache, per username and address."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


def sign_in(client: Client, address: str, password: str, *, path: str = "/login/", username: str = "olivia_officer"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


# --- 4. Login throttling ----------------------------------------------------------------------------------------


@override_settings(LOGIN_FAILURE_LIMIT=5, LOGIN_LOCKOUT_SECONDS=900)
def test_the_right_password_is_refused_after_too_many_wrong_ones(client, loan_officer, address):
    for _ in range(5):
        sign_in(client, address, "wrong-password")

    response = sign_in(client, address, PASSWORD)

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_FAILURE_LIMIT=5, LOGIN_LOCKOUT_SECONDS=900)
def test_a_lockout_is_audited_once_with_the_username_and_address(client, loan_officer, address):
    for _ in range(7):
        sign_in(client, address, "wrong-password")

    lockouts = AuditEvent.objects.filter(action="auth.lockout")
    assert lockouts.count() == 1
    assert lockouts.get().payload["username"] == "olivia_officer"
    assert lockouts.get().payload["remote_addr"] == address


@override_settings(LOGIN_FAILURE_LIMIT=5, LOGIN_LOCKOUT_SECONDS=900)
def test_the_admin_sign_in_is_throttled_too(client, administrator, address):
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    for _ in range(5):
        sign_in(client, address, "wrong-password", path=reverse("admin:login"), username="ada_admin")

    sign_in(client, address, PASSWORD, path=reverse("admin:login"), username="ada_admin")

    assert "_auth_user_id" not in client.session
    assert (
        sign_in(Client(), "192.0.2.78", PASSWORD, path=reverse("admin:login"), username="ada_admin").status_code == 302
    )


@override_settings(LOGIN_FAILURE_LIMIT=5, LOGIN_LOCKOUT_SECONDS=900)
def test_a_success_forgets_earlier_failures_and_other_addresses_are_not_locked_out(client, loan_officer, address):
    for _ in range(4):
        sign_in(client, address, "wrong-password")
    assert sign_in(client, address, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, address, "wrong-password")

    assert sign_in(client, address, PASSWORD).status_code == 302
    for _ in range(5):
        sign_in(client, address, "wrong-password")
    assert sign_in(client, "192.0.2.77", PASSWORD).status_code == 302


# --- 6. CSV formula injection -----------------------------------------------------------------------------------


def test_a_formula_in_a_group_value_is_neutralised_in_the_fairness_report_csv(client, compliance_officer):
    rng = np.random.default_rng(1)
    rows = 200
    group = rng.choice([FORMULA, "other"], size=rows)
    approved = (rng.random(rows) < 0.5).astype(int)
    report = fairness_report_compute(
        approved=approved,
        protected=pd.DataFrame({"sex": group}),
        config=FairnessConfig(bootstrap_resamples=50),
    )
    record = FairnessReport.objects.create(
        kind=FairnessReport.Kind.FILE,
        status=FairnessReport.Status.DONE,
        title="hostile.csv (test)",
        dataset="test",
        source_sha256="cd" * 32,
        row_count=rows,
        parameters={"config": report.config.to_dict()},
        results=FairnessAudit(source="hostile", report=report).to_dict(),
        created_by=compliance_officer,
    )
    client.force_login(compliance_officer)

    response = client.get(reverse("analytics:fairness_report_csv", args=[record.pk]))

    groups = {row["group"] for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert "'" + FORMULA in groups
    assert FORMULA not in groups


def test_a_formula_in_a_batch_result_is_neutralised_in_the_partner_csv():
    rendered = CSVRenderer().render([{"reference": FORMULA, "probability_of_default": -0.5, "decided": True}])

    row = next(csv.DictReader(io.StringIO(rendered.decode())))
    assert row["reference"] == "'" + FORMULA
    assert row["probability_of_default"] == "-0.5"  # numbers stay numbers


# --- 7. Hostile bank statements ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"date,amount,description\n2026-01-02,1500.00,sal\x00ary\n",
        b"date,amount\n2026-01-02,1\x00500.00\n",
        b"\x00\x00\x00",
        b"date,amount\n2026-01-02,\xff\xfe10\n",
    ],
    ids=["nul-in-a-description", "nul-in-an-amount", "only-nul", "not-utf-8"],
)
def test_a_statement_with_nul_bytes_or_undecodable_text_is_refused_on_its_field(officer_client, content):
    response = post(officer_client, VALID, {"transactions": SimpleUploadedFile("statement.csv", content)})

    assert response.status_code == 400
    assert response.context["form"].errors["transactions"]


# --- 8. A production deploy serves its static files ------------------------------------------------------------


def test_the_readme_deploy_recipe_collects_static_files():
    readme = (ROOT / "README.md").read_text()

    assert "manage.py collectstatic --noinput" in readme


def test_a_page_renders_with_debug_off_after_collectstatic(client, tmp_path, settings):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STATIC_STORAGE}
    settings.WHITENOISE_AUTOREFRESH = False
    settings.DEBUG = False
    call_command("collectstatic", "--noinput", verbosity=0)

    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert re.search(r"/static/css/portal\.[0-9a-f]{12}\.css", response.content.decode())


def test_the_deploy_check_names_a_missing_static_manifest(tmp_path, settings):
    from django.core import checks

    settings.STATIC_ROOT = tmp_path / "empty"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STATIC_STORAGE}

    found = checks.run_checks(include_deployment_checks=True)

    assert "finai.E001" in {message.id for message in found}


# --- 9. Content security policy ---------------------------------------------------------------------------------


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_no_page_has_inline_scripts_or_styles_the_policy_would_block():
    pages = [*ROOT.glob("templates/**/*.html"), ROOT / "lending/api/docs/index.html"]
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)

    offenders = [str(page.relative_to(ROOT)) for page in pages if inline.search(page.read_text())]

    assert offenders == []


# --- 9. A database outage answers 503 ---------------------------------------------------------------------------


@contextmanager
def database_down() -> Iterator[None]:
    """Every query fails as it does when Postgres is unreachable (undone before the test database is torn down)."""

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    with mock.patch.object(CursorWrapper, "execute", refuse), mock.patch.object(CursorWrapper, "executemany", refuse):
        yield


def test_an_api_call_during_a_database_outage_is_a_503_problem(acme):
    client = Client(raise_request_exception=False)

    with database_down():
        response = client.get("/api/v1/applications/", **bearer(acme[1]))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503
    assert response["Retry-After"]
    assert "connect" not in response.content.decode()


def test_a_portal_page_during_a_database_outage_is_a_plain_503(loan_officer):
    client = Client(raise_request_exception=False)
    client.force_login(loan_officer)

    with database_down():
        response = client.get(reverse("lending:dashboard"))

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "Traceback" not in response.content.decode()
    assert "OperationalError" not in response.content.decode()


# --- 9. Bounded fairness uploads --------------------------------------------------------------------------------


@override_settings(FAIRNESS_UPLOAD_MAX_BYTES=1024)
def test_a_fairness_upload_over_the_limit_is_refused_on_its_field(client, compliance_officer):
    client.force_login(compliance_officer)
    upload = SimpleUploadedFile("big.csv", b"action_taken,derived_sex\n" + b"1,Male\n" * 400)

    response = client.post(reverse("analytics:fairness_report_upload"), {"file": upload, "schema": "hmda"})

    assert response.status_code == 400
    assert "larger than" in " ".join(response.context["form"].errors["file"])
    assert not FairnessReport.objects.exists()


# --- 9. Requirements ----------------------------------------------------------------------------------------------

TEST_TOOLS = ("pytest", "playwright", "hypothesis", "schemathesis", "factory_boy", "factory-boy", "ruff")


def _names(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {re.split(r"[=<>\[ ;]", line)[0].lower() for line in lines if line and not line.startswith(("-", "--"))}


def test_production_requirements_install_no_test_tools():
    runtime = _names(ROOT / "requirements.txt") | _names(ROOT / "requirements.lock")

    assert not {name for name in runtime if name.startswith(TEST_TOOLS)}
    assert {"pytest", "hypothesis", "ruff"} <= _names(ROOT / "requirements-dev.txt")


def test_every_locked_package_is_pinned_with_a_hash():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        requirements = re.findall(r"^([A-Za-z0-9._-]+)(==[^ \\]+)? *\\?$", text, flags=re.MULTILINE)
        assert requirements, lock
        assert all(pin for _, pin in requirements), f"{lock}: every package pinned with =="
        assert len(re.findall(r"^\S.*\\$", text, flags=re.MULTILINE)) == len(requirements)
        assert text.count("--hash=sha256:") >= len(requirements)
    assert "django" in _names(ROOT / "requirements.lock")


def _pins(path: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^ \\\n;#]+)", path.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


@pytest.mark.parametrize(
    ("direct", "lock"), [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]
)
def test_the_locks_hold_every_direct_requirement_at_its_version(direct, lock):
    """A requirement added without `make lock` would be installed by nobody: the lock is what is installed."""
    locked = _pins(ROOT / lock)
    wanted = _pins(ROOT / direct) | (_pins(ROOT / "requirements.txt") if direct != "requirements.txt" else {})

    stale = {name: version for name, version in wanted.items() if locked.get(name, "").split("+")[0] != version}

    assert stale == {}, f"run `make lock`: {lock} lacks {stale}"
