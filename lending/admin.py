"""Admin for lending records.

Protected attributes (ECOA / Regulation B) are visible here to compliance officers only, superusers
included in the refusal; no other page shows, filters or searches by them. Applications, decisions,
overrides and API keys are read-only: their writes go through services that enforce the state
machine, keep decisions reproducible and show a key only once. The Berka research tables are not
listed (`tests/finai/test_admin.py` exempts them by name): their clients' sex and birth dates are for
compliance staff only, through `lending.selectors.segment_owner_protected_attributes`.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from finai.admin import AuditedModelAdmin, ReadOnlyModelAdmin
from finai.protected_attributes import GROUP_ATTRIBUTES
from finai.roles import REVIEWER_ROLES, Role, can_read_protected_attributes, user_has_role
from lending.models import (
    Applicant,
    BankAccount,
    Batch,
    BatchItem,
    Decision,
    IdempotencyRecord,
    Loan,
    LoanApplication,
    Override,
    Partner,
    PartnerApiKey,
    PartnerWebhookSecret,
    ProtectedAttributes,
    RepaymentOutcome,
    Transaction,
    WebhookDelivery,
)
from lending.services.partners import partner_api_key_revoke


@admin.register(Applicant)
class ApplicantAdmin(AuditedModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("reference", "full_name", "source", "created_at")
    list_filter = ("source",)
    search_fields = ("reference", "full_name", "email")


@admin.register(ProtectedAttributes)
class ProtectedAttributesAdmin(AuditedModelAdmin):
    view_roles = (Role.COMPLIANCE_OFFICER,)
    list_display = ("applicant", *GROUP_ATTRIBUTES)
    list_filter = ("sex", "age_band", "marital_status")
    search_fields = ("applicant__reference",)
    raw_id_fields = ("applicant",)
    list_select_related = ("applicant",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_read_protected_attributes(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_read_protected_attributes(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_read_protected_attributes(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_read_protected_attributes(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_read_protected_attributes(request.user) and super().has_delete_permission(request, obj)


@admin.register(BankAccount)
class BankAccountAdmin(AuditedModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("reference", "applicant", "opened_on", "source")
    list_filter = ("source",)
    search_fields = ("reference", "applicant__reference")
    raw_id_fields = ("applicant",)


@admin.register(Transaction)
class TransactionAdmin(AuditedModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("account", "booked_on", "amount", "balance", "kind", "operation", "category")
    list_filter = ("kind",)
    search_fields = ("account__reference", "reference")
    raw_id_fields = ("account",)
    list_select_related = ("account",)
    date_hierarchy = "booked_on"
    show_full_result_count = False


@admin.register(Partner)
class PartnerAdmin(AuditedModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("name", "is_active", "rate_limit", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(ReadOnlyModelAdmin):
    """Keys are issued by `create_partner` (the secret is shown once) and revoked here, at once and audited."""

    view_roles = (Role.ADMIN,)
    list_display = ("prefix", "partner", "label", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("partner",)
    exclude = ("key_hash",)
    actions = ("revoke",)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.ADMIN)

    @admin.action(description="Revoke the selected keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            partner_api_key_revoke(key=key, actor=request.user)
        self.message_user(request, f"{len(keys)} key{'s' if len(keys) != 1 else ''} revoked.")


@admin.register(LoanApplication)
class LoanApplicationAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("reference", "applicant", "channel", "product", "amount", "term_months", "status", "submitted_at")
    list_filter = ("status", "channel", "product")
    search_fields = ("reference", "applicant__reference")
    list_select_related = ("applicant",)
    date_hierarchy = "submitted_at"
    show_full_result_count = False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("application", "outcome", "probability_of_default", "score", "model_version", "is_shadow")
    list_filter = ("outcome", "is_shadow")
    search_fields = ("application__reference",)
    list_select_related = ("application", "model_version")
    date_hierarchy = "decided_at"
    show_full_result_count = False


@admin.register(Override)
class OverrideAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = (
        "decision",
        "outcome_before",
        "outcome_after",
        "status",
        "overridden_by",
        "approved_by",
        "rejected_by",
        "created_at",
    )
    list_filter = ("status", "outcome_before", "outcome_after")
    list_select_related = ("decision", "overridden_by", "approved_by", "rejected_by")


@admin.register(Loan)
class LoanAdmin(AuditedModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("application", "principal", "term_months", "funded_on", "status", "ended_on")
    list_filter = ("status",)
    search_fields = ("application__reference",)
    raw_id_fields = ("application",)
    list_select_related = ("application",)


@admin.register(RepaymentOutcome)
class RepaymentOutcomeAdmin(AuditedModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("loan", "status", "days_past_due", "as_of", "recorded_at")
    list_filter = ("status",)
    raw_id_fields = ("loan",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    view_roles = (Role.ADMIN,)
    list_display = ("scope", "key", "response_status", "created_at")
    search_fields = ("scope", "key")


@admin.register(Batch)
class BatchAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("pk", "partner", "status", "total", "created_at", "completed_at")
    list_filter = ("status",)


@admin.register(BatchItem)
class BatchItemAdmin(ReadOnlyModelAdmin):
    view_roles = REVIEWER_ROLES
    list_display = ("batch", "row", "status", "application")
    list_filter = ("status",)


@admin.register(PartnerWebhookSecret)
class PartnerWebhookSecretAdmin(ReadOnlyModelAdmin):
    """Registered so it is accounted for; nobody reads a signing secret in the admin."""

    view_roles = ()
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    view_roles = (Role.ADMIN,)
    list_display = ("partner", "application", "event", "status", "attempts", "last_status_code", "delivered_at")
    list_filter = ("status", "event")
