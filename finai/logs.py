"""Structured logs: one configuration of structlog for the web, the Celery workers and gunicorn.

Every line carries `timestamp`, `level`, `logger` and `event`, plus whatever is bound to the context: the
request id (`finai.request_id`), and in a worker the task id and the request id of the request that queued it.
Code may log with the standard `logging` module (most of FinAI does) or with structlog; both end in the same
formatter. In production the line is one JSON object, so a log pipeline needs no parsing rules; in development
a readable console format. This module imports no Django, so gunicorn's configuration can use it too.
"""

from __future__ import annotations

import logging
import sys

import structlog

LOG_FORMATS = ("json", "console")

# Applied to records from the standard `logging` module, which structlog's own processors never saw. A record's
# `extra` is left out on purpose: Django's request loggers put the whole request object there.
_FOREIGN_PRE_CHAIN: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def structlog_configure() -> None:
    """Send structlog's events through the standard library, so `LOGGING` decides where and how they go."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # first: an event below the level costs nothing more
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def json_formatter() -> logging.Formatter:
    """One JSON object a line; a traceback is a string field (`exception`), so it never spans lines."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FOREIGN_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def console_formatter() -> logging.Formatter:
    """Aligned lines for a developer (DEBUG on): coloured on a terminal, plain in a file such as var/worker.log.

    Tracebacks are plain: structlog's default (rich) prints each frame's local variables, which may hold an
    applicant's data or a password.
    """
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FOREIGN_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            ),
        ],
    )
