"""Liveness and readiness endpoints for operators and orchestrators.

Each readiness probe gives up after about PROBE_TIMEOUT_SECONDS, so a dead dependency answers 503
quickly instead of stalling the orchestrator's probe. The endpoints are public: the body names the
failing part and the error's class only, never a URL, host or credential; details go to the log.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from finai.celery import app as celery_app

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2
OK = "ok"


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; nothing else is checked, so a slow dependency never restarts it."""
    return JsonResponse({"status": OK})


def _database_status() -> str:
    """A round trip to the database; its connect timeout is bounded in settings."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("Readiness: the database is unreachable.", exc_info=True)
        return type(exc).__name__
    return OK


def _broker_status() -> str:
    """A round trip to the broker: connect once, without retries, and read the default queue's depth."""
    timeouts = {"socket_connect_timeout": PROBE_TIMEOUT_SECONDS, "socket_timeout": PROBE_TIMEOUT_SECONDS}
    try:
        with celery_app.connection_for_write(
            connect_timeout=PROBE_TIMEOUT_SECONDS, transport_options=timeouts
        ) as broker:
            broker.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_SECONDS)
            broker.default_channel.queue_declare(queue=celery_app.conf.task_default_queue)
    except Exception as exc:
        logger.warning("Readiness: the broker is unreachable.", exc_info=True)
        return type(exc).__name__
    return OK


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and the broker answer; 503 naming each failing part otherwise."""
    checks = {"database": _database_status(), "broker": _broker_status()}
    failing = [name for name, status in checks.items() if status != OK]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": checks}, status=503)
    return JsonResponse({"status": OK, "checks": checks})
