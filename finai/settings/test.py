"""Test settings: base settings with HTTPS redirects off and a fast password hasher.

Several test runs may share one checkout, each with its own DATABASE_URL: each also gets its own
embedded-broker folder, so one run's worker never takes another run's tasks. The variable is set in
the environment so the worker process that the tests start inherits the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
_database_name = Path(urlsplit(os.environ.get("DATABASE_URL", "")).path).stem or "default"
os.environ.setdefault(
    "EMBEDDED_BROKER_DIR", str(Path(__file__).resolve().parents[2] / "var" / f"test-broker-{_database_name}")
)

from finai.settings.base import *  # noqa: E402, F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages render without `collectstatic`: plain static storage instead of the production manifest, and
# WhiteNoise looks files up on request instead of scanning a STATIC_ROOT that tests never build.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Each test empties the database, so a checkpoint file shared between tests would read as a rollback: the
# in-process tests get their own file (tests/conftest.py) and the test worker, whose tests share one, none.
AUDIT_CHECKPOINT_FILE = ""
# Counts of failed sign-ins outlive a test in Redis: tests that mean to be locked out lower the limit themselves.
LOGIN_FAILURE_LIMIT = 1000
