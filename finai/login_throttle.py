"""Sign-in throttling: too many failed sign-ins for one username from one address lock that pair out for a while.

Counts live in the cache (Redis in production, so every web process shares them), keyed by a hash of the username
and the address: the portal's form and the admin's both authenticate through `ThrottledModelBackend`, so both are
covered. A pair that reaches `LOGIN_FAILURE_LIMIT` failures is refused, even with the right password, until
`LOGIN_LOCKOUT_SECONDS` have passed since its last failure; the lockout is recorded in the audit trail once. A
success forgets the pair's failures. Locking per pair rather than per account keeps a guesser elsewhere from locking
an officer out of her own desk.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from finai.services import audit_event_record

LOCKED_OUT_MESSAGE = "Too many failed sign-ins for this account from your address: try again in {minutes} minutes."
_KEY_PREFIX = "finai:login-failures:"
_USERNAME_MAX_LENGTH = 150


def _remote_addr(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(*, username: str, remote_addr: str) -> str:
    pair = f"{username.strip().lower()}\n{remote_addr}".encode()
    return _KEY_PREFIX + hashlib.sha256(pair).hexdigest()


def login_throttle_locked(*, username: str, remote_addr: str) -> bool:
    """True while this username and address have failed too often to be let in, whatever the password."""
    return (cache.get(_key(username=username, remote_addr=remote_addr)) or 0) >= settings.LOGIN_FAILURE_LIMIT


def login_throttle_message() -> str:
    return LOCKED_OUT_MESSAGE.format(minutes=max(1, round(settings.LOGIN_LOCKOUT_SECONDS / 60)))


def login_failure_record(*, username: str, remote_addr: str) -> None:
    """Count one failure; the one that reaches the limit locks the pair out and is audited."""
    key = _key(username=username, remote_addr=remote_addr)
    window = settings.LOGIN_LOCKOUT_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, failures := 1, timeout=window)
    if failures < settings.LOGIN_FAILURE_LIMIT:
        return
    cache.touch(key, timeout=window)  # the lockout lasts the window from the latest failure
    if failures == settings.LOGIN_FAILURE_LIMIT:
        audit_event_record(
            action="auth.lockout",
            actor_label="anonymous",
            object_type="auth.user",
            payload={
                "username": username[:_USERNAME_MAX_LENGTH],
                "remote_addr": remote_addr,
                "failures": failures,
                "lockout_seconds": window,
            },
        )


def login_throttle_reset(*, username: str, remote_addr: str) -> None:
    cache.delete(_key(username=username, remote_addr=remote_addr))


class ThrottledModelBackend(ModelBackend):
    """Django's model backend, refusing a locked-out username and address before looking at the password.

    `PermissionDenied` stops `authenticate()` at this backend and is reported as a failed sign-in.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if name is not None and login_throttle_locked(username=str(name), remote_addr=_remote_addr(request)):
            raise PermissionDenied(login_throttle_message())
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed, dispatch_uid="finai_login_throttle_failure")
def _count_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = str(credentials.get(get_user_model().USERNAME_FIELD, ""))
    if username:
        login_failure_record(username=username, remote_addr=_remote_addr(request))


@receiver(user_logged_in, dispatch_uid="finai_login_throttle_success")
def _forget_failures(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    login_throttle_reset(username=user.get_username(), remote_addr=_remote_addr(request))
