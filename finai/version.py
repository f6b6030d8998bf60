"""The code version recorded with every trained model (lineage)."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path


@functools.cache
def code_version() -> str:
    """`FINAI_CODE_VERSION` when set (a deployed build), else the git commit, else "unknown"."""
    configured = os.environ.get("FINAI_CODE_VERSION", "").strip()
    if configured:
        return configured
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"
