"""Admin for the core, and the admin base classes every app uses.

The audit trail is read-only for everyone, superusers included: the admin is a window on it, never a
way to change it. Writes the admin does allow on other models are themselves recorded in the trail.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from finai.models import AuditChainHead, AuditEvent
from finai.roles import COMPLIANCE_ROLES, Role, user_has_role
from finai.services import audit_event_record


class RoleViewModelAdmin(admin.ModelAdmin):
    """Staff holding one of `view_roles` may browse these records; writes still need Django permissions."""

    view_roles: tuple[str, ...] = (Role.ADMIN,)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or user_has_role(request.user, *self.view_roles)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) or user_has_role(request.user, *self.view_roles)


class ReadOnlyModelAdmin(RoleViewModelAdmin):
    """For records whose writes must go through services (audit, four eyes, reproducibility)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AuditedModelAdmin(RoleViewModelAdmin):
    """Records every add, change and delete made in the admin; changed field names only, never values."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._record(request, "admin.changed" if change else "admin.added", obj, sorted(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self._record(request, "admin.deleted", obj, [])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._record(request, "admin.deleted", obj, [])
            super().delete_queryset(request, queryset)

    def _record(self, request: HttpRequest, action: str, obj: Model, fields: list[str]) -> None:
        audit_event_record(
            action=action,
            actor=request.user,
            object_type=obj._meta.label_lower,
            object_id=obj.pk,
            payload={"fields": fields},
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("sequence", "occurred_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "object_type", "object_id")
    date_hierarchy = "occurred_at"
    ordering = ("-sequence",)
    show_full_result_count = False


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyModelAdmin):
    view_roles = COMPLIANCE_ROLES
    list_display = ("id", "sequence", "hash")
