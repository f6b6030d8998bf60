"""The Celery app: configured from Django settings (CELERY_ namespace), tasks autodiscovered.

Workers log as the web processes do (settings.LOGGING: one JSON object a line in production) rather than in
Celery's own format, and each task's lines carry the request id of the request that queued it
(django-structlog's worker step; the web side adds it to the task's headers, see finai.request_id).
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import after_task_publish, before_task_publish, setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finai.settings.base")


class TaskLogContextStep(DjangoStructLogInitStep):
    """django-structlog's worker step (bind each task's log context before it runs), less its publish receivers:
    django-structlog's app config (DJANGO_STRUCTLOG_CELERY_ENABLED) already adds the context to tasks queued in
    a worker, and a second copy would log each `task_enqueued` twice."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        before_task_publish.disconnect(self.receiver.receiver_before_task_publish)
        after_task_publish.disconnect(self.receiver.receiver_after_task_publish)


app = Celery("finai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name, routing_key=name) for name in ("scoring", "training", "analytics")]
app.steps["worker"].add(TaskLogContextStep)
app.autodiscover_tasks()


@setup_logging.connect(weak=False, dispatch_uid="finai_celery_logging")
def _logging_from_settings(**kwargs: Any) -> None:
    """Replace Celery's own log set-up with settings.LOGGING (its level is LOG_LEVEL, not `celery -l`)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
