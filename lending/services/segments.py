"""Customers' transaction-behaviour segments as alternative data for credit models.

Lending asks `clustering` for the segment of an applicant's bank transactions (all their accounts'
transactions booked before the application, as one history) under a recorded segmentation run. The
run and its artifact hash travel with a model version, so a version trained on one segmentation is
never fed segments of another; applicants without any transactions are "no-history", an explicit
category rather than a missing value, since a thin file is exactly who alternative data is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db.models import F

from clustering.selectors import segmentation_chosen
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
