"""Training a model version from a data snapshot, as a Celery job with recorded progress and lineage."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db import transaction

from analytics.engine.drift import drift_reference_fit
from analytics.engine.families import family_get
from analytics.engine.families.base import FittedModel, TrainingData
from analytics.engine.features import FeatureSpec, alternative_data_validate
from analytics.engine.mitigation import (
    MitigationMethod,
    family_params_for,
    mitigation_resolve,
)
from analytics.engine.policy import DEFAULT_POLICY
from analytics.engine.training import HOLDOUT_FRACTION, alternative_data_effect, model_train
from analytics.models import ALTERNATIVE_DATA_PARAM, LINEAGE_PARAM, DataSnapshot, ModelVersion
from analytics.services.data_snapshots import PROTECTED_PREFIX, TARGET_COLUMN, data_snapshot_frame
from finai.artifacts import artifact_store
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.protected_attributes import GROUP_ATTRIBUTES
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record
from finai.version import code_version

logger = logging.getLogger(__name__)

# Mitigation in training; each reads the protected attribute while training only. Methods that need it
# at decision time (group-specific thresholds) are refused by the engine: disparate treatment (ECOA).
MITIGATIONS = {
    "none": "no mitigation",
    "reweighing": "reweighing (Kamiran-Calders sample weights, any family)",
    "exponentiated_gradient": "exponentiated gradient (fairlearn reduction, scorecard family)",
    "adversarial": "adversarial debiasing (neural family)",
}


def training_params_validate(
    *, family: str, mitigation: str, params: dict[str, Any] | None, attributes: Iterable[str] = GROUP_ATTRIBUTES
) -> dict[str, Any]:
    """Validate family, mitigation and parameters before anything is queued; every problem named.

    `attributes` are the protected groupings of the data set, among which a mitigation chooses.
    """
    given = dict(params or {})
    lineage = given.pop(LINEAGE_PARAM, None)
    alternative = given.pop(ALTERNATIVE_DATA_PARAM, None) or {}
    if not isinstance(alternative, dict) or not all(isinstance(source, dict) for source in alternative.values()):
        raise ApplicationError(
            "Alternative data must name each feature with its source.",
            details={ALTERNATIVE_DATA_PARAM: "expected {feature: {source fields}}"},
        )
    alternative_data_validate(alternative)
    chosen = mitigation_resolve(method=mitigation, family=family, params=given, attributes=attributes)
    resolved = family_get(family).resolve_params(family_params_for(mitigation=chosen, params=given))
    extra = {LINEAGE_PARAM: lineage} if lineage else {}
    if alternative:
        extra[ALTERNATIVE_DATA_PARAM] = alternative
    return {**resolved, **chosen.as_params(), **extra}


def model_version_train_request(
    *,
    snapshot: DataSnapshot,
    family: str,
    requested_by: Any,
    mitigation: str = "",
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> ModelVersion:
    """Record a version in status `training` and queue its training on the `training` queue."""
    if requested_by is not None:
        ensure_role(requested_by, *MANAGER_ROLES)
    with transaction.atomic():
        version = model_version_create(
            snapshot=snapshot,
            family=family,
            requested_by=requested_by,
            mitigation=mitigation,
            params=params,
            seed=seed,
        )
        from analytics.tasks import train_model_version

        transaction.on_commit(lambda: train_model_version.delay(version.pk))
    return version


def model_version_create(
    *,
    snapshot: DataSnapshot,
    family: str,
    requested_by: Any,
    mitigation: str = "",
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> ModelVersion:
    """Record a version to train (status `training`), its parameters validated, and audit the request.

    The version belongs to the product its data set's schema names: products keep their own champions.

    Whoever trains it next calls `model_version_train`: the Celery task, or a search for alternatives
    that trains its candidates in turn.
    """
    resolved = training_params_validate(
        family=family, mitigation=mitigation, params=params, attributes=snapshot.dataset_schema.group_attributes
    )
    with transaction.atomic():
        version = ModelVersion.objects.create(
            product=snapshot.dataset_schema.product,
            family=family,
            snapshot=snapshot,
            params=resolved,
            mitigation=mitigation or MitigationMethod.NONE.value,
            seed=seed,
            trained_by=requested_by,
            progress_message="queued",
            code_version=code_version(),
        )
        audit_event_record(
            action="model.training_requested",
            actor=requested_by,
            object_type="model_version",
            object_id=version.pk,
            payload={
                "family": family,
                "mitigation": version.mitigation,
                "snapshot": snapshot.content_hash,
                "params": resolved,
                "seed": seed,
            },
        )
    return version


def snapshot_training_data(*, snapshot: DataSnapshot, alternative_data: tuple[str, ...] = ()) -> TrainingData:
    """A snapshot's rows as the engine trains on them (features, target, protected groups apart).

    Alternative-data features are read only when asked for, and must be columns of the snapshot.
    """
    frame = data_snapshot_frame(snapshot=snapshot)
    spec = FeatureSpec.from_schema(snapshot.dataset_schema).with_alternative_data(alternative_data)
    absent = {name: "is not a column of the data snapshot" for name in alternative_data if name not in frame.columns}
    if absent:
        raise ApplicationError("The snapshot lacks the alternative data asked for.", details=absent)
    protected_columns = [c for c in frame.columns if c.startswith(PROTECTED_PREFIX)]
    protected = frame[protected_columns].rename(columns=lambda c: c.removeprefix(PROTECTED_PREFIX))
    return TrainingData(
        features=frame[list(spec.names)].astype(object).where(frame[list(spec.names)].notna(), None),
        target=frame[TARGET_COLUMN].to_numpy(dtype=np.int64),
        protected=protected.astype(object).where(protected.notna(), None),
        spec=spec,
    )


def _drift_reference(*, data: TrainingData, model: FittedModel) -> dict[str, Any]:
    """The bins drift is measured on for this version: from every row it learnt from (training and
    holdout alike, the snapshot as a whole) and the model's probabilities of default on them."""
    reference = drift_reference_fit(
        features=data.features,
        kinds={feature.name: feature.kind for feature in data.spec.features},
        scores=model.predict_proba_default(data.features),
    )
    return reference.as_dict()


def _record_progress(version_id: int, percent: int, message: str) -> None:
    ModelVersion.objects.filter(pk=version_id).update(progress=max(0, min(100, int(percent))), progress_message=message)


class TrainingInProgressError(ApplicationError):
    """Another worker holds the training lease of this version."""

    def __init__(self, version_id: int, retry_in_seconds: float) -> None:
        super().__init__(f"Model version {version_id} is being trained by another worker.", code="in_progress")
        self.retry_in_seconds = retry_in_seconds


def _training_claim(version_id: int) -> bool:
    """Take the version's training lease (see `finai.leases`): never two trainings of one version at once."""
    return lease_take(
        ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.TRAINING), field="training_started_at"
    )


def model_version_train(*, version_id: int) -> ModelVersion:
    """Fit, evaluate on a stratified holdout, store the artifact and its hash; idempotent per version.

    A version that is no longer `training` (finished, or failed) is returned untouched, so a
    redelivered task never trains twice; one whose lease another worker holds raises
    TrainingInProgressError, so the task can look again later.
    """
    version = ModelVersion.objects.select_related("snapshot").get(pk=version_id)
    if version.status != ModelVersion.Status.TRAINING:
        return version
    if not _training_claim(version_id):
        version.refresh_from_db()
        if version.status != ModelVersion.Status.TRAINING:
            return version
        raise TrainingInProgressError(version_id, retry_in_seconds=60)
    try:
        _record_progress(version.pk, 2, "loading the data snapshot")
        alternative_data = tuple(version.alternative_data)
        policy = version.snapshot.dataset_schema.policy or DEFAULT_POLICY
        data = snapshot_training_data(snapshot=version.snapshot, alternative_data=alternative_data)
        # With alternative data, a second model without it is trained for comparison: fitting shares the bar.
        share = 0.6 if alternative_data else 0.9
        common = {
            "family": version.family,
            "data": data,
            "params": version.family_params,
            "seed": version.seed,
            "policy": policy,
            "holdout_fraction": HOLDOUT_FRACTION,
            "mitigation": version.mitigation_settings,
        }
        run = model_train(
            **common,
            progress=lambda percent, message: _record_progress(version.pk, 5 + int(percent * share), message),
        )
        effect = None
        if alternative_data:
            _record_progress(version.pk, 66, "training the comparison model without alternative data")
            effect = alternative_data_effect(run=run, features=alternative_data, **common)
        path, digest = artifact_store(
            name=f"models/{version.product}/v{version.pk}-{version.family}.finai", content=run.artifact
        )
        drift_reference = _drift_reference(data=data, model=run.model)
    except Exception as exc:
        logger.exception("training of model version %s failed", version.pk)
        message = str(exc) or type(exc).__name__
        with transaction.atomic():
            ModelVersion.objects.filter(pk=version.pk).update(
                status=ModelVersion.Status.FAILED, failure=message[:2000], progress_message="failed"
            )
            audit_event_record(
                action="model.training_failed",
                object_type="model_version",
                object_id=version.pk,
                payload={"error": message[:500]},
            )
        version.refresh_from_db()
        return version
    with transaction.atomic():
        version.status = ModelVersion.Status.CANDIDATE
        version.artifact_path, version.artifact_sha256 = path, digest
        version.metrics = {
            **run.evaluation["metrics"],
            "holdout_fraction": HOLDOUT_FRACTION,
            "train_rows": run.train_rows,
            "holdout_rows": run.holdout_rows,
            "policy": policy.as_dict(),
        }
        version.fairness = dict(run.evaluation["fairness"])
        if effect is not None:
            version.fairness["alternative_data_effect"] = effect
        version.explanations = {"feature_importance": run.importance}
        version.drift_reference = drift_reference
        version.training_seconds = run.seconds
        version.progress, version.progress_message = 100, "done"
        version.save()
        audit_event_record(
            action="model.trained",
            actor=version.trained_by,
            object_type="model_version",
            object_id=version.pk,
            payload={
                "family": version.family,
                "artifact_sha256": digest,
                "snapshot": version.snapshot.content_hash,
                "schema_sha256": version.snapshot.schema_sha256,
                "product": version.product,
                "policy_version": policy.version,
                "auc": version.metrics.get("auc"),
                "code_version": version.code_version,
            },
        )
    return version
