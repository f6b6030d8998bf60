from __future__ import annotations

from django.apps import AppConfig


class FinaiConfig(AppConfig):
    name = "finai"
    verbose_name = "FinAI core"

    def ready(self) -> None:
        from finai import (
            metrics,  # noqa: F401  (counts Celery task failures and retries, in workers too)
            signals,  # noqa: F401  (connects the audit receivers)
        )
