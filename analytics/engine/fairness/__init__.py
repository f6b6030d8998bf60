"""Fair-lending analytics: disparity metrics with bootstrap intervals, regression-adjusted disparity
and audits of model holdouts and uploaded decisions files.

Plain Python over arrays and DataFrames: no models, no database. Django code calls the functions
re-exported here and stores `to_dict()` of what they return.
"""

from __future__ import annotations

from analytics.engine.fairness.audits import (
    FairnessAudit,
    decisions_controls_validate,
    decisions_file_audit,
    model_holdout_audit,
)
from analytics.engine.fairness.decisions import DecisionsData, decisions_file_read
from analytics.engine.fairness.estimates import Estimate
from analytics.engine.fairness.headline import (
    GroupRatio,
    lowest_adverse_impact_ratio,
    report_group_ratios,
    summary_group_ratios,
)
from analytics.engine.fairness.regression import AdjustedDisparity, GroupDisparity, adjusted_disparity_estimate
from analytics.engine.fairness.report import (
    DEFINITIONS,
    AttributeReport,
    FairnessConfig,
    FairnessReport,
    GroupReport,
    fairness_report_compute,
)

__all__ = [
    "DEFINITIONS",
    "AdjustedDisparity",
    "AttributeReport",
    "DecisionsData",
    "Estimate",
    "FairnessAudit",
    "FairnessConfig",
    "FairnessReport",
    "GroupDisparity",
    "GroupRatio",
    "GroupReport",
    "adjusted_disparity_estimate",
    "decisions_controls_validate",
    "decisions_file_audit",
    "decisions_file_read",
    "fairness_report_compute",
    "lowest_adverse_impact_ratio",
    "model_holdout_audit",
    "report_group_ratios",
    "summary_group_ratios",
]
