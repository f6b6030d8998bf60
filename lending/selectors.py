"""Reads of lending records that carry rules of their own."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from finai.roles import can_read_protected_attributes
from lending.models import Applicant, ProtectedAttributes


def protected_attributes_get(*, applicant: Applicant, viewer: Any) -> ProtectedAttributes | None:
    """An applicant's protected attributes, for compliance roles only (ECOA / Regulation B)."""
    if not can_read_protected_attributes(viewer):
        raise PermissionDenied("Protected attributes are readable by compliance officers only.")
    return ProtectedAttributes.objects.filter(applicant=applicant).first()
