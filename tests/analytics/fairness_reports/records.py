"""Stored fair-lending records for page tests: a report computed by the engine, a finished search."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.engine.fairness import FairnessAudit, FairnessConfig, fairness_report_compute
from analytics.models import FairnessReport, LdaSearch, ModelVersion


def fairness_report_record(*, created_by, rows: int = 400, seed: int = 0) -> FairnessReport:
    """A window report over seeded decisions: women approved less often, scores and outcomes known."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=rows)
    age_band = rng.choice(["<25", ">=25"], size=rows, p=[0.2, 0.8])
    approved = (rng.random(rows) < np.where(sex == "female", 0.45, 0.65)).astype(int)
    probability = np.clip(rng.normal(0.3, 0.1, rows) - 0.1 * approved, 0.01, 0.99)
    report = fairness_report_compute(
        approved=approved,
        protected=pd.DataFrame({"sex": sex, "age_band": age_band}),
        scores=600 - 100 * probability,
        probability_of_default=probability,
        defaulted=(rng.random(rows) < probability).astype(float),
        config=FairnessConfig(bootstrap_resamples=200),
    )
    audit = FairnessAudit(source="seeded decisions", report=report)
    return FairnessReport.objects.create(
        kind=FairnessReport.Kind.FILE,
        status=FairnessReport.Status.DONE,
        title="seeded.csv (test)",
        dataset="test",
        source_sha256="cd" * 32,
        row_count=rows,
        parameters={"config": report.config.to_dict()},
        results=audit.to_dict(),
        created_by=created_by,
    )


def lda_search_record(*, base_version: ModelVersion, requested_by) -> LdaSearch:
    """A finished search with the base and one flagged alternative (the base itself stands in for it)."""

    def entry(name: str, change: str, auc: float, ratio: float, **flags) -> dict:
        return {
            "name": name,
            "change": change,
            "version_id": base_version.pk,
            "family": base_version.family,
            "mitigation": "none",
            "status": "candidate",
            "auc": auc,
            "lowest_ratio": {"value": ratio, "ci": [ratio - 0.1, ratio + 0.1], "attribute": "sex", "group": "female"},
            **flags,
        }

    return LdaSearch.objects.create(
        base_version=base_version,
        status=LdaSearch.Status.DONE,
        progress=100,
        progress_message="done",
        parameters={"tolerance": 0.01},
        results={
            "tolerance": 0.01,
            "attribute": "sex",
            "base": entry(f"base v{base_version.pk}", "base", 0.781, 0.70, pareto=True),
            "alternatives": [
                entry("reweighing by sex, strength 1", "mitigation", 0.776, 0.86, pareto=True, less_discriminatory=True)
            ],
        },
        requested_by=requested_by,
    )
