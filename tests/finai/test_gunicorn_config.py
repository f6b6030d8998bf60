"""gunicorn.conf.py: the documented defaults, the variables that change them, and the metrics hook."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "gunicorn.conf.py"
VARIABLES = (
    "WEB_CONCURRENCY",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "PROMETHEUS_MULTIPROC_DIR",
)


@pytest.fixture
def load_config(monkeypatch) -> Any:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def load(**variables: str) -> dict[str, Any]:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONFIG))

    return load


def test_it_sets_the_documented_defaults(load_config) -> None:
    config = load_config()

    assert config["wsgi_app"] == "finai.wsgi:application"
    assert 1 <= config["workers"] <= 12
    assert (config["timeout"], config["graceful_timeout"], config["keepalive"]) == (60, 30, 5)
    assert (config["max_requests"], config["max_requests_jitter"]) == (10_000, 1_000)
    assert config["preload_app"] is True
    assert config["control_socket_disable"] is True  # one per user by default: two servers would clash
    assert config["accesslog"] is None
    assert config["loglevel"] == "info"
    assert config["logconfig_dict"]["formatters"]["structured"]["()"] == "finai.logs.json_formatter"


def test_it_takes_its_values_from_the_environment(load_config) -> None:
    config = load_config(
        WEB_CONCURRENCY="3",
        GUNICORN_TIMEOUT="120",
        GUNICORN_GRACEFUL_TIMEOUT="10",
        GUNICORN_MAX_REQUESTS="0",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="console",
    )

    assert (config["workers"], config["timeout"], config["graceful_timeout"]) == (3, 120, 10)
    assert (config["max_requests"], config["max_requests_jitter"]) == (0, 0)
    assert config["loglevel"] == "warning"
    assert config["logconfig_dict"]["formatters"]["structured"]["()"] == "finai.logs.console_formatter"


@pytest.mark.parametrize(
    "variables",
    [{"WEB_CONCURRENCY": "four"}, {"WEB_CONCURRENCY": "0"}, {"GUNICORN_TIMEOUT": "-1"}, {"LOG_FORMAT": "xml"}],
)
def test_it_refuses_a_bad_value_at_start_up(load_config, variables) -> None:
    with pytest.raises(SystemExit, match=next(iter(variables))):
        load_config(**variables)


def test_a_dead_worker_is_marked_for_multi_process_metrics(load_config, tmp_path, monkeypatch) -> None:
    from prometheus_client import multiprocess

    marked = []
    monkeypatch.setattr(multiprocess, "mark_process_dead", marked.append)
    config = load_config(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    config["child_exit"](None, SimpleNamespace(pid=4242))

    assert marked == [4242]


def test_without_multi_process_metrics_a_dead_worker_marks_nothing(load_config, monkeypatch) -> None:
    from prometheus_client import multiprocess

    marked = []
    monkeypatch.setattr(multiprocess, "mark_process_dead", marked.append)

    load_config()["child_exit"](None, SimpleNamespace(pid=4242))

    assert marked == []


def test_the_access_line_is_built_only_when_an_access_log_is_named(load_config) -> None:
    """The application logs every request; gunicorn would otherwise build an access line for each and drop it."""
    from gunicorn.config import Config

    config = load_config()
    settings = Config()
    settings.set("logconfig_dict", config["logconfig_dict"])
    enabled = config["logger_class"].access_log_enabled.fget

    assert enabled(SimpleNamespace(cfg=settings)) is False
    settings.set("accesslog", "-")
    assert enabled(SimpleNamespace(cfg=settings)) is True


def test_gunicorn_itself_accepts_the_file() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "--config", str(CONFIG)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "WEB_CONCURRENCY": "3", "GUNICORN_MAX_REQUESTS": "5000"},
    )

    assert printed.returncode == 0, printed.stderr[-2000:]
    resolved = {}
    for line in printed.stdout.splitlines():
        name, separator, value = line.partition(" = ")
        if separator:
            resolved[name.strip()] = value.strip()
    assert (resolved["workers"], resolved["max_requests"], resolved["max_requests_jitter"]) == ("3", "5000", "500")
    assert (resolved["preload_app"], resolved["accesslog"]) == ("True", "None")
    assert "RequestsLoggedByTheApplication" in resolved["logger_class"]
