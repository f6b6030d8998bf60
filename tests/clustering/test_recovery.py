"""Planted behaviour groups are recovered (adjusted Rand index >= 0.8) by every encoder family.

200 synthetic accounts (40 per group) over a year, as weekly net flow and balance; each configuration
pretrains its autoencoder on the train half and refines a Deep Temporal Clustering layer (the paper's
FTHC recipe), then assigns the test half with the trained model. ARI is scored on all 200 accounts
against the planted groups. Seeds 0 to 4 of these configurations scored, on the machine this was
written on: fc 0.90 0.92 0.93 0.94 0.87; resnet 0.89 0.86 0.96 0.95 0.94; lstm 0.90 0.84 0.91 0.90
0.95; dtc 0.93 0.98 0.94 0.99 0.71. The test runs seed 0.
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
    ],
    ids=lambda config: config.encoder,
)
def test_each_encoder_family_recovers_the_planted_groups(planted, config):
    series, groups = planted

    result = experiment_run(series=series, config=config)

    ari = adjusted_rand_score(groups, result.assignments)
    print(f"{config.label}: ARI {ari:.3f}")
    assert ari >= 0.8
    assert not result.degenerate
