"""Finished clustering runs recorded directly, for tests of what reads them (pages, segments as features)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringExperiment, ClusteringRun


def finished_run_record(*, experiment_name: str, config: ExperimentConfig, **fields: Any) -> ClusteringRun:
    """A finished, non-degenerate run of `config` in a new experiment; `fields` set anything else."""
    canonical = json.dumps(config.as_dict(), sort_keys=True)
    return ClusteringRun.objects.create(
        experiment=ClusteringExperiment.objects.create(name=experiment_name),
        config=config.as_dict(),
        config_key=hashlib.sha256(canonical.encode()).hexdigest(),
        encoder=config.encoder,
        pretext=config.pretext,
        head=config.head,
        distance=config.distance,
        k=config.k,
        reduction=config.reduction,
        seed=config.seed,
        status=ClusteringRun.Status.FINISHED,
        degenerate=False,
        **fields,
    )
