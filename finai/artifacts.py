"""Content-addressed artifact storage: every byte that is loaded is first checked against its SHA-256."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from finai.errors import ApplicationError


def artifact_store(*, name: str, content: bytes) -> tuple[str, str]:
    """Save bytes under `name` in the artifact storage; return (stored path, sha256)."""
    digest = hashlib.sha256(content).hexdigest()
    storage = storages["artifacts"]
    path = storage.save(name, ContentFile(content))
    return path, digest


def artifact_load(*, path: str, sha256: str) -> bytes:
    """Read an artifact and refuse it if it does not match the hash recorded when it was stored."""
    storage = storages["artifacts"]
    if not path or not storage.exists(path):
        raise ApplicationError("The artifact is missing.", details={"artifact": path or "(none)"}, code="artifact")
    with storage.open(path, "rb") as handle:
        content = handle.read()
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise ApplicationError(
            "The artifact was modified after it was stored and will not be loaded.",
            details={"artifact": path, "expected_sha256": sha256, "actual_sha256": actual},
            code="artifact_tampered",
        )
    return content
