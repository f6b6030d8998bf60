"""The data sets clustering runs on, declared by the apps that hold them.

Clustering is an engine over data handed to it and never imports the apps that store transactions.
An app declares each of its data sets as a `ClusteringDataset`, and the CLUSTERING_DATASETS setting
maps an experiment's `dataset` to the declaration's dotted path, so a worker that runs a clustering
run by id finds its transactions with nothing but the run's row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from finai.errors import ApplicationError


@dataclass(frozen=True)
class ClusteringDataset:
    """What clustering reads from one data set.

    `transactions()`: one row per transaction in booking order (the tie-break within a day), with
    columns account_id (int), date (datetime64[D]), amount (signed: credits positive) and balance.
    `loans(account_ids)`, where the data set records loans: one row per loan of those accounts, with
    columns account_id and defaulted (bool), for the segment profiles' default rates.
    `load_hint` tells an operator how to fill the data set when it holds no transactions.
    """

    transactions: Callable[[], pd.DataFrame]
    load_hint: str
    loans: Callable[[list[int]], pd.DataFrame] | None = None


def dataset_get(name: str) -> ClusteringDataset:
    """The declared data set of this name; a setting that points at nothing stops with ImproperlyConfigured."""
    declared = settings.CLUSTERING_DATASETS
    if name not in declared:
        raise ApplicationError(
            "Unknown data set.", details={"dataset": f"{name!r} is not one of {', '.join(declared)}"}
        )
    path = declared[name]
    try:
        dataset = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"CLUSTERING_DATASETS[{name!r}]: cannot import {path!r} ({exc}).") from exc
    if not isinstance(dataset, ClusteringDataset):
        raise ImproperlyConfigured(f"CLUSTERING_DATASETS[{name!r}]: {path!r} is not a ClusteringDataset.")
    return dataset
