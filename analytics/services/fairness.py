"""Fair-lending reports, computed by the engine and stored as records so that later audits can cite them.

Three sources: a model version's holdout decisions (rebuilt exactly as training split them), an uploaded
decisions file read through a dataset schema, and the live decisions of a time window (exported by
lending, which owns those records, and handed here as arrays). Each stored report is an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from analytics.fairness import (
    FairnessAudit,
    FairnessConfig,
    decisions_file_audit,
    decisions_file_read,
    fairness_report_compute,
    model_holdout_audit,
)
from analytics.families.base import FittedModel, TrainingData
from analytics.models import FairnessReport, ModelVersion
from analytics.policy import DEFAULT_POLICY, DecisionPolicy
from analytics.schema import SCHEMA_DIR, DatasetSchema, schema_load
from analytics.services.scoring import scorer_for_version
from analytics.services.training import snapshot_training_data, version_alternative_data
from analytics.training import HOLDOUT_FRACTION
from finai.errors import ApplicationError
from finai.roles import Role, ensure_role
from finai.services import audit_event_record

REPORTING_ROLES = (Role.COMPLIANCE_OFFICER, Role.ADMIN)
# Decisions files are audited through schemas of lender decisions (an approve/decline column).
AUDITABLE_SCHEMA_KIND = "decisions"
HASH_CHUNK = 1 << 20


def fairness_config(*, attributes: Sequence[str] = (), **overrides: Any) -> FairnessConfig:
    """The configured four-fifths threshold and minimum group size; intersections of two attributes.

    Pairs keep a report readable (each pair's groups are large enough to judge far more often than
    triples'), and every single attribute is always reported.
    """
    return FairnessConfig(
        four_fifths_threshold=settings.FAIRNESS_AIR_THRESHOLD,
        min_group_size=settings.FAIRNESS_MIN_GROUP_SIZE,
        intersections=tuple(combinations(attributes, 2)),
        **overrides,
    )


def _group_attributes(protected: pd.DataFrame) -> list[str]:
    return [str(c) for c in protected.columns if not pd.api.types.is_numeric_dtype(protected[c])]


def _report_store(
    *,
    kind: str,
    title: str,
    audit: FairnessAudit,
    requested_by: Any,
    parameters: dict[str, Any],
    **fields: Any,
) -> FairnessReport:
    results = audit.to_dict()
    with transaction.atomic():
        report = FairnessReport.objects.create(
            kind=kind,
            status=FairnessReport.Status.DONE,
            title=title[:200],
            row_count=audit.report.rows,
            parameters={**parameters, "config": audit.report.config.to_dict()},
            results=results,
            created_by=requested_by,
            **fields,
        )
        audit_event_record(
            action="fairness.report_created",
            actor=requested_by,
            object_type="fairness_report",
            object_id=report.pk,
            payload={
                "kind": kind,
                "title": report.title,
                "rows": report.row_count,
                "model_version": report.model_version_id,
                "dataset": report.dataset,
                "source_sha256": report.source_sha256,
                "window": [report.window_start, report.window_end] if kind == FairnessReport.Kind.WINDOW else None,
                "lowest_adverse_impact_ratio": lowest_adverse_impact_ratio(results),
            },
        )
    return report


def _may_report(requested_by: Any) -> None:
    if requested_by is not None:
        ensure_role(requested_by, *REPORTING_ROLES)


def version_policy(version: ModelVersion) -> DecisionPolicy:
    """The decision policy the version was evaluated under at training (recorded in its metrics)."""
    recorded = (version.metrics or {}).get("policy")
    return DecisionPolicy.from_dict(recorded) if recorded else DEFAULT_POLICY


def version_split(version: ModelVersion, data: TrainingData | None = None) -> tuple[TrainingData, TrainingData]:
    """The version's (training, holdout) rows, split from its snapshot exactly as training split them."""
    if version.snapshot_id is None:
        raise ApplicationError(
            "This version has no data snapshot to rebuild its holdout from.",
            details={"model_version": f"v{version.pk} was not trained from a snapshot"},
            code="invalid_fairness_input",
        )
    data = (
        data
        if data is not None
        else snapshot_training_data(
            snapshot=version.snapshot, alternative_data=tuple(version_alternative_data(version))
        )
    )
    fraction = (version.metrics or {}).get("holdout_fraction", HOLDOUT_FRACTION)
    return data.split(holdout_fraction=fraction, seed=version.seed)


def version_model(version: ModelVersion) -> FittedModel:
    """The version's fitted model, loaded (hash-checked) through the scoring cache."""
    if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED) or not version.artifact_path:
        raise ApplicationError(
            "Only a trained model version can be audited.",
            details={"model_version": f"v{version.pk} is {version.get_status_display().lower()}"},
            code="invalid_fairness_input",
        )
    return scorer_for_version(version).model


def version_holdout_audit(
    *, version: ModelVersion, data: TrainingData | None = None, config: FairnessConfig | None = None
) -> FairnessAudit:
    """The engine's audit of the version's holdout decisions under its policy (nothing is stored)."""
    model = version_model(version)
    _, holdout = version_split(version, data)
    return model_holdout_audit(
        probability_of_default=model.predict_proba_default(holdout.features),
        defaulted=holdout.target,
        protected=holdout.protected,
        policy=version_policy(version),
        config=config or fairness_config(attributes=_group_attributes(holdout.protected)),
    )


def model_version_fairness_report_create(*, version: ModelVersion, requested_by: Any = None) -> FairnessReport:
    """Audit a version's holdout decisions (approval = PD under the policy's cut-off) and store the report."""
    _may_report(requested_by)
    audit = version_holdout_audit(version=version)
    policy = version_policy(version)
    return _report_store(
        kind=FairnessReport.Kind.MODEL_VERSION,
        title=f"v{version.pk} {version.family} holdout",
        audit=audit,
        requested_by=requested_by,
        parameters={"policy": policy.as_dict(), "holdout_fraction": version.metrics.get("holdout_fraction")},
        model_version=version,
        dataset=version.snapshot.dataset,
    )


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_schemas() -> list[DatasetSchema]:
    """Every dataset schema in data/schemas/, by name."""
    return [schema_load(path) for path in sorted(SCHEMA_DIR.glob("*.yaml"))]


def decisions_schema_names() -> list[str]:
    """The schemas a decisions file can be audited through: those with a decision column."""
    return [schema.name for schema in dataset_schemas() if schema.kind == AUDITABLE_SCHEMA_KIND]


def decisions_file_fairness_report_create(
    *,
    path: str | Path,
    schema_name: str,
    controls: Sequence[str] = (),
    source_name: str = "",
    requested_by: Any = None,
) -> FairnessReport:
    """Audit an uploaded decisions file through its schema and store the report with the file's SHA-256.

    "Bring your own decisions": no code changes, the schema says which column is the decision, which
    are protected and which are credit factors; `controls` (credit factors) add the regression-adjusted
    disparity of every protected attribute.
    """
    _may_report(requested_by)
    schemas = {schema.name: schema for schema in dataset_schemas()}
    schema = schemas.get(schema_name)
    if schema is None:
        raise ApplicationError(
            "Unknown dataset schema.",
            details={"schema": f"{schema_name!r} is not one of {', '.join(sorted(schemas))} (data/schemas/)"},
            code="invalid_fairness_input",
        )
    if schema.kind != AUDITABLE_SCHEMA_KIND:
        raise ApplicationError(
            "This schema describes repayment outcomes, not decisions.",
            details={"schema": f"{schema.name!r} has no decision column; audit a model version's holdout instead"},
            code="invalid_fairness_input",
        )
    attributes = list(decisions_file_read(path=path, schema=schema).protected.columns)
    audit = decisions_file_audit(
        path=path, schema=schema, controls=list(controls), config=fairness_config(attributes=attributes)
    )
    name = source_name or Path(path).name
    return _report_store(
        kind=FairnessReport.Kind.FILE,
        title=f"{name} ({schema.name})",
        audit=audit,
        requested_by=requested_by,
        parameters={"file_name": name, "controls": list(controls)},
        dataset=schema.name,
        source_sha256=file_sha256(path),
    )


def window_fairness_report_create(
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    approved: np.ndarray,
    protected: pd.DataFrame,
    scores: np.ndarray | None = None,
    requested_by: Any = None,
    parameters: dict[str, Any] | None = None,
) -> FairnessReport:
    """Audit the live decisions of [window_start, window_end) (arrays exported by lending); store the report.

    Repayment outcomes are known only for approved and funded applications, so outcome-based metrics
    (true positive rates, calibration) would compare selected samples: they are not computed here.
    """
    _may_report(requested_by)
    problems = {}
    if window_end <= window_start:
        problems["window"] = "the end must be after the start"
    if not len(approved):
        problems["decisions"] = "no primary decisions were made in the window"
    if problems:
        raise ApplicationError("The window cannot be audited.", details=problems, code="invalid_fairness_input")
    report = fairness_report_compute(
        approved=approved,
        protected=protected,
        scores=scores,
        config=fairness_config(attributes=_group_attributes(protected)),
    )
    last_day = (window_end - dt.timedelta(microseconds=1)).date()
    source = f"primary decisions from {window_start:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    return _report_store(
        kind=FairnessReport.Kind.WINDOW,
        title=f"Decisions {window_start:%Y-%m-%d} to {last_day:%Y-%m-%d}",
        audit=FairnessAudit(source=source, report=report),
        requested_by=requested_by,
        parameters=dict(parameters or {}),
        window_start=window_start,
        window_end=window_end,
    )


def lowest_adverse_impact_ratio(results: dict[str, Any]) -> float | None:
    """The lowest adverse impact ratio against the most favoured group, over single attributes' groups
    large enough to judge: the headline a report is tracked by over time."""
    ratios = [
        group["adverse_impact_ratio_vs_most_favoured"]["value"]
        for attribute in (results.get("report") or {}).get("attributes", [])
        if len(attribute.get("attributes", ())) == 1
        for group in attribute.get("groups", [])
        if not group.get("small_group") and group["adverse_impact_ratio_vs_most_favoured"]["value"] is not None
    ]
    return min(ratios) if ratios else None
