"""Admin for clustering experiments: read-only, because runs are trained and stored by services that
record the artifact hash and the audit trail."""

from __future__ import annotations

from django.contrib import admin

from clustering.models import ClusteringExperiment, ClusteringRun
from finai.admin import ReadOnlyModelAdmin
from finai.roles import SEGMENTATION_ROLES


@admin.register(ClusteringExperiment)
class ClusteringExperimentAdmin(ReadOnlyModelAdmin):
    view_roles = SEGMENTATION_ROLES
    list_display = ("name", "dataset", "series", "series_length", "created_by", "created_at")
    list_filter = ("dataset", "series")
    search_fields = ("name",)


@admin.register(ClusteringRun)
class ClusteringRunAdmin(ReadOnlyModelAdmin):
    view_roles = SEGMENTATION_ROLES
    list_display = (
        "__str__",
        "experiment",
        "status",
        "silhouette_test",
        "davies_bouldin_test",
        "degenerate",
        "training_seconds",
    )
    list_filter = ("status", "encoder", "pretext", "head", "distance", "k", "degenerate")
    list_select_related = ("experiment",)
