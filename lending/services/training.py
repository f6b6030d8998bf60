"""Training starts from the record: lending freezes a snapshot, the analytics engine learns from it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from analytics.engine.features import alternative_data_validate
from analytics.models import ALTERNATIVE_DATA_PARAM, ModelVersion
from analytics.services.dataset_schemas import dataset_schema_get
from analytics.services.training_jobs import (
    model_version_train_request,
    training_params_validate,
)
from lending.services.segments import SEGMENT_FEATURE, segmentation_source
from lending.services.snapshot_export import training_snapshot_export


def model_training_start(
    *,
    family: str,
    requested_by: Any,
    dataset: str,
    mitigation: str = "",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    alternative_data: Iterable[str] = (),
) -> ModelVersion:
    """Export (or reuse) the data set's snapshot and queue a version's training on the `training` queue.

    Family, mitigation and parameters are checked first, so their errors are named even before any data
    is loaded. `alternative_data` opts into features FinAI derives itself (the transaction segment);
    each is recorded with its source, and the version's fairness report compares it with a model
    trained without them. `dataset` is a data set's name or a schema file's path.
    """
    names = alternative_data_validate(alternative_data)
    sources = {name: segmentation_source() for name in names if name == SEGMENT_FEATURE}
    params = {**(params or {}), **({ALTERNATIVE_DATA_PARAM: sources} if sources else {})}
    schema = dataset_schema_get(dataset)
    training_params_validate(family=family, mitigation=mitigation, params=params, attributes=schema.group_attributes)
    snapshot = training_snapshot_export(schema=schema, created_by=requested_by, alternative_data=sources)
    return model_version_train_request(
        snapshot=snapshot,
        family=family,
        requested_by=requested_by,
        mitigation=mitigation,
        params=params,
        seed=seed,
    )
