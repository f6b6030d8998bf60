"""FinAI project package: settings, URLs, the Celery app and the core every app may use."""

from finai.celery import app as celery_app

__all__ = ("celery_app",)
