"""Celery tasks of the analytics engine: thin, idempotent, each calls one service."""

from __future__ import annotations

from celery import Task, shared_task


@shared_task(bind=True, name="analytics.tasks.train_model_version", max_retries=None)
def train_model_version(self: Task, version_id: int) -> dict:
    """Train one queued model version (routed to the `training` queue).

    If another worker holds the version's training lease, look again later: it finishes (and this
    returns at once) or dies (and its lease expires, so this one trains).
    """
    from analytics.services.training_jobs import TrainingInProgressError, model_version_train

    try:
        version = model_version_train(version_id=version_id)
    except TrainingInProgressError as busy:
        raise self.retry(countdown=busy.retry_in_seconds) from busy
    return {"version_id": version.pk, "status": version.status}


@shared_task(name="analytics.tasks.train_lda_search")
def train_lda_search(search_id: int) -> dict:
    """Run one queued search for less discriminatory alternatives (it trains models: the `training` queue)."""
    from analytics.services.lda_searches import lda_search_run

    search = lda_search_run(search_id=search_id)
    return {"search_id": search.pk, "status": search.status}


@shared_task(name="analytics.tasks.run_fairness_report")
def run_fairness_report(report_id: int) -> dict:
    """Audit one requested fair-lending report of a model version or a decisions file."""
    from analytics.fairness_reports.services import fairness_report_run

    report = fairness_report_run(report_id=report_id)
    return {"report_id": report.pk, "status": report.status}
