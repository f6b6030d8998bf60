"""Customers' transaction-behaviour segments as alternative data for credit models.

Lending asks `clustering` for the segment of an applicant's bank transactions (all their accounts'
transactions booked before the application, as one history) under a recorded segmentation run. The
run and its artifact hash travel with a model version, so a version trained on one segmentation is
never fed segments of another; applicants without any transactions are "no-history", an explicit
category rather than a missing value, since a thin file is exactly who alternative data is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import F

from clustering.selectors import segment_owner_protected_attributes, segmentation_chosen
from clustering.services import segments_assign
from finai.errors import ApplicationError
from lending.models import LoanApplication, Transaction

SEGMENT_FEATURE = "transaction_segment"
NO_HISTORY = "no-history"


def segment_label(segment: int) -> str:
    return f"segment-{segment}"


def segmentation_source() -> dict[str, Any]:
    """Where segment values come from for a new training: the chosen segmentation, recorded exactly."""
    run = segmentation_chosen()
    if run is None:
        raise ApplicationError(
            "No segmentation is chosen, so there are no segments to train with.",
            details={SEGMENT_FEATURE: "choose a finished clustering run on the clustering pages first"},
        )
    return {"clustering_run": run.pk, "artifact_sha256": run.artifact_sha256, "k": run.k}


def application_segments(*, application_ids: Iterable[int], source: dict[str, Any]) -> dict[int, str]:
    """Each application's segment label under `source`; NO_HISTORY where the applicant has no transactions
    booked before the application was submitted."""
    ids = list(application_ids)
    rows = (
        Transaction.objects.filter(
            account__applicant__applications__in=ids,
            booked_on__lt=F("account__applicant__applications__submitted_at__date"),
        )
        .order_by("booked_on", "pk")
        .values_list("account__applicant__applications__pk", "booked_on", "amount")
    )
    history = np.array(list(rows), dtype=object).reshape(-1, 3)
    segments = {}
    if len(history):
        segments = segments_assign(
            run_id=source["clustering_run"],
            artifact_sha256=source["artifact_sha256"],
            account_ids=history[:, 0].astype(np.int64),
            dates=history[:, 1].astype("datetime64[D]"),
            amounts=history[:, 2].astype(np.float64),
        )
    return {pk: segment_label(segments[pk]) if pk in segments else NO_HISTORY for pk in ids}


def application_alternative_data(*, application: LoanApplication, sources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The alternative-data inputs a model version reads, computed for one application."""
    if SEGMENT_FEATURE not in sources:
        return {}
    segments = application_segments(application_ids=[application.pk], source=sources[SEGMENT_FEATURE])
    return {SEGMENT_FEATURE: segments[application.pk]}


@dataclass(frozen=True)
class SegmentGroupShare:
    """How often one protected group's accounts fall in one segment, against the attribute's reference group."""

    segment: int
    attribute: str
    group: str
    is_reference: bool
    accounts: int
    small_group: bool
    share: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None

    @property
    def outside_band(self) -> bool:
        """The ratio lies outside the four-fifths band either way (over- or under-represented)."""
        return not self.small_group and self.ratio is not None and not PROXY_BAND[0] <= self.ratio <= PROXY_BAND[1]

    @property
    def flagged(self) -> bool:
        """Outside the band and clearly so: its whole 95% interval lies outside the band too."""
        if not self.outside_band:
            return False
        if self.ratio_low is None or self.ratio_high is None:
            return True
        return self.ratio_high < PROXY_BAND[0] or self.ratio_low > PROXY_BAND[1]


PROXY_BAND = (0.8, 1.25)


def segment_membership_fairness(*, run: Any, reader: Any) -> list[SegmentGroupShare]:
    """Whether a segmentation follows protected lines: for each segment, the fairness engine's rate of
    membership per group of account owners (sex, age band) and its ratio to the reference group, with
    bootstrap intervals. A segment that is far more (or less) common in one group acts as a proxy for
    it, and a credit model reading it would carry that into decisions."""
    from analytics.fairness import FairnessConfig, fairness_report_compute

    table = segment_owner_protected_attributes(run=run, reader=reader)
    if table.empty:
        return []
    config = FairnessConfig(intersections=False, bootstrap_resamples=500)
    shares = []
    for segment in sorted(table["segment"].unique()):
        report = fairness_report_compute(
            approved=(table["segment"] == segment).astype(np.int64).to_numpy(),
            protected=table[["sex", "age_band"]],
            config=config,
        )
        for attribute in report.attributes:
            for group in attribute.groups:
                ratio = group.adverse_impact_ratio
                shares.append(
                    SegmentGroupShare(
                        segment=int(segment),
                        attribute=attribute.name,
                        group=group.label,
                        is_reference=group.is_reference,
                        accounts=group.applicants,
                        small_group=group.small_group,
                        share=group.approval_rate.value,
                        ratio=ratio.value,
                        ratio_low=ratio.low,
                        ratio_high=ratio.high,
                    )
                )
    return shares
