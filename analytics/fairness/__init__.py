"""Fair-lending analytics: disparity metrics with bootstrap intervals, regression-adjusted disparity,
mitigation rules, and audits of model holdouts and uploaded decisions files.

Plain Python over arrays and DataFrames: no models, no database. Django code calls the functions
re-exported here and stores `to_dict()` of what they return.
"""

from __future__ import annotations

from analytics.fairness.audits import FairnessAudit, decisions_file_audit, model_holdout_audit
from analytics.fairness.decisions import DecisionsData, decisions_file_read
from analytics.fairness.estimates import Estimate
from analytics.fairness.mitigation import (
    DisparateTreatmentError,
    MitigationMethod,
    group_thresholds_refuse,
    mitigation_method_validate,
    reweighing_weights,
)
from analytics.fairness.regression import AdjustedDisparity, GroupDisparity, adjusted_disparity_estimate
from analytics.fairness.report import (
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
    "DisparateTreatmentError",
    "Estimate",
    "FairnessAudit",
    "FairnessConfig",
    "FairnessReport",
    "GroupDisparity",
    "GroupReport",
    "MitigationMethod",
    "adjusted_disparity_estimate",
    "decisions_file_audit",
    "decisions_file_read",
    "fairness_report_compute",
    "group_thresholds_refuse",
    "mitigation_method_validate",
    "model_holdout_audit",
    "reweighing_weights",
]
