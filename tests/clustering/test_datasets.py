"""An experiment reads the data set it names through the declaration CLUSTERING_DATASETS points to;
a name or a path that leads nowhere is refused by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ImproperlyConfigured

from clustering.datasets import ClusteringDataset, dataset_get
from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringExperiment
from clustering.selectors import experiment_series, segment_profiles
from finai.errors import ApplicationError
from tests.clustering.records import finished_run_record

TRANSACTIONS = pd.DataFrame(
    {
        "account_id": [1, 2, 1, 3, 2, 1],
        "date": np.array(["1997-01-02", "1997-01-03", "1997-01-05", "1997-01-05", "1997-02-01", "1997-02-03"]).astype(
            "datetime64[D]"
        ),
        "amount": [100.0, 50.0, -20.0, 10.0, -5.0, -30.0],
        "balance": [100.0, 50.0, 80.0, 10.0, 45.0, 50.0],
    }
)
THREE_ACCOUNTS = ClusteringDataset(transactions=TRANSACTIONS.copy, load_hint="run load_three_accounts")
NO_TRANSACTIONS = ClusteringDataset(transactions=TRANSACTIONS.iloc[:0].copy, load_hint="run load_three_accounts")
NOT_A_DATASET = TRANSACTIONS


@pytest.fixture(autouse=True)
def declared(settings) -> None:
    settings.CLUSTERING_DATASETS = {
        "three": f"{__name__}.THREE_ACCOUNTS",
        "empty": f"{__name__}.NO_TRANSACTIONS",
        "not_a_dataset": f"{__name__}.NOT_A_DATASET",
        "moved_away": "tests.clustering.no_such_module.DATASET",
    }


@pytest.mark.django_db
def test_an_experiment_reads_the_series_of_the_data_set_it_names():
    experiment = ClusteringExperiment.objects.create(name="three", dataset="three", series_length=3)

    series = experiment_series(experiment=experiment)

    assert series.account_references.tolist() == ["1", "2", "3"]
    assert series.values.shape == (3, 3)


@pytest.mark.django_db
def test_a_data_set_without_transactions_says_how_to_fill_it():
    experiment = ClusteringExperiment.objects.create(name="empty", dataset="empty")

    with pytest.raises(ApplicationError, match="run load_three_accounts"):
        experiment_series(experiment=experiment)


@pytest.mark.django_db
def test_profiles_of_a_data_set_that_records_no_loans_have_no_default_rate():
    run = finished_run_record(experiment_name="three", config=ExperimentConfig(k=2))
    ClusteringExperiment.objects.filter(pk=run.experiment_id).update(dataset="three")
    for account, segment in ((1, 0), (2, 1), (3, 1)):
        run.assignments.create(account_reference=str(account), segment=segment, in_train=True)
    run.refresh_from_db()

    profiles = segment_profiles(run=run)

    assert [(profile.segment, profile.accounts, profile.loans) for profile in profiles] == [(0, 1, 0), (1, 2, 0)]
    assert {profile.default_rate for profile in profiles} == {None}


def test_an_unknown_data_set_is_named():
    with pytest.raises(ApplicationError) as refused:
        dataset_get("hmda")

    assert "'hmda' is not one of three" in refused.value.details["dataset"]


@pytest.mark.parametrize("name", ["not_a_dataset", "moved_away"])
def test_a_setting_that_points_at_no_declaration_stops_with_improperly_configured(name):
    with pytest.raises(ImproperlyConfigured, match=rf"CLUSTERING_DATASETS\['{name}'\]"):
        dataset_get(name)
