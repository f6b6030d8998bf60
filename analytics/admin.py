"""Admin for the model registry: read-only, because training, promotion (four eyes) and rollback
are services that check gates and record the lineage and the audit trail."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import (
    DatasetSchemaRecord,
    DataSnapshot,
    FairnessReport,
    LdaSearch,
    ModelVersion,
    PromotionRequest,
)
from finai.admin import ReadOnlyModelAdmin
from finai.roles import COMPLIANCE_ROLES, REVIEWER_ROLES


@admin.register(DataSnapshot)
class DataSnapshotAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("dataset", "content_hash", "row_count", "period_start", "period_end", "created_at")
    list_filter = ("dataset",)
    search_fields = ("dataset", "content_hash")


@admin.register(DatasetSchemaRecord)
class DatasetSchemaRecordAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("name", "kind", "product", "schema_sha256", "origin", "updated_at")
    search_fields = ("name", "schema_sha256")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("__str__", "product", "family", "status", "progress", "created_at", "promoted_at")
    list_filter = ("status", "product", "family")
    search_fields = ("artifact_sha256", "code_version")


@admin.register(PromotionRequest)
class PromotionRequestAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("version", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status",)
    list_select_related = ("version", "requested_by", "decided_by")


@admin.register(FairnessReport)
class FairnessReportAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("title", "kind", "status", "model_version", "row_count", "created_by", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("title", "source_sha256", "dataset")


@admin.register(LdaSearch)
class LdaSearchAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("base_version", "status", "progress", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
