"""Settings come from the environment and are safe by default: production must opt out of nothing."""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "finai.settings.base"
SETTINGS_FILE = ROOT / "finai" / "settings" / "base.py"

# Variables that would change what the settings module reads; each test states the ones it wants.
_SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "STATIC_ROOT",
)


def _production_environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in _SETTINGS_VARIABLES and key != "DJANGO_ALLOW_ASYNC_UNSAFE"  # set by the browser tests
    }
    environment.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="finai.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        EMBEDDED_BROKER_DIR=str(tmp_path / "broker"),
    )
    environment.update(overrides)
    return environment


def _manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _load_settings(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, object]:
    """Execute the settings module afresh under exactly these variables (of those it reads)."""
    for name in _SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_check_deploy_is_clean_under_production_variables_after_collectstatic(tmp_path: Path) -> None:
    environment = _production_environment(tmp_path, STATIC_ROOT=str(tmp_path / "static"))
    collected = _manage(environment, "collectstatic", "--noinput", "--verbosity", "0")

    result = _manage(environment, "check", "--deploy", "--fail-level", "WARNING")

    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_naming_collectstatic_when_it_was_not_run(tmp_path: Path) -> None:
    environment = _production_environment(tmp_path, STATIC_ROOT=str(tmp_path / "never-collected"))

    result = _manage(environment, "check", "--deploy")

    assert result.returncode != 0
    assert "finai.E001" in result.stderr
    assert "collectstatic --noinput" in result.stderr


def test_check_deploy_flags_a_security_setting_switched_off(tmp_path: Path) -> None:
    environment = _production_environment(tmp_path, SESSION_COOKIE_SECURE="false")

    result = _manage(environment, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "security.W012" in result.stderr


def test_start_up_fails_naming_secret_key_when_debug_is_unset_and_no_key_is_given(tmp_path: Path) -> None:
    environment = _production_environment(tmp_path)
    del environment["SECRET_KEY"]

    result = _manage(environment, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_it_requires_a_secret_key_when_debug_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        _load_settings(monkeypatch, DEBUG="false")


def test_debug_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load_settings(monkeypatch, SECRET_KEY=secrets.token_urlsafe(50))

    assert settings["DEBUG"] is False
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["ALLOWED_HOSTS"] == []


def test_debug_on_needs_no_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load_settings(monkeypatch, DEBUG="true")

    assert settings["DEBUG"] is True
    assert settings["SECRET_KEY"]


@pytest.mark.parametrize(("variable", "value"), [("DEBUG", "ture"), ("SECURE_SSL_REDIRECT", "flase")])
def test_it_refuses_a_yes_no_variable_that_is_neither(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=variable):
        _load_settings(monkeypatch, SECRET_KEY=secrets.token_urlsafe(50), **{variable: value})


def test_it_refuses_a_number_that_is_not_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="SECURE_HSTS_SECONDS"):
        _load_settings(monkeypatch, SECRET_KEY=secrets.token_urlsafe(50), SECURE_HSTS_SECONDS="one year")


def test_pages_with_static_assets_render_in_tests_without_collectstatic(client, db) -> None:
    assert client.get("/admin/login/").status_code == 200
