"""Admin for monitoring's records: read-only, since they are written by the workers that measure production."""

from __future__ import annotations

from django.contrib import admin

from finai.admin import ReadOnlyModelAdmin
from finai.roles import COMPLIANCE_ROLES
from monitoring.models import SegmentProxyCheck


@admin.register(SegmentProxyCheck)
class SegmentProxyCheckAdmin(ReadOnlyModelAdmin):
    """Results name protected groups of account owners: compliance only (Regulation B)."""

    view_roles = COMPLIANCE_ROLES
    list_display = ("pk", "run", "status", "progress", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
