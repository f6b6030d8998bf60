"""Reads of the audit trail for the compliance search page."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Q, QuerySet

from finai.models import AuditEvent


def audit_event_search(
    *,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
    occurred_from: dt.date | None = None,
    occurred_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Events newest first; `action` matches a prefix ("model." finds every model event), `actor` a name."""
    events = AuditEvent.objects.select_related("actor").order_by("-sequence")
    if action:
        events = events.filter(action__startswith=action)
    if actor:
        events = events.filter(Q(actor_label__icontains=actor) | Q(actor__username__icontains=actor))
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if occurred_from:
        events = events.filter(occurred_at__date__gte=occurred_from)
    if occurred_to:
        events = events.filter(occurred_at__date__lte=occurred_to)
    return events


def audit_actions() -> list[str]:
    """The distinct actions recorded so far, for the search form's choices."""
    return sorted(AuditEvent.objects.order_by().values_list("action", flat=True).distinct())


def audit_object_types() -> list[str]:
    return sorted(t for t in AuditEvent.objects.order_by().values_list("object_type", flat=True).distinct() if t)


def audit_last_sequence() -> int:
    """The sequence of the newest event (0 for an empty trail): an export's cut-off, so that the export's own
    event, recorded as it starts, is not among the rows it counted."""
    return AuditEvent.objects.aggregate(last=Max("sequence"))["last"] or 0
