"""Content-addressed artifact storage: every byte that is loaded is first checked against its SHA-256."""

from __future__ import annotations

import hashlib
import logging
import os

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from finai.errors import ApplicationError

logger = logging.getLogger(__name__)


class ArtifactUnavailable(ApplicationError):
    """A stored artifact is missing or no longer matches its hash: whatever it decides cannot be trusted.

    The message names no path or hash: it may reach a partner or a page. The operator's details (the path, both
    hashes) go to the error log where the refusal happens, and the portal's integrity checks show them to staff.
    """

    CODES = frozenset({"artifact", "artifact_tampered"})

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)


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
        logger.error("artifact %s is missing (recorded SHA-256 %s)", path or "(none)", sha256)
        raise ArtifactUnavailable("The artifact is missing.", code="artifact")
    with storage.open(path, "rb") as handle:
        content = handle.read()
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        logger.error("artifact %s refused: its SHA-256 is %s, the registry records %s", path, actual, sha256)
        raise ArtifactUnavailable(
            "The artifact was modified after it was stored and will not be loaded.", code="artifact_tampered"
        )
    return content


def artifact_signature(path: str) -> tuple[int, int, int] | None:
    """(inode, size, modification time in ns) of an artifact on local storage, None elsewhere or if it is gone:
    a few microseconds to tell whether the file a process verified and holds in memory was replaced or altered."""
    storage = storages["artifacts"]
    try:
        found = os.stat(storage.path(path))
    except (NotImplementedError, OSError):
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns
