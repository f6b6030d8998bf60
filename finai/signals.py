"""Authentication events recorded in the audit trail: logins to admin functions are state changes.

Failed logins record the username attempted (truncated to the username field's length) and never
the password or any other credential.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from finai.services import audit_event_record

_USERNAME_MAX_LENGTH = 150


def _request_context(request: HttpRequest | None) -> dict[str, str]:
    if request is None:
        return {}
    return {"path": request.path, "remote_addr": request.META.get("REMOTE_ADDR", "")}


@receiver(user_logged_in, dispatch_uid="finai_audit_user_logged_in")
def record_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_event_record(
        action="auth.login",
        actor=user,
        object_type="auth.user",
        object_id=user.pk,
        payload=_request_context(request),
    )


@receiver(user_logged_out, dispatch_uid="finai_audit_user_logged_out")
def record_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit_event_record(
        action="auth.logout",
        actor=user,
        object_type="auth.user",
        object_id=user.pk,
        payload=_request_context(request),
    )


@receiver(user_login_failed, dispatch_uid="finai_audit_user_login_failed")
def record_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get(get_user_model().USERNAME_FIELD, ""))[:_USERNAME_MAX_LENGTH]
    audit_event_record(
        action="auth.login_failed",
        actor_label="anonymous",
        object_type="auth.user",
        payload={"username": username, **_request_context(request)},
    )
