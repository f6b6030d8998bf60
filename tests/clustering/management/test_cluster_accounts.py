"""`cluster_accounts` and the run service: one configuration on the imported Berka accounts, stored."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from clustering import services
from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringExperiment, ClusteringRun, SegmentAssignment
from clustering.services import clustering_experiment_create, clustering_run_execute
from clustering.tasks import run_clustering
from finai.errors import ApplicationError
from finai.models import AuditEvent

pytestmark = pytest.mark.django_db

FAST = ["--epochs", "2", "--cluster-epochs", "1"]


@pytest.fixture
def imported(berka_folder) -> None:
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())


def cluster(*arguments: str) -> dict:
    out = StringIO()
    call_command("cluster_accounts", *arguments, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_it_stores_the_run_its_metrics_artifact_and_a_segment_for_every_account(
    imported, berka_folder, private_artifacts
):
    summary = cluster("--encoder", "fc", "--pretext", "mse", "--head", "kmeans", "--k", "3", "--seed", "1", *FAST)

    run = ClusteringRun.objects.get(pk=summary["run_id"])
    accounts = set(pd.read_csv(berka_folder / "trans_part.csv", sep=";")["account_id"])
    assignments = SegmentAssignment.objects.filter(run=run)
    assert run.status == ClusteringRun.Status.FINISHED
    assert {int(reference) for reference in assignments.values_list("account_reference", flat=True)} == accounts
    assert set(assignments.values_list("segment", flat=True)) <= {0, 1, 2}
    assert assignments.filter(in_train=True).count() == len(accounts) - len(accounts) // 2
    assert summary["accounts"] == len(accounts) == run.account_count
    assert run.metrics["clusters_found_train"] <= 3
    assert (run.silhouette_test is None) == run.degenerate
    assert hashlib.sha256((private_artifacts / run.artifact_path).read_bytes()).hexdigest() == run.artifact_sha256
    assert AuditEvent.objects.filter(action="clustering.run_finished", object_id=str(run.pk)).exists()


def test_it_runs_the_dtc_head_with_the_complexity_invariant_distance_on_weekly_series(imported):
    summary = cluster(
        "--encoder", "dtc", "--pretext", "vae", "--head", "dtc", "--distance", "cid",
        "--k", "2", "--seed", "0", "--series", "weekly", *FAST,
    )  # fmt: skip
    assert summary["config"]["distance"] == "cid"
    assert summary["series"] == "weekly"
    assert ClusteringRun.objects.get(pk=summary["run_id"]).status == ClusteringRun.Status.FINISHED


def test_it_refuses_a_distance_for_the_kmeans_head_and_names_the_field(imported):
    with pytest.raises(CommandError, match="distance"):
        cluster(
            "--encoder", "fc", "--pretext", "mse", "--head", "kmeans", "--distance", "cid", "--k", "2", "--seed", "0"
        )
    assert not ClusteringRun.objects.exists()


def test_it_explains_that_nothing_was_imported(db):
    with pytest.raises(CommandError, match="import_berka"):
        cluster("--encoder", "fc", "--pretext", "mse", "--head", "kmeans", "--k", "2", "--seed", "0", *FAST)


def make_run(**config: object) -> ClusteringRun:
    experiment = clustering_experiment_create(
        name="test", configs=[ExperimentConfig(epochs=1, **config)], enqueue=False
    )
    return experiment.runs.get()


def test_a_finished_run_is_not_run_again(imported, monkeypatch):
    run = clustering_run_execute(run_id=make_run(k=2).pk)
    monkeypatch.setattr(services, "experiment_run", lambda **_: pytest.fail("a finished run was trained again"))

    again = clustering_run_execute(run_id=run.pk)

    assert again.finished_at == run.finished_at
    assert run_clustering.apply(args=[run.pk]).get() == {"run_id": run.pk, "status": "finished"}


def test_a_failed_run_is_recorded_and_can_be_retried(imported, monkeypatch):
    run = make_run(k=2)
    real_run = services.experiment_run

    def crash(**_: object) -> None:
        raise RuntimeError("worker ran out of memory")

    monkeypatch.setattr(services, "experiment_run", crash)
    with pytest.raises(RuntimeError):
        clustering_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.failure, run.attempts) == ("failed", "worker ran out of memory", 1)

    monkeypatch.setattr(services, "experiment_run", real_run)
    run = clustering_run_execute(run_id=run.pk)
    assert (run.status, run.failure, run.attempts) == ("finished", "", 2)


def test_a_run_held_by_another_worker_is_left_to_it(imported):
    run = make_run(k=2)
    assert services._run_claim(run.pk)
    with pytest.raises(services.RunInProgressError):
        clustering_run_execute(run_id=run.pk)


def test_an_experiment_keeps_one_run_per_distinct_configuration_and_queues_them_on_commit(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(run_clustering, "delay", queued.append)
    configs = [ExperimentConfig(k=2), ExperimentConfig(k=2), ExperimentConfig(k=4)]

    with django_capture_on_commit_callbacks(execute=True):
        experiment = clustering_experiment_create(name="grid", configs=configs, series="weekly")

    assert experiment.runs.count() == 2
    assert sorted(queued) == sorted(experiment.runs.values_list("pk", flat=True))
    assert AuditEvent.objects.filter(action="clustering.experiment_created").count() == 1


def test_an_experiment_names_each_invalid_field(db):
    with pytest.raises(ApplicationError) as error:
        clustering_experiment_create(name=" ", configs=[], series="hourly", series_length=1, enqueue=False)
    assert set(error.value.details) == {"name", "configs", "series", "series_length"}
    assert not ClusteringExperiment.objects.exists()


GRID = ["--encoders", "fc", "--pretexts", "mse", "--heads", "kmeans", "--ks", "2", "--seeds", "0", "1", "--epochs", "1"]


def test_a_grid_runs_inline_and_resuming_it_skips_finished_runs(imported):
    out = StringIO()
    call_command("cluster_grid", *GRID, "--inline", stdout=out)

    experiment = ClusteringExperiment.objects.get()
    assert experiment.runs.count() == 6  # three reductions x two seeds
    assert set(experiment.runs.values_list("status", flat=True)) == {"finished"}
    assert "6 runs finished" in out.getvalue()

    again = StringIO()
    call_command("cluster_grid", "--resume", str(experiment.pk), "--inline", stdout=again)
    assert "[1/" not in again.getvalue()
    assert "6 runs finished" in again.getvalue()


def test_a_grid_is_queued_on_celery_by_default(db, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(run_clustering, "delay", queued.append)
    out = StringIO()
    call_command("cluster_grid", *GRID, "--distances", "euclidean", "cid", "--heads", "kmeans", "dtc", stdout=out)

    experiment = ClusteringExperiment.objects.get()
    assert sorted(queued) == sorted(experiment.runs.values_list("pk", flat=True))
    assert len(queued) == 2 * (3 + 2)  # seeds x (kmeans with three reductions + dtc with two distances)
    assert f"{len(queued)} runs queued" in out.getvalue()
