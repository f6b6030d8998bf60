"""Helpers shared by the partner API tests."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.test import Client

from lending.api.openapi import EXAMPLE_APPLICATION


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def application_body(**changes: Any) -> dict[str, Any]:
    """The documented example application, with top-level parts replaced."""
    body = copy.deepcopy(EXAMPLE_APPLICATION)
    body.update(changes)
    return body


def submit(
    client: Client, key: str, body: Any, *, idempotency_key: str | None = None, mode: str = "sync", **extra: Any
) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key or uuid.uuid4().hex, **bearer(key), **extra}
    return client.post(f"/api/v1/applications/?mode={mode}", body, content_type="application/json", **headers)
