"""Fair-lending reports: requested by people, audited on the `analytics` workers, stored as records.

A request checks its input at once (so a bad version, schema or file is refused on the form that sent it),
stores a RUNNING report and queues its audit when the transaction commits: bootstrap intervals take
seconds to minutes, so no request computes them. A worker claims the report, audits it and stores DONE
with the engine's results, or FAILED with the reason. Three sources: a model version's holdout decisions
(rebuilt exactly as training split them), an uploaded decisions file read through a dataset schema (kept
in artifact storage, hash-checked, for the worker), and the live decisions of a time window (exported by
`monitoring`, which may read lending's records, and handed here as arrays). Each step is an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.engine.dataset_schema import DatasetSchema
from analytics.engine.fairness import (
    FairnessAudit,
    FairnessConfig,
    decisions_controls_validate,
    decisions_file_audit,
    decisions_file_read,
    model_holdout_audit,
)
from analytics.engine.families.base import FittedModel, TrainingData
from analytics.engine.training import HOLDOUT_FRACTION
from analytics.models import FairnessReport, ModelVersion, stored_schema
from analytics.services.dataset_schemas import dataset_schema_get
from analytics.services.serving import scorer_for_version
from analytics.services.training_jobs import snapshot_training_data
from finai.artifacts import artifact_load, artifact_store
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.roles import COMPLIANCE_ROLES, ensure_role
from finai.services import audit_event_record

logger = logging.getLogger(__name__)

# Decisions files are audited through schemas of lender decisions (an approve/decline column).
AUDITABLE_SCHEMA_KIND = "decisions"
HASH_CHUNK = 1 << 20
UPLOAD_FOLDER = "fairness-uploads"
QUEUED_MESSAGE = "Queued on the analytics workers"
# An audit's steps, as progress: the engine computes point estimates and intervals in one pass.
PROGRESS_READING = (10, "Reading the decisions")
PROGRESS_AUDITING = (30, "Computing the metrics and their bootstrap intervals")

AuditFunction = Callable[[FairnessReport], FairnessAudit]


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


def _is_trained(version: ModelVersion) -> None:
    if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED) or not version.artifact_path:
        raise ApplicationError(
            "Only a trained model version can be audited.",
            details={"model_version": f"v{version.pk} is {version.get_status_display().lower()}"},
            code="invalid_fairness_input",
        )


def _has_snapshot(version: ModelVersion) -> None:
    if version.snapshot_id is None:
        raise ApplicationError(
            "This version has no data snapshot to rebuild its holdout from.",
            details={"model_version": f"v{version.pk} was not trained from a snapshot"},
            code="invalid_fairness_input",
        )


def version_split(version: ModelVersion, data: TrainingData | None = None) -> tuple[TrainingData, TrainingData]:
    """The version's (training, holdout) rows, split from its snapshot exactly as training split them."""
    _has_snapshot(version)
    data = (
        data
        if data is not None
        else snapshot_training_data(snapshot=version.snapshot, alternative_data=tuple(version.alternative_data))
    )
    fraction = (version.metrics or {}).get("holdout_fraction", HOLDOUT_FRACTION)
    return data.split(holdout_fraction=fraction, seed=version.seed)


def version_model(version: ModelVersion) -> FittedModel:
    """The version's fitted model, loaded (hash-checked) through the scoring cache."""
    _is_trained(version)
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
        policy=version.policy,
        config=config or fairness_config(attributes=_group_attributes(holdout.protected)),
    )


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _may_report(requested_by: Any) -> None:
    if requested_by is not None:
        ensure_role(requested_by, *COMPLIANCE_ROLES)


def _report_request(
    *, kind: str, title: str, requested_by: Any, parameters: dict[str, Any], queue: bool, **fields: Any
) -> FairnessReport:
    """Store a RUNNING report and, with `queue`, have a worker audit it once the transaction commits."""
    with transaction.atomic():
        report = FairnessReport.objects.create(
            kind=kind,
            status=FairnessReport.Status.RUNNING,
            title=title[:200],
            parameters=parameters,
            progress_message=QUEUED_MESSAGE,
            created_by=requested_by,
            **fields,
        )
        audit_event_record(
            action="fairness.report_requested",
            actor=requested_by,
            object_type="fairness_report",
            object_id=report.pk,
            payload={"kind": kind, "title": report.title},
        )
        if queue:
            from analytics.tasks import run_fairness_report

            transaction.on_commit(lambda: run_fairness_report.delay(report.pk))
    return report


def model_version_fairness_report_request(
    *, version: ModelVersion, requested_by: Any = None, queue: bool = True
) -> FairnessReport:
    """Request the audit of a version's holdout decisions (approval = PD under the policy's cut-off)."""
    _may_report(requested_by)
    _is_trained(version)  # refuse at once what the worker could not audit
    _has_snapshot(version)
    return _report_request(
        kind=FairnessReport.Kind.MODEL_VERSION,
        title=f"v{version.pk} {version.family} holdout",
        requested_by=requested_by,
        parameters={
            "policy": version.policy.as_dict(),
            "holdout_fraction": version.metrics.get("holdout_fraction"),
        },
        queue=queue,
        model_version=version,
        dataset=version.snapshot.dataset,
    )


def _decisions_schema(name_or_path: str, given: DatasetSchema | None = None) -> DatasetSchema:
    """A decisions data set's schema: the one given (an upload), else by name or a schema file's path."""
    try:
        schema = given or dataset_schema_get(name_or_path)
    except ApplicationError as exc:
        raise ApplicationError(
            str(exc), details={"schema": "; ".join(map(str, exc.details.values()))}, code="invalid_fairness_input"
        ) from exc
    if schema.kind != AUDITABLE_SCHEMA_KIND:
        raise ApplicationError(
            "This schema describes repayment outcomes, not decisions.",
            details={"schema": f"{schema.name!r} has no decision column; audit a model version's holdout instead"},
            code="invalid_fairness_input",
        )
    return schema


def decisions_file_fairness_report_request(
    *,
    path: str | Path,
    schema_name: str = "",
    schema: DatasetSchema | None = None,
    controls: Sequence[str] = (),
    source_name: str = "",
    requested_by: Any = None,
    queue: bool = True,
) -> FairnessReport:
    """Request the audit of a decisions file through its schema; the file is kept with its SHA-256.

    "Bring your own decisions": no code changes, the schema says which column is the decision, which
    are protected and which are credit factors; `controls` (credit factors) add the regression-adjusted
    disparity of every protected attribute. The file's rows are checked here, so every bad row and
    column is named on the form; only the audit itself waits for a worker.
    """
    _may_report(requested_by)
    schema = _decisions_schema(schema_name, schema)  # an upload, a name, or a schema file's path anywhere
    decisions_controls_validate(schema=schema, controls=controls)
    attributes = list(decisions_file_read(path=path, schema=schema).protected.columns)
    sha256 = file_sha256(path)
    stored, _ = artifact_store(name=f"{UPLOAD_FOLDER}/{sha256}.csv", content=Path(path).read_bytes())
    name = source_name or Path(path).name
    return _report_request(
        kind=FairnessReport.Kind.FILE,
        title=f"{name} ({schema.name})",
        requested_by=requested_by,
        parameters={
            "file_name": name,
            "controls": list(controls),
            "attributes": attributes,
            # The worker reads this copy of the schema, not a file that may have moved or changed since.
            "schema": schema.as_dict(),
            "schema_sha256": schema.sha256,
        },
        queue=queue,
        dataset=schema.name,
        source_sha256=sha256,
        source_path=stored,
    )


def window_fairness_report_create(
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    decisions: int,
    requested_by: Any = None,
    parameters: dict[str, Any] | None = None,
) -> FairnessReport:
    """Store the request to audit the live decisions of [window_start, window_end); `monitoring` exports
    them on its worker and hands them to `window_fairness_audit` (analytics never reads lending's records)."""
    _may_report(requested_by)
    problems = {}
    if window_end <= window_start:
        problems["window"] = "the end must be after the start"
    if not decisions:
        problems["decisions"] = "no primary decisions were made in the window"
    if problems:
        raise ApplicationError("The window cannot be audited.", details=problems, code="invalid_fairness_input")
    last_day = (window_end - dt.timedelta(microseconds=1)).date()
    return _report_request(
        kind=FairnessReport.Kind.WINDOW,
        title=f"Decisions {window_start:%Y-%m-%d} to {last_day:%Y-%m-%d}",
        requested_by=requested_by,
        parameters=dict(parameters or {}),
        queue=False,
        window_start=window_start,
        window_end=window_end,
    )


def fairness_report_progress(report: FairnessReport, percent: int, message: str) -> None:
    FairnessReport.objects.filter(pk=report.pk).update(
        progress=max(0, min(100, int(percent))), progress_message=message[:200]
    )


def _claim(report_id: int) -> bool:
    """Take the report's lease (see `finai.leases`): a redelivered task must not audit it twice at once."""
    return lease_take(
        FairnessReport.objects.filter(pk=report_id, status=FairnessReport.Status.RUNNING), field="started_at"
    )


def _complete(report: FairnessReport, audit: FairnessAudit) -> FairnessReport:
    results = audit.to_dict()
    lowest = audit.report.lowest_adverse_impact_ratio()
    with transaction.atomic():
        report.status = FairnessReport.Status.DONE
        report.row_count = audit.report.rows
        report.parameters = {**report.parameters, "config": audit.report.config.to_dict()}
        report.results = results
        report.progress, report.progress_message = 100, "Done"
        report.finished_at = timezone.now()
        report.save(
            update_fields=[
                "status",
                "row_count",
                "parameters",
                "results",
                "progress",
                "progress_message",
                "finished_at",
            ]
        )
        audit_event_record(
            action="fairness.report_created",
            actor=report.created_by,
            object_type="fairness_report",
            object_id=report.pk,
            payload={
                "kind": report.kind,
                "title": report.title,
                "rows": report.row_count,
                "model_version": report.model_version_id,
                "dataset": report.dataset,
                "source_sha256": report.source_sha256,
                "window": [report.window_start, report.window_end]
                if report.kind == FairnessReport.Kind.WINDOW
                else None,
                "lowest_adverse_impact_ratio": lowest.ratio.value if lowest else None,
            },
        )
    return report


def _fail(report: FairnessReport, failure: str) -> FairnessReport:
    with transaction.atomic():
        report.status = FairnessReport.Status.FAILED
        report.failure = failure
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "failure", "finished_at"])
        audit_event_record(
            action="fairness.report_failed",
            actor=report.created_by,
            object_type="fairness_report",
            object_id=report.pk,
            payload={"kind": report.kind, "failure": failure},
        )
    return report


def fairness_report_execute(*, report_id: int, audit: AuditFunction) -> FairnessReport:
    """Claim a requested report, audit it with `audit` and store DONE or FAILED; idempotent per report.

    A report that is no longer RUNNING, or whose lease another worker holds, is returned untouched. A
    refusal (bad data found only now) is stored as the failure; an unexpected error is stored too, and
    raised again so the worker logs it.
    """
    if not _claim(report_id):
        return FairnessReport.objects.get(pk=report_id)
    report = FairnessReport.objects.select_related("model_version__snapshot", "created_by").get(pk=report_id)
    try:
        return _complete(report, audit(report))
    except ApplicationError as error:
        return _fail(report, str(error))
    except Exception as error:
        _fail(report, f"The audit stopped on an unexpected error ({type(error).__name__}); see the worker's log.")
        raise


def _version_audit(report: FairnessReport) -> FairnessAudit:
    fairness_report_progress(report, *PROGRESS_AUDITING)
    return version_holdout_audit(version=report.model_version)


def _file_audit(report: FairnessReport) -> FairnessAudit:
    """The stored file (hash-checked) audited as requested; its protected columns were read at the request."""
    fairness_report_progress(report, *PROGRESS_READING)
    stored = report.parameters.get("schema")
    schema = stored_schema(stored, report.parameters["schema_sha256"]) if stored else _decisions_schema(report.dataset)
    content = artifact_load(path=report.source_path, sha256=report.source_sha256)
    with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
        handle.write(content)
        handle.flush()
        fairness_report_progress(report, *PROGRESS_AUDITING)
        audit = decisions_file_audit(
            path=handle.name,
            schema=schema,
            controls=list(report.parameters.get("controls") or ()),
            config=fairness_config(attributes=report.parameters["attributes"]),
        )
    # The worker reads a temporary copy: the report names the file that was uploaded.
    return replace(audit, source=f"{report.parameters['file_name']} (schema {schema.name})")


AUDITS: dict[str, AuditFunction] = {
    FairnessReport.Kind.MODEL_VERSION: _version_audit,
    FairnessReport.Kind.FILE: _file_audit,
}


def fairness_report_run(*, report_id: int) -> FairnessReport:
    """The worker's side of a version or file report (window reports are run by `monitoring`)."""
    kind = FairnessReport.objects.values_list("kind", flat=True).get(pk=report_id)
    if kind not in AUDITS:
        raise ApplicationError(
            "This report is audited by the monitoring workers.",
            details={"report": f"#{report_id} is a {kind} report"},
            code="invalid_fairness_input",
        )
    return fairness_report_execute(report_id=report_id, audit=AUDITS[kind])


def window_fairness_audit(
    report: FairnessReport, *, approved: Any, protected: pd.DataFrame, scores: Any = None
) -> FairnessAudit:
    """The engine's audit of a window's live decisions (arrays exported by `monitoring`).

    Repayment outcomes are known only for approved and funded applications, so outcome-based metrics
    (true positive rates, calibration) would compare selected samples: they are not computed here.
    """
    from analytics.engine.fairness import fairness_report_compute

    fairness_report_progress(report, *PROGRESS_AUDITING)
    computed = fairness_report_compute(
        approved=approved,
        protected=protected,
        scores=scores,
        config=fairness_config(attributes=_group_attributes(protected)),
    )
    last_day = (report.window_end - dt.timedelta(microseconds=1)).date()
    source = f"primary decisions from {report.window_start:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    return FairnessAudit(source=source, report=computed)
