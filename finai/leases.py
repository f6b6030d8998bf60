"""Leases on records that a worker processes, so a redelivered task never does the same work twice at once.

Tasks are acknowledged late (a worker that dies mid-task has its task redelivered), so two deliveries of one
task can overlap. The first takes the record's lease; a lease older than the task's hard time limit belonged
to a worker that died, so it may be taken over.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone


def lease_take(records: QuerySet, *, field: str, **also: object) -> bool:
    """Stamp `field` with now on the records whose lease is free or expired (and set `also`); True if taken."""
    now = timezone.now()
    expired = now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": expired})
    return bool(records.filter(claimable).update(**{field: now}, **also))
