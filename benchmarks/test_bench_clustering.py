"""Benchmarks of the clustering engine (`make bench`): series building and one configuration's training.

Targets from the issue: series from 10^6 transactions in at most 5 s; one configuration trained on
4,500 series (the Berka account count) in at most 60 s, on this machine's CPU (two cores, two torch threads).
The benchmarks' conftest asks for a Postgres DATABASE_URL; these two do not touch the database.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from clustering.experiments import ExperimentConfig, experiment_run
from clustering.series import amount_series_build, calendar_series_build
from clustering.synthetic import synthetic_transactions_generate

TRANSACTIONS = 1_000_000
ACCOUNTS = 4_500
BERKA_LONGEST_SERIES = 675  # transactions of the busiest account in the full Berka table


@pytest.fixture(scope="module")
def million_transactions() -> dict[str, np.ndarray]:
    """A table shaped like Berka's: 4,500 accounts over six years, in booking (not account) order."""
    rng = np.random.default_rng(0)
    days = np.sort(rng.integers(0, 6 * 365, TRANSACTIONS))
    return {
        "account_ids": rng.integers(1, ACCOUNTS + 1, TRANSACTIONS),
        "dates": np.datetime64("1993-01-01") + days.astype("timedelta64[D]"),
        "amounts": rng.normal(0, 5_000, TRANSACTIONS).round(2),
        "balances": rng.normal(40_000, 10_000, TRANSACTIONS).round(2),
    }


def test_amount_series_from_a_million_transactions_take_at_most_5_seconds(million_transactions, figure):
    columns = {key: million_transactions[key] for key in ("account_ids", "dates", "amounts")}
    started = time.perf_counter()
    series = amount_series_build(**columns, length=BERKA_LONGEST_SERIES)
    seconds = time.perf_counter() - started
    print(f"\namount series: {TRANSACTIONS:,} transactions -> {series.values.shape} in {seconds:.2f} s")
    figure("series_build_1m_transactions", seconds, "s", limit=5, note="amount series")
    assert series.values.shape == (ACCOUNTS, BERKA_LONGEST_SERIES)
    figure("calendar_series_1m_transactions", seconds, "s", limit=5, note="weekly calendar series")
    assert seconds <= 5


def test_weekly_calendar_series_from_a_million_transactions_take_at_most_5_seconds(million_transactions, figure):
    started = time.perf_counter()
    series = calendar_series_build(**million_transactions, frequency="weekly")
    stacked = series.stacked()
    seconds = time.perf_counter() - started
    print(f"\nweekly calendar series: {TRANSACTIONS:,} transactions -> {stacked.shape} in {seconds:.2f} s")
    assert seconds <= 5


@pytest.fixture(scope="module")
def berka_sized_series() -> np.ndarray:
    """4,500 synthetic accounts as reference-protocol amount series of Berka's longest length."""
    synthetic = synthetic_transactions_generate(accounts_per_group=ACCOUNTS // 5, months=24, seed=0)
    table = synthetic.transactions
    series = amount_series_build(
        account_ids=table["account_id"], dates=table["date"], amounts=table["amount"], length=BERKA_LONGEST_SERIES
    )
    return series.values


BUDGET_SECONDS = 60
THREADS = 2


@pytest.mark.parametrize(
    "config",
    [
        ExperimentConfig(encoder="dtc", pretext="mse", head="dtc", k=4, epochs=10, threads=THREADS),
        ExperimentConfig(encoder="lstm", pretext="multi_rec", head="kmeans", k=4, epochs=10, threads=THREADS),
        ExperimentConfig(encoder="fc", pretext="vae", head="dtc", distance="cid", k=4, epochs=10, threads=THREADS),
        ExperimentConfig(encoder="resnet", pretext="mse", head="kmeans", k=4, epochs=10, threads=THREADS),
        ExperimentConfig(encoder="resnet", pretext="multi_rec", head="kmeans", k=4, epochs=10, threads=THREADS),
        # The slowest: pretraining, then as many epochs again refining the DTC layer.
        ExperimentConfig(encoder="resnet", pretext="mse", head="dtc", k=4, epochs=10, threads=THREADS),
    ],
    ids=lambda config: config.label,
)
def test_one_configuration_trains_on_4500_series_within_its_budget(berka_sized_series, config, figure):
    started = time.perf_counter()
    result = experiment_run(series=berka_sized_series, config=config)
    total = time.perf_counter() - started
    clustering_epochs = config.cluster_epochs if config.head == "dtc" else 0
    print(
        f"\n{config.label}: {berka_sized_series.shape[0]} series x {berka_sized_series.shape[1]} steps "
        f"(trained on the train half), {config.epochs} pretext + {clustering_epochs} clustering epochs, "
        f"{config.threads} threads: training {result.training_seconds:.1f} s, with scoring {total:.1f} s"
    )
    figure(f"clustering_fit[{config.label}]", result.training_seconds, "s", limit=BUDGET_SECONDS, note="4,500 series")
    assert result.training_seconds <= BUDGET_SECONDS
