"""Celery tasks of the analytics engine: thin, idempotent, each calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="analytics.tasks.train_model_version", acks_late=True)
def train_model_version(version_id: int) -> dict:
    """Train one queued model version (routed to the `training` queue)."""
    from analytics.services.training import model_version_train

    version = model_version_train(version_id=version_id)
    return {"version_id": version.pk, "status": version.status}
