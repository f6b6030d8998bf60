"""Admin for monitoring's records: read-only, since they are written by the workers that measure production."""

from __future__ import annotations

from django.contrib import admin

from finai.admin import ReadOnlyModelAdmin
from finai.roles import COMPLIANCE_ROLES, REVIEWER_ROLES
from monitoring.models import (
    Alert,
    Backtest,
    ChallengerComparison,
    CohortPerformance,
    MonitoringWindow,
    SegmentProxyCheck,
)


@admin.register(SegmentProxyCheck)
class SegmentProxyCheckAdmin(ReadOnlyModelAdmin):
    """Results name protected groups of account owners: compliance only (Regulation B)."""

    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "run", "status", "progress", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)


@admin.register(MonitoringWindow)
class MonitoringWindowAdmin(ReadOnlyModelAdmin):
    """Drift figures of live decisions: for the managers who govern the models and compliance who review them."""

    view_roles = REVIEWER_ROLES
    list_display = ("pk", "model_version", "period", "starts_at", "decisions", "measured_at")
    list_filter = ("period",)


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    """Alerts are acknowledged and resolved on the monitoring page (audited), never edited here."""

    view_roles = REVIEWER_ROLES
    list_display = ("pk", "rule", "subject", "severity", "status", "breaches", "first_breached_at", "last_breached_at")
    list_filter = ("rule", "status", "severity")
    search_fields = ("subject",)


@admin.register(CohortPerformance)
class CohortPerformanceAdmin(ReadOnlyModelAdmin):
    """Realised and estimated performance by cohort, written by the monitoring run."""

    view_roles = REVIEWER_ROLES
    list_display = ("pk", "model_version", "cohort", "loans", "mature", "as_of", "measured_at")
    list_filter = ("mature",)


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyModelAdmin):
    """Policy-lab runs: requested on the portal, computed by workers, never edited here."""

    view_roles = REVIEWER_ROLES
    list_display = ("pk", "status", "candidate", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)


@admin.register(ChallengerComparison)
class ChallengerComparisonAdmin(ReadOnlyModelAdmin):
    """Champion-against-challenger comparisons from shadow decisions, computed by workers."""

    view_roles = REVIEWER_ROLES
    list_display = ("pk", "status", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
