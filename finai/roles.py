"""The five staff roles, held as Django groups, and the checks every page and endpoint uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse


class Role(models.TextChoices):
    LOAN_OFFICER = "loan_officer", "Loan officer"
    MODEL_MANAGER = "model_manager", "Model risk manager"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    ANALYST = "analyst", "Analyst"
    ADMIN = "admin", "Administrator"


# Who may do what: the one definition of the role groups that pages, endpoints, services and the admin check.
# An administrator holds every permission.
OFFICER_ROLES = (Role.LOAN_OFFICER, Role.ADMIN)  # work applications: submit, override, notices
MANAGER_ROLES = (Role.MODEL_MANAGER, Role.ADMIN)  # train, search, promote and roll back models
COMPLIANCE_ROLES = (Role.COMPLIANCE_OFFICER, Role.ADMIN)  # fair-lending reports, audit trail
# Read the records others make (model versions, searches, segmentations, lending records in the admin): the
# managers who govern them and compliance, who review them.
REVIEWER_ROLES = (Role.MODEL_MANAGER, Role.COMPLIANCE_OFFICER, Role.ADMIN)
# Run clustering experiments and choose the segmentation in use: the analyst's work, and the managers', who govern
# what credit models read. An analyst holds no other group: no lending writes, no models, no protected attributes.
SEGMENTATION_ROLES = (Role.ANALYST, Role.MODEL_MANAGER, Role.ADMIN)
# Read experiments, runs and segment profiles: those who make them and compliance, who reviews them.
SEGMENT_READER_ROLES = (Role.ANALYST, *REVIEWER_ROLES)
# Read lending records through the API: every role that works them, governs models on them or reviews them; the
# analyst works on transaction series and segments, not on applicants' files (least privilege).
LENDING_READER_ROLES = (Role.LOAN_OFFICER, *REVIEWER_ROLES)


def user_roles(user: Any) -> set[str]:
    """The role names a user holds; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_finai_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        user._finai_roles = cached
    return cached


def user_has_role(user: Any, *roles: str) -> bool:
    """True when the user holds any of the roles."""
    return bool(user_roles(user) & set(roles))


def ensure_role(user: Any, *roles: str) -> None:
    """Raise PermissionDenied unless the user holds one of the roles."""
    if not user_has_role(user, *roles):
        raise PermissionDenied("This requires one of the roles: " + ", ".join(roles) + ".")


def can_read_protected_attributes(user: Any) -> bool:
    """Regulation B: protected attributes are for fairness measurement by compliance staff only."""
    return user_has_role(user, Role.COMPLIANCE_OFFICER)


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: anonymous users go to login, other roles get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            ensure_role(request.user, *roles)
            return view(request, *args, **kwargs)

        wrapped.required_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator
