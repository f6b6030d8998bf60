"""A run reports its progress by epochs, for the progress bar of experiments started from the web; watching
changes nothing in the result."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from clustering import services
from clustering.experiments import ExperimentConfig, experiment_run
from clustering.models import ClusteringRun
from clustering.series import amount_series_build
from clustering.services import clustering_experiment_create, clustering_run_execute
from clustering.synthetic import synthetic_transactions_generate


@pytest.fixture(scope="module")
def amount_series() -> np.ndarray:
    table = synthetic_transactions_generate(accounts_per_group=8, months=3, seed=4).transactions
    return amount_series_build(account_ids=table["account_id"], dates=table["date"], amounts=table["amount"]).values


@pytest.mark.parametrize(
    ("config", "epochs"),
    [
        (ExperimentConfig(encoder="fc", head="kmeans", k=2, epochs=4), 4),
        (ExperimentConfig(encoder="fc", head="dtc", k=2, epochs=2, cluster_epochs=3), 5),
    ],
    ids=["kmeans", "dtc"],
)
def test_each_epoch_of_both_loops_is_reported_and_the_result_is_unchanged(amount_series, config, epochs):
    shares: list[float] = []

    watched = experiment_run(series=amount_series, config=config, on_progress=shares.append)
    unwatched = experiment_run(series=amount_series, config=config)

    assert shares == pytest.approx([(epoch + 1) / epochs for epoch in range(epochs)])
    assert np.array_equal(watched.assignments, unwatched.assignments)
    assert watched.silhouette_test == unwatched.silhouette_test


@pytest.mark.django_db
def test_a_run_on_the_worker_path_records_its_progress_and_ends_at_100(berka_folder, monkeypatch):
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())
    experiment = clustering_experiment_create(
        name="progress", configs=[ExperimentConfig(encoder="fc", k=2, epochs=4)], enqueue=False
    )
    run_id = experiment.runs.get().pk
    seen: list[int] = []
    recorder = services._progress_recorder

    def watched_recorder(watched_id: int):
        record = recorder(watched_id)

        def record_and_read(share: float) -> None:
            record(share)
            seen.append(ClusteringRun.objects.get(pk=watched_id).progress)

        return record_and_read

    monkeypatch.setattr(services, "_progress_recorder", watched_recorder)

    run = clustering_run_execute(run_id=run_id)

    assert seen == [25, 50, 75, 99]  # the last percent is scoring and storing the segments
    assert (run.status, run.progress) == ("finished", 100)
