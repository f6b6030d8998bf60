"""Training starts from the record: lending freezes a snapshot, the analytics engine learns from it."""

from __future__ import annotations

from typing import Any

from analytics.models import ModelVersion
from analytics.services.training import model_version_train_request, training_params_validate
from lending.services.snapshots import training_snapshot_export


def model_training_start(
    *,
    family: str,
    requested_by: Any,
    dataset: str = "german_credit",
    mitigation: str = "",
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> ModelVersion:
    """Export (or reuse) the data set's snapshot and queue a version's training on the `training` queue.

    Family, mitigation and parameters are checked first, so their errors are named even before any data
    is loaded.
    """
    training_params_validate(family=family, mitigation=mitigation, params=params)
    snapshot = training_snapshot_export(dataset=dataset, created_by=requested_by)
    return model_version_train_request(
        snapshot=snapshot,
        family=family,
        requested_by=requested_by,
        mitigation=mitigation,
        params=params,
        seed=seed,
    )
