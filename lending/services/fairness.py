"""Fair-lending reports over live decisions: lending exports its records, the analytics engine audits them.

Lending owns decisions and protected attributes (analytics never reads them), so it turns a time
window's decisions into arrays and hands them to `analytics.services.fairness`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from analytics.models import FairnessReport
from analytics.services.fairness import window_fairness_report_create
from finai.errors import ApplicationError
from lending.models import Decision, Override

# ProtectedAttributes fields that hold groups; an age in years is audited through its band.
GROUP_FIELDS = ("sex", "marital_status", "age_band", "race_ethnicity", "national_origin")


@dataclass(frozen=True)
class WindowDecisions:
    """One row per primary decision: approved (1/0, after overrides), score, protected groups (None: not known)."""

    approved: np.ndarray
    scores: np.ndarray | None
    protected: pd.DataFrame
    overridden: int

    def __len__(self) -> int:
        return len(self.approved)


def window_bounds(*, first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first_day 00:00, the day after last_day 00:00) in UTC: both days are in the window."""
    if last_day < first_day:
        raise ApplicationError(
            "The window ends before it starts.",
            details={"window": f"{last_day.isoformat()} is before {first_day.isoformat()}"},
            code="invalid_fairness_input",
        )
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)
    return start, dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def window_decisions_export(
    *, window_start: dt.datetime, window_end: dt.datetime, product: str | None = None
) -> WindowDecisions:
    """The primary decisions made in [window_start, window_end): the outcome acted on (a loan officer's
    override replaces the model's) is what the applicant experienced, so that is what is audited."""
    latest_override = Override.objects.filter(decision=OuterRef("pk")).order_by("-created_at", "-pk")
    decisions = Decision.objects.filter(is_shadow=False, decided_at__gte=window_start, decided_at__lt=window_end)
    if product:
        decisions = decisions.filter(application__product=product)
    rows = list(
        decisions.annotate(
            acted_on=Coalesce(Subquery(latest_override.values("outcome_after")[:1]), F("outcome")),
        )
        .order_by("pk")
        .values_list(
            "acted_on",
            "outcome",
            "score",
            *(f"application__applicant__protected_attributes__{name}" for name in GROUP_FIELDS),
        )
    )
    acted_on = np.array([row[0] for row in rows], dtype=object)
    scores = [row[2] for row in rows]
    protected = pd.DataFrame(
        [[value or None for value in row[3:]] for row in rows], columns=list(GROUP_FIELDS), dtype=object
    )
    return WindowDecisions(
        approved=(acted_on == Decision.Outcome.APPROVE).astype(np.int64),
        scores=None if not rows or any(score is None for score in scores) else np.asarray(scores, dtype=float),
        protected=protected.dropna(axis="columns", how="all"),
        overridden=sum(1 for row in rows if row[0] != row[1]),
    )


def window_fairness_report_run(
    *, first_day: dt.date, last_day: dt.date, requested_by: Any = None, product: str | None = None
) -> FairnessReport:
    """Audit the primary decisions made from `first_day` to `last_day` (both included) and store the report."""
    window_start, window_end = window_bounds(first_day=first_day, last_day=last_day)
    exported = window_decisions_export(window_start=window_start, window_end=window_end, product=product)
    if len(exported) and exported.protected.empty:
        raise ApplicationError(
            "No decision in the window has protected attributes recorded.",
            details={"window": "fairness cannot be measured without the applicants' protected attributes"},
            code="invalid_fairness_input",
        )
    return window_fairness_report_create(
        window_start=window_start,
        window_end=window_end,
        approved=exported.approved,
        protected=exported.protected,
        scores=exported.scores,
        requested_by=requested_by,
        parameters={
            "product": product or "all",
            "decisions": len(exported),
            "overridden": exported.overridden,
            "approved_means": "the outcome acted on (the latest override, else the decision) is approve",
        },
    )
