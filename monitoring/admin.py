"""Admin for monitoring's records: read-only, since they are written by the workers that measure production."""

from __future__ import annotations

from django.contrib import admin

from finai.admin import ReadOnlyModelAdmin
from finai.roles import COMPLIANCE_ROLES, REVIEWER_ROLES
from monitoring.models import (
    AccountLabel,
    Alert,
    Backtest,
    CaseNote,
    ChallengerComparison,
    CohortPerformance,
    MonitoringWindow,
    ScenarioVersion,
    ScreenedTransaction,
    ScreeningAlert,
    ScreeningCase,
    ScreeningRun,
    ScreeningScenario,
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


# Transaction screening: compliance's records. Cases, scenarios and runs change only through their services
# (locks, four eyes, audit events), so the admin only reads them.


@admin.register(ScreenedTransaction)
class ScreenedTransactionAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = (
        "pk",
        "source",
        "external_id",
        "account",
        "counterparty",
        "amount",
        "direction",
        "kind",
        "booked_at",
    )
    list_filter = ("source", "direction", "kind")
    search_fields = ("account", "counterparty", "external_id")


@admin.register(AccountLabel)
class AccountLabelAdmin(ReadOnlyModelAdmin):
    """A data set's known answers, for measuring screening only."""

    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "source", "account", "suspicious", "typology")
    list_filter = ("source", "suspicious")
    search_fields = ("account",)


@admin.register(ScreeningScenario)
class ScreeningScenarioAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "name", "typology", "created_at")
    list_filter = ("typology",)


@admin.register(ScenarioVersion)
class ScenarioVersionAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "scenario", "number", "status", "enabled", "proposed_by", "reviewed_by", "proposed_at")
    list_filter = ("status", "enabled")


@admin.register(ScreeningRun)
class ScreeningRunAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "kind", "status", "period_start", "period_end", "requested_by", "created_at")
    list_filter = ("kind", "status")


@admin.register(ScreeningCase)
class ScreeningCaseAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "account", "status", "priority", "assigned_to", "disposition", "created_at", "closed_at")
    list_filter = ("status", "disposition")
    search_fields = ("account",)


@admin.register(ScreeningAlert)
class ScreeningAlertAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "account", "rule", "typology", "source", "score", "window_end", "case")
    list_filter = ("source", "typology")
    search_fields = ("account", "rule")


@admin.register(CaseNote)
class CaseNoteAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "case", "author", "created_at")
