"""Use cases of the clustering app: create experiments, run them on a data set, store and serve segments."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from clustering.experiments import ExperimentConfig, experiment_assign, experiment_run, latent_projection
from clustering.models import ClusteringExperiment, ClusteringRun, SegmentAssignment
from clustering.selectors import experiment_series, segmentation_choice_problems
from clustering.series import amount_series_build
from finai.artifacts import artifact_load, artifact_store
from finai.errors import ApplicationError
from finai.roles import SEGMENTATION_ROLES, ensure_role
from finai.services import audit_event_record

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000


def clustering_experiment_create(
    *,
    name: str,
    configs: list[ExperimentConfig],
    series: str = ClusteringExperiment.Series.AMOUNTS,
    series_length: int | None = None,
    dataset: str = "berka",
    created_by: Any = None,
    enqueue: bool = True,
) -> ClusteringExperiment:
    """Record an experiment and one queued run per distinct configuration; queue them on commit.

    A person who starts one must hold a segmentation role; the command line (no person) may always.
    """
    if created_by is not None:
        ensure_role(created_by, *SEGMENTATION_ROLES)
    problems = {}
    if not name.strip():
        problems["name"] = "must not be empty"
    if series not in ClusteringExperiment.Series.values:
        problems["series"] = f"{series!r} is not one of {', '.join(ClusteringExperiment.Series.values)}"
    if series_length is not None and series_length < 2:
        problems["series_length"] = f"{series_length} is not >= 2"
    if not configs:
        problems["configs"] = "at least one configuration is needed"
    if problems:
        raise ApplicationError("Cannot create the clustering experiment.", details=problems)
    distinct = {config.key: config for config in configs}
    with transaction.atomic():
        experiment = ClusteringExperiment.objects.create(
            name=name, dataset=dataset, series=series, series_length=series_length, created_by=created_by
        )
        runs = ClusteringRun.objects.bulk_create(
            ClusteringRun.for_config(experiment=experiment, config=config) for config in distinct.values()
        )
        audit_event_record(
            action="clustering.experiment_created",
            actor=created_by,
            object_type="clustering_experiment",
            object_id=experiment.pk,
            payload={"name": name, "dataset": dataset, "series": series, "runs": len(runs)},
        )
        if enqueue:
            run_ids = list(experiment.runs.values_list("pk", flat=True))
            transaction.on_commit(lambda: clustering_runs_enqueue(run_ids=run_ids))
    return experiment


def clustering_experiment_resume(*, experiment: ClusteringExperiment, requested_by: Any) -> list[int]:
    """Queue an experiment's unfinished runs again (`cluster_grid --resume` from the web); audited.

    Finished runs are skipped by the task; a failed or abandoned run runs again, a running one is left to its
    worker by the run's lease.
    """
    ensure_role(requested_by, *SEGMENTATION_ROLES)
    with transaction.atomic():
        run_ids = list(
            experiment.runs.exclude(status=ClusteringRun.Status.FINISHED).order_by("pk").values_list("pk", flat=True)
        )
        if not run_ids:
            raise ApplicationError(
                "Every run of this experiment has finished.", details={"experiment": "nothing to run"}
            )
        audit_event_record(
            action="clustering.experiment_resumed",
            actor=requested_by,
            object_type="clustering_experiment",
            object_id=experiment.pk,
            payload={"runs": run_ids},
        )
        transaction.on_commit(lambda: clustering_runs_enqueue(run_ids=run_ids))
    return run_ids


def clustering_runs_enqueue(*, run_ids: list[int]) -> None:
    """Send each run to the analytics queue (a run that is already finished returns at once there)."""
    from clustering.tasks import run_clustering

    for run_id in run_ids:
        run_clustering.delay(run_id)


class RunInProgressError(ApplicationError):
    """Another worker holds the run's lease."""

    def __init__(self, run_id: int, retry_in_seconds: float) -> None:
        super().__init__(f"Clustering run {run_id} is being executed by another worker.", code="in_progress")
        self.retry_in_seconds = retry_in_seconds


def _run_claim(run_id: int) -> bool:
    """Take the run's lease: queued and failed runs may start; a running one only when its lease (the
    task's hard time limit) has expired, since its worker then died."""
    now = timezone.now()
    expired = now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = Q(status__in=[ClusteringRun.Status.QUEUED, ClusteringRun.Status.FAILED]) | Q(
        status=ClusteringRun.Status.RUNNING, started_at__lt=expired
    )
    return bool(
        ClusteringRun.objects.filter(claimable, pk=run_id).update(
            status=ClusteringRun.Status.RUNNING,
            started_at=now,
            attempts=models.F("attempts") + 1,
            failure="",
            progress=0,
        )
    )


def clustering_run_execute(*, run_id: int) -> ClusteringRun:
    """Train, cluster and score one run; store its metrics, model artifact and segment assignments.

    Idempotent: a finished run is returned untouched, so a grid can be resumed by queueing it again.
    """
    run = ClusteringRun.objects.select_related("experiment").get(pk=run_id)
    if run.status == ClusteringRun.Status.FINISHED:
        return run
    if not _run_claim(run_id):
        started = run.started_at or timezone.now()
        remaining = settings.CELERY_TASK_TIME_LIMIT - (timezone.now() - started).total_seconds()
        raise RunInProgressError(run_id, retry_in_seconds=max(60.0, remaining))
    try:
        series = experiment_series(experiment=run.experiment)
        result = experiment_run(
            series=series.values, config=ExperimentConfig.from_dict(run.config), on_progress=_progress_recorder(run_id)
        )
    except Exception as exc:
        logger.exception("clustering run %s failed", run_id)
        ClusteringRun.objects.filter(pk=run_id).update(status=ClusteringRun.Status.FAILED, failure=str(exc)[:2000])
        raise
    artifact_path, artifact_sha256 = artifact_store(name=f"clustering/run-{run_id}.pt", content=result.model_state)
    projection = latent_projection(result.latents)
    metrics = result.metrics()
    with transaction.atomic():
        run = ClusteringRun.objects.select_for_update().get(pk=run_id)
        SegmentAssignment.objects.filter(run=run).delete()
        SegmentAssignment.objects.bulk_create(
            (
                SegmentAssignment(
                    run=run,
                    account_reference=reference,
                    segment=int(segment),
                    in_train=bool(in_train),
                    projection_x=float(x),
                    projection_y=float(y),
                )
                for reference, segment, in_train, (x, y) in zip(
                    series.account_references, result.assignments, result.in_train, projection, strict=True
                )
            ),
            batch_size=BATCH_SIZE,
        )
        run.status = ClusteringRun.Status.FINISHED
        run.progress = 100
        run.finished_at = timezone.now()
        run.account_count = len(series.account_references)
        run.metrics = metrics
        run.silhouette_test = result.silhouette_test
        run.davies_bouldin_test = result.davies_bouldin_test
        run.degenerate = result.degenerate
        run.training_seconds = result.training_seconds
        run.artifact_path = artifact_path
        run.artifact_sha256 = artifact_sha256
        run.save()
        audit_event_record(
            action="clustering.run_finished",
            object_type="clustering_run",
            object_id=run.pk,
            payload={"config": run.config, "metrics": {key: metrics[key] for key in metrics if "losses" not in key}},
        )
    return run


# Training reaches 99% at most: the last percent is scoring and storing the segments.
TRAINING_PROGRESS_CEILING = 99


def _progress_recorder(run_id: int) -> Callable[[float], None]:
    """Writes the run's percent of epochs done when it changes (a run of many epochs writes at most 100 times)."""
    recorded = 0

    def record(share: float) -> None:
        nonlocal recorded
        percent = min(int(share * 100), TRAINING_PROGRESS_CEILING)
        if percent > recorded:
            ClusteringRun.objects.filter(pk=run_id, status=ClusteringRun.Status.RUNNING).update(progress=percent)
            recorded = percent

    return record


def segmentation_choose(*, run_id: int, chosen_by: Any) -> ClusteringRun:
    """Make a finished run the segmentation in use; the one chosen before steps down. Audited.

    Which runs qualify, and why, is `segmentation_choice_problems`.
    """
    ensure_role(chosen_by, *SEGMENTATION_ROLES)
    with transaction.atomic():
        run = ClusteringRun.objects.select_for_update().select_related("experiment").get(pk=run_id)
        problems = segmentation_choice_problems(run)
        if problems:
            raise ApplicationError("This run cannot be the segmentation in use.", details=problems)
        previous = ClusteringRun.objects.filter(chosen=True).exclude(pk=run.pk).first()
        if previous is not None:
            ClusteringRun.objects.filter(pk=previous.pk).update(chosen=False)
        run.chosen, run.chosen_by, run.chosen_at = True, chosen_by, timezone.now()
        run.save(update_fields=["chosen", "chosen_by", "chosen_at"])
        audit_event_record(
            action="clustering.segmentation_chosen",
            actor=chosen_by,
            object_type="clustering_run",
            object_id=run.pk,
            payload={"previous": previous.pk if previous else None, "config": run.config},
        )
    return run


def segments_assign(
    *, run_id: int, artifact_sha256: str, account_ids: np.ndarray, dates: np.ndarray, amounts: np.ndarray
) -> dict[Any, int]:
    """The segment of each account under a run, from its transactions (amounts signed, credits positive).

    The series are built as the run's were (the reference protocol, the run's length); the model is
    loaded only if its artifact still has the hash the caller recorded, so a model version keeps
    reading the segmentation it was trained with.
    """
    run = ClusteringRun.objects.select_related("experiment").get(pk=run_id)
    if run.artifact_sha256 != artifact_sha256:
        raise ApplicationError(
            "The segmentation changed since it was recorded.",
            details={"clustering_run": f"run {run_id} no longer has artifact {artifact_sha256[:12]}"},
            code="artifact_tampered",
        )
    if len(account_ids) == 0:
        return {}
    series = amount_series_build(account_ids=account_ids, dates=dates, amounts=amounts, length=run.metrics["length"])
    segments, _ = experiment_assign(
        model_state=artifact_load(path=run.artifact_path, sha256=run.artifact_sha256),
        config=ExperimentConfig.from_dict(run.config),
        series=series.values,
    )
    return {account: int(segment) for account, segment in zip(series.account_ids.tolist(), segments, strict=True)}
