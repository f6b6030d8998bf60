"""Planted behaviour groups are recovered (adjusted Rand index >= 0.8) by every encoder family.

200 synthetic accounts (40 per group) over a year, as weekly net flow and balance; each configuration
pretrains its autoencoder on the train half and refines a Deep Temporal Clustering layer (the paper's
FTHC recipe), then assigns the test half with the trained model. ARI is scored on all 200 accounts
against the planted groups. Seeds 0 to 4 of these configurations scored, on the machine this was
written on: fc 0.90 0.92 0.93 0.94 0.86; resnet 0.87 0.94 0.93 0.90 0.94; lstm 0.88 0.85 0.93 0.90
0.88; dtc 0.94 0.99 0.94 0.98 0.89. The test runs seed 0.

The k-means head is checked the same way, on UMAP of the ResNet latents (seeds 0 to 4: 0.94 0.87 0.96
0.93 0.94; without the reduction 0.99 0.90 0.97 0.94 0.96).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clustering.experiments import ExperimentConfig, experiment_run
from clustering.series import calendar_series_build
from clustering.synthetic import GROUPS, synthetic_transactions_generate

TRAINING = {"head": "dtc", "k": len(GROUPS), "cluster_epochs": 20, "batch_size": 16, "learning_rate": 3e-3}


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray]:
    synthetic = synthetic_transactions_generate(accounts_per_group=40, months=12, seed=1)
    table = synthetic.transactions
    weekly = calendar_series_build(
        account_ids=table["account_id"],
        dates=table["date"],
        amounts=table["amount"],
        balances=table["balance"],
        frequency="weekly",
    )
    return weekly.stacked(), synthetic.labels(weekly.account_ids)


@pytest.mark.parametrize(
    "config",
    [
        ExperimentConfig(encoder="fc", pretext="vae", epochs=30, **TRAINING),
        ExperimentConfig(encoder="resnet", pretext="multi_rec", epochs=40, **TRAINING),
        ExperimentConfig(encoder="lstm", pretext="mse", epochs=40, **TRAINING),
        ExperimentConfig(encoder="dtc", pretext="mse", epochs=40, **TRAINING),
        ExperimentConfig(
            encoder="resnet",
            pretext="mse",
            head="kmeans",
            reduction="umap",
            k=len(GROUPS),
            epochs=40,
            batch_size=16,
            learning_rate=3e-3,
        ),
    ],
    ids=lambda config: config.label,
)
def test_each_encoder_family_and_the_kmeans_head_recover_the_planted_groups(planted, config):
    series, groups = planted

    result = experiment_run(series=series, config=config)

    ari = adjusted_rand_score(groups, result.assignments)
    print(f"{config.label}: ARI {ari:.3f}")
    assert ari >= 0.8
    assert not result.degenerate
