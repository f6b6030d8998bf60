"""The Celery app: configured from Django settings (CELERY_ namespace), tasks autodiscovered.

Workers renew the broker's hold on every message they have taken (BrokerLeaseRenewal), so the visibility timeout
can be short: a dead worker's tasks return to the queue within about a minute, a live worker's never do.

Workers log as the web processes do (settings.LOGGING: one JSON object a line in production) rather than in
Celery's own format, and each task's lines carry the request id of the request that queued it
(django-structlog's worker step; the web side adds it to the task's headers, see finai.request_id).
"""

from __future__ import annotations

import logging
import logging.config
import os
import threading
import time
from typing import Any

from celery import Celery, bootsteps
from celery.signals import after_task_publish, before_task_publish, setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finai.settings.base")
logger = logging.getLogger(__name__)


class TaskLogContextStep(DjangoStructLogInitStep):
    """django-structlog's worker step (bind each task's log context before it runs), less its publish receivers:
    django-structlog's app config (DJANGO_STRUCTLOG_CELERY_ENABLED) already adds the context to tasks queued in
    a worker, and a second copy would log each `task_enqueued` twice."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        before_task_publish.disconnect(self.receiver.receiver_before_task_publish)
        after_task_publish.disconnect(self.receiver.receiver_after_task_publish)


class BrokerLeaseRenewal(bootsteps.StartStopStep):
    """Keep the messages this worker holds unacknowledged (running, or waiting for a countdown) from being
    redelivered while it lives.

    Redis has no acknowledgements: kombu keeps each delivered message in an index scored by delivery time and puts
    it back in its queue once it is older than the visibility timeout. A timeout longer than the longest task
    (training: up to the hard time limit) and the longest retry countdown (an hour) leaves a killed worker's
    tasks stuck that long; a short one alone delivers a long task twice. So a short timeout, and a thread that
    re-scores this worker's messages to "now" four times per timeout: they age only once the worker is gone.
    A thread, not the worker's event loop, because a task in the solo pool blocks that loop while it runs.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.stopped: threading.Event | None = None

    def start(self, consumer: Any) -> None:
        channel = consumer.task_consumer.channel
        if not hasattr(channel, "unacked_index_key"):  # not Redis: the embedded broker has no visibility timeout
            return
        self.stopped = threading.Event()
        threading.Thread(target=self._renew, args=(channel, self.stopped), name="broker-lease", daemon=True).start()

    def stop(self, consumer: Any) -> None:
        if self.stopped is not None:
            self.stopped.set()

    shutdown = stop

    @staticmethod
    def _renew(channel: Any, stopped: threading.Event) -> None:
        interval = channel.visibility_timeout / 4
        while not stopped.wait(interval):
            # kombu's QoS keeps the delivery tags this channel holds unacknowledged; XX renews only those still in
            # the index (a message acknowledged meanwhile is never put back).
            tags = list(channel.qos._delivered)
            if not tags:
                continue
            try:
                with channel.conn_or_acquire() as client:
                    client.zadd(channel.unacked_index_key, dict.fromkeys(tags, time.time()), xx=True)
            except Exception:  # the thread must outlive a broker outage: renew again at the next turn
                logger.warning("Could not renew %s unacknowledged messages.", len(tags), exc_info=True)


app = Celery("finai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name, routing_key=name) for name in ("scoring", "training", "analytics")]
app.steps["worker"].add(TaskLogContextStep)
app.steps["consumer"].add(BrokerLeaseRenewal)
app.autodiscover_tasks()


@setup_logging.connect(weak=False, dispatch_uid="finai_celery_logging")
def _logging_from_settings(**kwargs: Any) -> None:
    """Replace Celery's own log set-up with settings.LOGGING (its level is LOG_LEVEL, not `celery -l`)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
