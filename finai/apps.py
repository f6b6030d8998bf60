from __future__ import annotations

from django.apps import AppConfig


class FinaiConfig(AppConfig):
    name = "finai"
    verbose_name = "FinAI core"

    def ready(self) -> None:
        from finai import (
            checks,  # noqa: F401  (registers the deploy checks)
            login_throttle,  # noqa: F401  (counts failed sign-ins)
            metrics,  # noqa: F401  (counts Celery task failures and retries, in workers too)
            signals,  # noqa: F401  (connects the audit receivers)
        )
