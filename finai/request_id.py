"""The request id: one value that ties a request's log lines, its response and the Celery tasks it queues.

It comes from the `X-Request-ID` header when a proxy or client sent a safe one, else it is made here, and the
response always returns it, so a partner quoting it to support leads straight to the log lines. The header is
client input that ends up in every log line: only visible ASCII up to 100 characters is taken, anything else
(line breaks, control characters, spaces, a megabyte) is replaced by a fresh UUID, so no one can forge or split
a log line through it.

django-structlog binds the id (with the user's id and the peer's address) to the log context, logs each request's
start and end, and copies the context into the headers of every Celery task published meanwhile
(`DJANGO_STRUCTLOG_CELERY_ENABLED`); the worker binds it again before the task runs (`finai.celery`).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django_structlog import signals
from django_structlog.middlewares import RequestMiddleware

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 100
_REQUEST_ID_META_KEY = "HTTP_X_REQUEST_ID"
# Visible ASCII (no space, no control characters): printable in any log format, unable to start a new line.
_SAFE_REQUEST_ID = re.compile(rf"[\x21-\x7e]{{1,{REQUEST_ID_MAX_LENGTH}}}")


def request_id_accept(presented: str | None) -> str:
    """The presented id when it is safe to log, else a new random one."""
    if presented and _SAFE_REQUEST_ID.fullmatch(presented):
        return presented
    return str(uuid.uuid4())


class RequestIdMiddleware(RequestMiddleware):
    """django-structlog's request logging, with the incoming id checked first and returned in the response.

    Placed near the top of MIDDLEWARE, so even a redirect or refusal by a later middleware carries an id. The
    user's id is bound when the response is logged (authentication runs later), so lines logged inside a view
    carry the request id and the IP, and the closing `request_finished` line also names the user.
    """

    async_capable = False  # FinAI is served over WSGI; the library's async path is not needed

    def __call__(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        request_id = request_id_accept(request.META.get(_REQUEST_ID_META_KEY))
        # The library reads the header (DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID): hand it the checked value.
        request.META[_REQUEST_ID_META_KEY] = request_id
        request.__dict__.pop("headers", None)  # `request.headers` is cached; drop a copy made before this
        request.request_id = request_id  # type: ignore[attr-defined]
        request._log_started_at = time.perf_counter()  # type: ignore[attr-defined]
        response = super().__call__(request)
        response[REQUEST_ID_HEADER] = request_id
        return response  # type: ignore[return-value]

    @classmethod
    def bind_ip(cls, request: HttpRequest) -> None:
        """The peer's address, as the audit trail and the sign-in throttle record it; not the library's guess from
        X-Forwarded-For, which any client can write (and which costs a tenth of a millisecond to parse)."""
        structlog.contextvars.bind_contextvars(ip=request.META.get("REMOTE_ADDR"))

    @staticmethod
    def format_request(request: HttpRequest) -> str:
        """Method and path only: a query string may carry search terms such as an applicant's name."""
        return f"{request.method} {request.path}"


@receiver(signals.bind_extra_request_finished_metadata, dispatch_uid="finai_request_duration")
def _log_request_duration(sender: Any, request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """`duration_ms` on each `request_finished` line, so the application's own log is the access log."""
    started_at = getattr(request, "_log_started_at", None)
    if started_at is not None:
        log_kwargs["duration_ms"] = round((time.perf_counter() - started_at) * 1000, 1)
