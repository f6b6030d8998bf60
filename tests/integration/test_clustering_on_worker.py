"""A clustering grid through a real Celery worker on the analytics queue: queued, finished, resumed."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from clustering.models import ClusteringExperiment, ClusteringRun, SegmentAssignment
from tests.lending.berka_files import berka_subset

pytestmark = [pytest.mark.integration]


def _wait_until_finished(experiment: ClusteringExperiment, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not experiment.runs.exclude(status=ClusteringRun.Status.FINISHED).exists():
            return
        time.sleep(0.3)
    statuses = list(experiment.runs.values_list("pk", "status", "failure"))
    pytest.fail(f"runs did not finish on the worker: {statuses}; see var/test-worker-*.log")


def test_a_grid_runs_on_the_worker_and_resuming_it_reruns_only_the_unfinished_runs(
    celery_worker_process, transactional_db, tmp_path
):
    berka_subset(tmp_path / "berka", accounts=40)
    call_command("import_berka", path=str(tmp_path / "berka"), stdout=StringIO())
    grid = ["--encoders", "fc", "--pretexts", "mse", "--heads", "kmeans", "--reductions", "none", "umap"]
    out = StringIO()

    call_command("cluster_grid", *grid, "--ks", "2", "--seeds", "0", "--epochs", "2", "--name", "worker", stdout=out)

    experiment = ClusteringExperiment.objects.get(name="worker")
    assert "2 runs queued on the analytics queue" in out.getvalue()
    _wait_until_finished(experiment)
    finished = {run.pk: run.finished_at for run in experiment.runs.all()}
    assert all(SegmentAssignment.objects.filter(run_id=pk).exists() for pk in finished)

    crashed = experiment.runs.order_by("pk").first()
    ClusteringRun.objects.filter(pk=crashed.pk).update(status=ClusteringRun.Status.FAILED, failure="worker lost")
    out = StringIO()
    call_command("cluster_grid", "--resume", str(experiment.pk), stdout=out)

    assert "1 runs queued" in out.getvalue()
    _wait_until_finished(experiment)
    rerun = ClusteringRun.objects.get(pk=crashed.pk)
    assert rerun.attempts == 2
    assert rerun.failure == ""
    untouched = experiment.runs.exclude(pk=crashed.pk).get()
    assert untouched.attempts == 1
    assert untouched.finished_at == finished[untouched.pk]


def test_the_demo_segmentation_is_clustered_on_the_worker_and_its_best_run_chosen(
    celery_worker_process, transactional_db, tmp_path, settings
):
    settings.DEBUG = True
    berka_subset(tmp_path / "berka", accounts=40)
    call_command("import_berka", path=str(tmp_path / "berka"), stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()

    call_command("ensure_demo_segmentation", stdout=out)

    chosen = ClusteringRun.objects.get(chosen=True)
    scored = ClusteringRun.objects.filter(experiment=chosen.experiment, degenerate=False)
    assert chosen.silhouette_test == max(scored.values_list("silhouette_test", flat=True))
    assert chosen.chosen_by.username == "demo_manager"
    assert f"Run {chosen.pk}" in out.getvalue()
    call_command("ensure_demo_segmentation", stdout=(again := StringIO()))
    assert "already in use" in again.getvalue()
