"""Celery tasks of the clustering app (routed to the `analytics` queue): thin, idempotent."""

from __future__ import annotations

from celery import Task, shared_task


@shared_task(bind=True, name="clustering.tasks.run_clustering", max_retries=None)
def run_clustering(self: Task, run_id: int) -> dict:
    """Execute one clustering run; a finished run returns at once, so a grid resumes by re-queueing.

    If another worker holds the run's lease, look again later: it finishes (and this returns at once)
    or dies (and its lease expires, so this one runs it).
    """
    from clustering.services import RunInProgressError, clustering_run_execute

    try:
        run = clustering_run_execute(run_id=run_id)
    except RunInProgressError as busy:
        raise self.retry(countdown=busy.retry_in_seconds) from busy
    return {"run_id": run.pk, "status": run.status}
