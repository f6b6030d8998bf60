"""Champion against challenger on the same applications, from the decisions both made.

While a version runs as challenger it scores every application in shadow: its decisions are stored beside the
champion's and never acted on. A comparison pairs, for a period, each primary decision of the champion with the
challenger's shadow decision on the same application and compares the two outcome vectors
(`analytics.engine.decision_comparison`): approval rates, swap sets and their bad rates (realised where the loan's
outcome is known, estimated and bounded where not), AUC of both on the outcomes known, and each protected group's
approval rate and adverse impact ratio under both. It runs on the analytics workers (the bootstraps are too heavy
for a page) and is stored; the page shows its progress and then the stored figures.

Both sides are the models' own outcomes: an officer's override of the champion's decision is a person's act,
which the challenger never had the chance to meet (the period's overrides are counted beside the comparison).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from analytics.engine.decision_comparison import decisions_compare, outcome_codes
from analytics.fairness_reports.services import QUEUED_MESSAGE
from analytics.models import ModelVersion
from finai.bulk import queryset_frame
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.progress import job_finish
from finai.protected_attributes import GROUP_ATTRIBUTES
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Decision
from monitoring.models import ChallengerComparison
from monitoring.services.backtests import (
    PROTECTED_LOOKUP,
    comparison_config,
    definition_for,
    overridden_count,
    period_bounds,
    protected_columns,
    repayment_frame,
    rows_with_repayment,
)

CANNOT_COMPARE = "The champion and challenger cannot be compared."


def _problem(details: dict[str, str]) -> ApplicationError:
    return ApplicationError(CANNOT_COMPARE, details=details, code="invalid_comparison")


def champion_decisions(*, champion: ModelVersion, period_start: dt.datetime, period_end: dt.datetime) -> QuerySet:
    """The champion's primary decisions in the period."""
    return Decision.objects.filter(
        model_version=champion, is_shadow=False, decided_at__gte=period_start, decided_at__lt=period_end
    )


def paired_decisions(
    *, champion: ModelVersion, challenger: ModelVersion, period_start: dt.datetime, period_end: dt.datetime
) -> QuerySet:
    """The champion's primary decisions in the period on applications the challenger also decided in shadow,
    each annotated with the challenger's outcome and probability of default."""
    return (
        champion_decisions(champion=champion, period_start=period_start, period_end=period_end)
        .filter(application__decisions__model_version=challenger, application__decisions__is_shadow=True)
        .annotate(
            challenger_outcome=F("application__decisions__outcome"),
            challenger_probability=F("application__decisions__probability_of_default"),
        )
    )


def challenger_comparison_request(
    *,
    champion: ModelVersion,
    challenger: ModelVersion,
    first_day: dt.date,
    last_day: dt.date,
    requested_by: Any,
    queue: bool = True,
) -> ChallengerComparison:
    """Request the comparison of the champion and challenger over the period (both days included, today
    allowed: shadow decisions are compared as they accumulate); checked at once, computed on a worker."""
    ensure_role(requested_by, *MANAGER_ROLES)
    if champion.pk == challenger.pk:
        raise _problem({"challenger": "must be another version than the champion"})
    if champion.product != challenger.product:
        raise _problem({"challenger": f"decides {challenger.product}, the champion {champion.product}"})
    period_start, period_end = period_bounds(first_day=first_day, last_day=last_day, allow_today=True)
    pairs = paired_decisions(
        champion=champion, challenger=challenger, period_start=period_start, period_end=period_end
    ).count()
    if not pairs:
        raise _problem(
            {
                "first_day": f"no application from {first_day.isoformat()} to {last_day.isoformat()} was decided by "
                f"v{champion.pk} and scored in shadow by v{challenger.pk}"
            }
        )
    with transaction.atomic():
        comparison = ChallengerComparison.objects.create(
            champion=champion,
            challenger=challenger,
            period_start=period_start,
            period_end=period_end,
            requested_by=requested_by,
            progress_message=QUEUED_MESSAGE,
            parameters={"pairs": pairs},
        )
        audit_event_record(
            action="challenger_comparison.requested",
            actor=requested_by,
            object_type="challenger_comparison",
            object_id=comparison.pk,
            payload={
                "champion": champion.pk,
                "challenger": challenger.pk,
                "period": [first_day.isoformat(), last_day.isoformat()],
                "pairs": pairs,
            },
        )
        if queue:
            from monitoring.tasks import run_challenger_comparison

            transaction.on_commit(lambda: run_challenger_comparison.delay(comparison.pk))
    return comparison


def challenger_pairs_frame(*, comparison: ChallengerComparison) -> pd.DataFrame:
    """One row per paired application: both outcomes and probabilities, and the protected groups (bulk read)."""
    pairs = paired_decisions(
        champion=comparison.champion,
        challenger=comparison.challenger,
        period_start=comparison.period_start,
        period_end=comparison.period_end,
    )
    frame = queryset_frame(
        pairs.order_by().values_list(
            "application_id",
            "outcome",
            "probability_of_default",
            "challenger_outcome",
            "challenger_probability",
            *(PROTECTED_LOOKUP + name for name in GROUP_ATTRIBUTES),
        ),
        columns=[
            "application_id",
            "outcome",
            "probability_of_default",
            "challenger_outcome",
            "challenger_probability",
            *GROUP_ATTRIBUTES,
        ],
        text_columns=frozenset({"outcome", "challenger_outcome", *GROUP_ATTRIBUTES}),
    )
    return frame.sort_values("application_id", kind="stable", ignore_index=True)  # the same rows, the same order


def challenger_comparison_compute(
    *, comparison: ChallengerComparison, as_of: dt.date, progress: Any = None
) -> dict[str, Any]:
    """Pair, compare and return the stored results (JSON-ready)."""

    def report(percent: int, message: str) -> None:
        if progress is not None:
            progress(percent, message)

    champion, challenger = comparison.champion, comparison.challenger
    frame = challenger_pairs_frame(comparison=comparison)
    if frame.empty:
        raise _problem({"period": "no application in the period was decided by both"})
    for column in ("probability_of_default", "challenger_probability"):
        if frame[column].isna().any():
            raise _problem({column: "some paired decisions have no probability of default"})
    report(20, "Reading repayment outcomes")
    decisions = champion_decisions(
        champion=champion, period_start=comparison.period_start, period_end=comparison.period_end
    )
    definition = definition_for(product=champion.product, version=champion)
    funded, defaulted = rows_with_repayment(
        frame, repayment_frame(decisions=decisions, definition=definition, as_of=as_of)
    )
    compared = decisions_compare(
        baseline=outcome_codes(frame["outcome"], name="champion outcomes"),
        candidate=outcome_codes(frame["challenger_outcome"], name="challenger outcomes"),
        baseline_probability=frame["probability_of_default"].to_numpy(dtype=np.float64),
        candidate_probability=frame["challenger_probability"].to_numpy(dtype=np.float64),
        defaulted=defaulted,
        funded=funded,
        protected=protected_columns(frame),
        config=comparison_config(
            baseline_label=f"champion v{champion.pk}", candidate_label=f"challenger v{challenger.pk}"
        ),
        progress=lambda percent, message: report(25 + (percent * 7) // 10, message),
    )
    return {
        "comparison": compared.to_dict(),
        "champion_decisions": decisions.count(),
        "pairs": len(frame),
        "overridden": overridden_count(decisions),
        "default_definition": definition.as_dict(),
        "as_of": as_of.isoformat(),
    }


def _progress(comparison_id: int, percent: int, message: str) -> None:
    ChallengerComparison.objects.filter(pk=comparison_id).update(progress=percent, progress_message=message[:200])


def challenger_comparison_run(*, comparison_id: int) -> ChallengerComparison:
    """The worker's side: compare and store; idempotent per comparison (its lease, see `finai.leases`)."""
    claimed = lease_take(
        ChallengerComparison.objects.filter(pk=comparison_id, status=ChallengerComparison.Status.RUNNING),
        field="started_at",
        progress=5,
        progress_message="Pairing the champion's decisions with the challenger's",
    )
    if not claimed:
        return ChallengerComparison.objects.get(pk=comparison_id)
    comparison = ChallengerComparison.objects.select_related("champion__snapshot", "challenger", "requested_by").get(
        pk=comparison_id
    )
    try:
        results = challenger_comparison_compute(
            comparison=comparison,
            as_of=timezone.localdate(),
            progress=lambda percent, message: _progress(comparison_id, percent, message),
        )
    except ApplicationError as error:
        return _finish(comparison, status=ChallengerComparison.Status.FAILED, failure=str(error))
    except Exception as error:
        _finish(
            comparison,
            status=ChallengerComparison.Status.FAILED,
            failure=f"The comparison stopped on an unexpected error ({type(error).__name__}); see the worker's log.",
        )
        raise
    return _finish(comparison, status=ChallengerComparison.Status.DONE, results=results)


def _finish(
    comparison: ChallengerComparison, *, status: str, failure: str = "", results: dict[str, Any] | None = None
) -> ChallengerComparison:
    compared = (results or {}).get("comparison") or {}
    return job_finish(
        comparison,
        status=status,
        failure=failure,
        results=results,
        action="challenger_comparison." + ("done" if status == ChallengerComparison.Status.DONE else "failed"),
        object_type="challenger_comparison",
        payload={
            "champion": comparison.champion_id,
            "challenger": comparison.challenger_id,
            "pairs": (results or {}).get("pairs"),
            "swap_in": (compared.get("swap_in") or {}).get("applications"),
            "swap_out": (compared.get("swap_out") or {}).get("applications"),
        },
    )
