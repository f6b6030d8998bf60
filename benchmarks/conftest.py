"""Benchmarks measure production paths (COPY into Postgres), so they refuse to run on anything else."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.exit(
            "The benchmarks time bulk loading into Postgres: set DATABASE_URL=postgres://... "
            "(pytest-django creates and drops its own test_<name> database).",
            returncode=3,
        )
