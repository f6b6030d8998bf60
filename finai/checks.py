"""System checks for a production deploy (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core import checks
from django.core.files.storage import storages

STATIC_MANIFEST_MISSING = "finai.E001"


@checks.register(checks.Tags.staticfiles, deploy=True)
def static_manifest_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The hashed static storage reads its manifest for every `{% static %}`: without one (no `collectstatic`),
    every page answers 500 once DEBUG is off, so a deploy that forgot the step should not start."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    if settings.STATIC_ROOT and storage.exists(storage.manifest_name):
        return []
    return [
        checks.Error(
            f"The static files' manifest is missing from STATIC_ROOT ({settings.STATIC_ROOT}): with DEBUG off every "
            "page would answer 500.",
            hint="Run `python manage.py collectstatic --noinput` as part of the deploy, before the web server starts.",
            id=STATIC_MANIFEST_MISSING,
        )
    ]
