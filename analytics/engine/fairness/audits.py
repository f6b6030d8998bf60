"""The two audits FinAI runs: a model version's holdout decisions, and an uploaded decisions file.

Both end in the same `FairnessReport`; the file audit adds the regression-adjusted disparity when
the caller declares which credit factors are legitimate controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analytics.engine.dataset_schema import DatasetSchema
from analytics.engine.fairness.decisions import decisions_file_read
from analytics.engine.fairness.estimates import to_json
from analytics.engine.fairness.regression import AdjustedDisparity, NumericTreatment, adjusted_disparity_estimate
from analytics.engine.fairness.report import FairnessConfig, FairnessReport, fairness_report_compute
from analytics.engine.policy import PD_FLOOR, DecisionPolicy
from finai.errors import ApplicationError


@dataclass(frozen=True)
class FairnessAudit:
    """A report, the regression-adjusted disparities (if controls were declared) and what was audited."""

    source: str
    report: FairnessReport
    adjusted: tuple[AdjustedDisparity, ...] = ()
    skipped_attributes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)


def _group_columns(protected: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Numeric columns (an age in years) are not groups: they are left out and named."""
    numeric = tuple(str(c) for c in protected.columns if pd.api.types.is_numeric_dtype(protected[c]))
    return protected.drop(columns=list(numeric)), numeric


def model_holdout_audit(
    *,
    probability_of_default: ArrayLike,
    defaulted: ArrayLike,
    protected: pd.DataFrame,
    policy: DecisionPolicy,
    config: FairnessConfig | None = None,
) -> FairnessAudit:
    """Fairness of a model version's decisions on its holdout, under its decision policy.

    Approved means the policy approves (PD below `approve_below`); referrals and declines are not
    approvals. Scores are the policy's points, so the standardized mean difference is in score units.
    """
    probability = np.asarray(probability_of_default, dtype=np.float64)
    clipped = np.clip(probability, PD_FLOOR, 1 - PD_FLOOR)
    scores = np.round(policy.scale.offset + policy.scale.factor * np.log((1 - clipped) / clipped))
    groups, skipped = _group_columns(protected)
    report = fairness_report_compute(
        approved=(probability < policy.approve_below).astype(np.int64),
        protected=groups,
        scores=scores,
        probability_of_default=probability,
        defaulted=defaulted,
        config=config,
    )
    return FairnessAudit(source=f"holdout under policy {policy.version}", report=report, skipped_attributes=skipped)


def decisions_controls_validate(*, schema: DatasetSchema, controls: Sequence[str]) -> None:
    """Controls (legitimate credit factors) must be feature columns of the schema; each other one is named."""
    features = {spec.name for spec in schema.features}
    unknown = [name for name in controls if name not in features]
    if unknown:
        raise ApplicationError(
            "Controls must be feature columns of the schema.",
            details={name: f"is not a feature of schema {schema.name!r}" for name in unknown},
            code="invalid_fairness_input",
        )


def decisions_file_audit(
    *,
    path: str | Path,
    schema: DatasetSchema,
    controls: Sequence[str] = (),
    config: FairnessConfig | None = None,
    numeric_treatment: NumericTreatment = "bins",
) -> FairnessAudit:
    """Fairness of the decisions in a file, read through its schema.

    `controls` are the schema's feature columns declared as legitimate credit factors; when given,
    every protected attribute also gets its regression-adjusted disparity against its reference group.
    """
    config = config or FairnessConfig()
    decisions_controls_validate(schema=schema, controls=controls)
    features = {spec.name: spec for spec in schema.features}
    data = decisions_file_read(path=path, schema=schema)
    report = fairness_report_compute(approved=data.approved, protected=data.protected, config=config)
    adjusted = ()
    if controls:
        adjusted = tuple(
            adjusted_disparity_estimate(
                approved=data.approved,
                groups=data.protected[attribute],
                controls=data.features[list(controls)],
                categorical=[name for name in controls if features[name].type == "categorical"],
                attribute=attribute,
                reference_group=report.attribute(attribute).reference_group,
                numeric_treatment=numeric_treatment,
                min_group_size=config.min_group_size,
                confidence=config.confidence,
            )
            for attribute in data.protected.columns
        )
    return FairnessAudit(source=f"{Path(path).name} (schema {schema.name})", report=report, adjusted=adjusted)
