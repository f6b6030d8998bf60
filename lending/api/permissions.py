"""Who may call the API: partners (their own data only) and staff holding a FinAI role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from finai.roles import LENDING_READER_ROLES, OFFICER_ROLES, user_has_role
from lending.api.authentication import PartnerPrincipal


def request_partner(request: Request) -> Any:
    """The partner behind the request, or None for staff (who see every partner's records)."""
    user = request.user
    return user.partner if isinstance(user, PartnerPrincipal) else None


def request_scope(request: Request) -> str:
    """Whose Idempotency-Keys these are: one namespace per partner, and per staff user."""
    partner = request_partner(request)
    return f"partner:{partner.pk}" if partner is not None else f"user:{request.user.pk}"


class IsPartnerOrStaff(BasePermission):
    """Partners may use every operation; staff read as officers or reviewers (not analysts, who hold no lending
    records) and write as loan officer or admin."""

    message = "This requires a partner API key, or a staff role (loan officer or admin to submit)."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, PartnerPrincipal):
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        if request.method in SAFE_METHODS:
            return user_has_role(user, *LENDING_READER_ROLES)
        return user_has_role(user, *OFFICER_ROLES)
