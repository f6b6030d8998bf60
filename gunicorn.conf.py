"""Gunicorn's configuration for FinAI in production: `gunicorn` in the repository root reads this file.

Every value can be changed without editing the file: the variables below, or gunicorn's own flags
(`gunicorn --workers 2`) and GUNICORN_CMD_ARGS, which take precedence over this file.

    WEB_CONCURRENCY            worker processes (default 2 x CPU cores + 1, at most 12)
    GUNICORN_TIMEOUT           seconds a request may run before its worker is killed and replaced (60)
    GUNICORN_GRACEFUL_TIMEOUT  seconds a worker has to finish its requests on restart or shutdown (30)
    GUNICORN_KEEPALIVE         seconds an idle connection from the proxy is kept open (5)
    GUNICORN_MAX_REQUESTS      requests after which a worker is replaced (10000; 0 never)
    LOG_LEVEL, LOG_FORMAT      as for the application: gunicorn's own lines use the same JSON format
    PROMETHEUS_MULTIPROC_DIR   see finai/metrics.py; a dead worker's files are marked here
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn import glogging

MAX_WORKERS = 12


def _whole_number(name: str, *, default: int, minimum: int = 0) -> int:
    """A variable that must hold a whole number; anything else stops gunicorn with the variable's name."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}.")
    return value


def _cpu_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


wsgi_app = "finai.wsgi:application"

# Sync workers, one request each: a decision is a few milliseconds of CPU and database, and the proxy in front
# (nginx or a load balancer) buffers slow clients. Gunicorn's rule of thumb for the count, capped because every
# worker holds its own copy of the champion model and the scientific stack (about 250 MB).
workers = _whole_number("WEB_CONCURRENCY", default=min(2 * _cpu_cores() + 1, MAX_WORKERS), minimum=1)

# A worker silent this long is killed and replaced. Decisions take milliseconds; the limit is for the streamed
# CSV exports of whole lists, which a sync worker serves in one request.
timeout = _whole_number("GUNICORN_TIMEOUT", default=60, minimum=1)
graceful_timeout = _whole_number("GUNICORN_GRACEFUL_TIMEOUT", default=30, minimum=1)
keepalive = _whole_number("GUNICORN_KEEPALIVE", default=5, minimum=1)

# Replace each worker after this many requests, so a slow leak (in a C extension, say) cannot grow without end;
# the jitter keeps the workers from restarting all at once. High enough that a load test of a few minutes does
# not restart workers mid-run (a new worker starts with a cold model cache).
max_requests = _whole_number("GUNICORN_MAX_REQUESTS", default=10_000)
max_requests_jitter = max_requests // 10

# Load Django and the models' libraries once in the master, then fork: workers start in milliseconds, share the
# imported code's memory, and a broken release fails at start-up instead of in a loop of dying workers. Safe
# here because importing the app opens no database or broker connection and starts no thread (connections are
# made lazily, in each worker). The cost: `kill -HUP` reloads the configuration but not the code; deploy a new
# release by restarting gunicorn.
preload_app = True

# No control socket: gunicorn 27 puts it at one path per user ($HOME/.gunicorn/gunicorn.ctl), so a second
# gunicorn on the host (a load test beside a server) would replace and then delete the first one's. FinAI is
# managed by signals (TERM, HUP, TTIN/TTOU), which need no socket.
control_socket_disable = True

# The heartbeat file in memory, not on a container's overlay disk, where a write can stall a worker. Gunicorn
# makes it with mkstemp: a private file with an unguessable name, so a shared folder is safe.
_SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHARED_MEMORY if os.path.isdir(_SHARED_MEMORY) else None

# No access log: the application logs each request itself (`request_finished`: method, path, status, duration
# in ms, request id and user), so a second line per request would only double the volume.
accesslog = None


class RequestsLoggedByTheApplication(glogging.Logger):
    """Gunicorn's logger, with the access line built only when `accesslog` names a destination.

    Gunicorn treats any `logconfig_dict` as a request for access lines and builds each one (a dozen fields from
    the request and response) before its logger drops it: 1.7 % of a synchronous decision's time in issue 19's
    profile. Setting `--access-logfile` still turns the lines on.
    """

    @property
    def access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)


logger_class = RequestsLoggedByTheApplication
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
_log_format = os.environ.get("LOG_FORMAT", "json")
if _log_format not in ("json", "console"):
    raise SystemExit(f"LOG_FORMAT must be json or console, not {_log_format!r}.")
# Gunicorn's own lines (start-up, worker timeouts and restarts) in the application's format, on stderr.
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": f"finai.logs.{_log_format}_formatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "structured", "stream": "ext://sys.stderr"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "structured", "stream": "ext://sys.stderr"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["console"]},
    "loggers": {
        # Not propagated: once Django configures the root logger, a propagated line would be written twice.
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def when_ready(server: Any) -> None:
    """With the app preloaded, import the URLconf (every view and what it uses) in the master too: Django loads it
    on the first request, which would otherwise cost each new worker seconds."""
    if server.cfg.preload_app:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - evaluated for its imports


def child_exit(server: Any, worker: Any) -> None:
    """In metrics' multi-process mode, tell prometheus-client a worker is gone, so its live gauges stop counting.

    Its counters and histograms stay in the folder and keep being summed, as they should: requests it served
    happened. Called in the master after each worker exits (including the replacements of max_requests).
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
