"""Finished clustering runs recorded directly, for tests of what reads them (pages, segments as features)."""

from __future__ import annotations

from typing import Any

from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringExperiment, ClusteringRun


def finished_run_record(*, experiment_name: str, config: ExperimentConfig, **fields: Any) -> ClusteringRun:
    """A finished, non-degenerate run of `config` in a new experiment; `fields` set anything else."""
    run = ClusteringRun.for_config(
        experiment=ClusteringExperiment.objects.create(name=experiment_name),
        config=config,
        status=ClusteringRun.Status.FINISHED,
        degenerate=False,
        **fields,
    )
    run.save(force_insert=True)
    return run
