"""Reads for production monitoring: fairness over time across versions and stored reports, segment-proxy checks."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.fairness_reports.selectors import (
    Lowest,
    fairness_by_attribute,
    fairness_report_list,
    report_lowest_ratio,
)
from analytics.models import FairnessReport, ModelVersion
from clustering.models import ClusteringRun
from monitoring.models import SegmentProxyCheck


@dataclass(frozen=True)
class FairnessOverTime:
    """Per version, oldest first: each monitored attribute's lowest adverse impact ratio."""

    attributes: list[str]
    rows: list[tuple[ModelVersion, list[float | None]]]


def fairness_over_time(*, product: str = "consumer_loan") -> FairnessOverTime:
    """How the lowest adverse impact ratio moved across the product's trained versions."""
    versions = list(
        ModelVersion.objects.filter(product=product)
        .exclude(status__in=(ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED))
        .order_by("created_at", "pk")
    )
    per_version = [(v, {a.attribute: a.lowest_ratio for a in fairness_by_attribute(v)}) for v in versions]
    attributes = sorted({name for _, lowest in per_version for name in lowest})
    return FairnessOverTime(attributes, [(v, [lowest.get(a) for a in attributes]) for v, lowest in per_version])


def fairness_report_trend(*, limit: int = 40) -> list[tuple[FairnessReport, Lowest | None]]:
    """The stored reports, oldest first, each with its lowest adverse impact ratio and interval."""
    reports = list(fairness_report_list().filter(status=FairnessReport.Status.DONE)[:limit])
    return [(report, report_lowest_ratio(report)) for report in reversed(reports)]


def segment_proxy_check_latest(*, run: ClusteringRun) -> SegmentProxyCheck | None:
    """The run's most recent proxy check, finished or not."""
    return run.proxy_checks.select_related("requested_by").first()
