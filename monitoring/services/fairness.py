"""Production monitoring's use cases: fairness of live decisions by window, and segment-proxy checks.

Both run on the `analytics` workers. Monitoring may read every app's records: it exports a window's
primary decisions (lending's records, with the protected attributes kept apart from features) as arrays
for the fairness engine, and checks whether a segmentation's segments follow protected lines. A request
stores a RUNNING record and queues the work on commit; pages show its progress and never compute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from analytics.engine.fairness import FairnessAudit, FairnessConfig, fairness_report_compute
from analytics.fairness_reports.services import (
    QUEUED_MESSAGE,
    fairness_report_execute,
    fairness_report_progress,
    window_fairness_audit,
    window_fairness_report_create,
)
from analytics.models import FairnessReport, ModelVersion
from clustering.models import ClusteringRun
from finai.bulk import queryset_frame
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.progress import job_finish
from finai.protected_attributes import GROUP_ATTRIBUTES
from finai.roles import COMPLIANCE_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Decision, Override
from lending.selectors import segment_owner_protected_attributes
from monitoring.models import PROXY_BAND, SegmentGroupShare, SegmentProxyCheck
from monitoring.services.performance import PerformanceDefinition, loans_matured, version_loans

PROXY_ATTRIBUTES = ("sex", "age_band")  # what the Berka owners' records hold
PROXY_RESAMPLES = 500


def _window_problem(message: str, problem: str) -> ApplicationError:
    return ApplicationError(message, details={"window": problem}, code="invalid_fairness_input")


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


def _window_decisions(*, window_start: dt.datetime, window_end: dt.datetime, product: str | None) -> QuerySet[Decision]:
    decisions = Decision.objects.filter(is_shadow=False, decided_at__gte=window_start, decided_at__lt=window_end)
    return decisions.filter(application__product=product) if product else decisions


def window_decisions_export(
    *, window_start: dt.datetime, window_end: dt.datetime, product: str | None = None
) -> WindowDecisions:
    """The primary decisions made in [window_start, window_end): the outcome acted on (a loan officer's
    override replaces the model's) is what the applicant experienced, so that is what is audited."""
    latest_override = Override.objects.acted_on().filter(decision=OuterRef("pk")).order_by("-created_at", "-pk")
    decisions = _window_decisions(window_start=window_start, window_end=window_end, product=product)
    rows = list(
        decisions.annotate(
            acted_on=Coalesce(Subquery(latest_override.values("outcome_after")[:1]), F("outcome")),
        )
        .order_by("pk")
        .values_list(
            "acted_on",
            "outcome",
            "score",
            *(f"application__applicant__protected_attributes__{name}" for name in GROUP_ATTRIBUTES),
        )
    )
    acted_on = np.array([row[0] for row in rows], dtype=object)
    scores = [row[2] for row in rows]
    protected = pd.DataFrame(
        [[value or None for value in row[3:]] for row in rows], columns=list(GROUP_ATTRIBUTES), dtype=object
    )
    return WindowDecisions(
        approved=(acted_on == Decision.Outcome.APPROVE).astype(np.int64),
        scores=None if not rows or any(score is None for score in scores) else np.asarray(scores, dtype=float),
        protected=protected.dropna(axis="columns", how="all"),
        overridden=sum(1 for row in rows if row[0] != row[1]),
    )


def window_fairness_report_request(
    *, first_day: dt.date, last_day: dt.date, requested_by: Any = None, product: str | None = None, queue: bool = True
) -> FairnessReport:
    """Request the audit of the primary decisions made from `first_day` to `last_day` (both included).

    The window is checked at once (dates, decisions, recorded protected attributes), so the form names the
    problem; the export and the audit run on a worker.
    """
    window_start, window_end = window_bounds(first_day=first_day, last_day=last_day)
    decisions = _window_decisions(window_start=window_start, window_end=window_end, product=product)
    count = decisions.count()
    with_groups = Q()
    for name in GROUP_ATTRIBUTES:
        with_groups |= ~Q(**{f"application__applicant__protected_attributes__{name}": ""}) & Q(
            **{f"application__applicant__protected_attributes__{name}__isnull": False}
        )
    if count and not decisions.filter(with_groups).exists():
        raise _window_problem(
            "No decision in the window has protected attributes recorded.",
            "fairness cannot be measured without the applicants' protected attributes",
        )
    with transaction.atomic():
        report = window_fairness_report_create(
            window_start=window_start,
            window_end=window_end,
            decisions=count,
            requested_by=requested_by,
            parameters={
                "product": product or "all",
                "decisions": count,
                "approved_means": "the outcome acted on (the latest override, else the decision) is approve",
            },
        )
        if queue:
            from monitoring.tasks import run_window_fairness_report

            transaction.on_commit(lambda: run_window_fairness_report.delay(report.pk))
    return report


def _window_audit(report: FairnessReport) -> FairnessAudit:
    fairness_report_progress(report, 10, "Reading the window's decisions")
    product = report.parameters.get("product")
    exported = window_decisions_export(
        window_start=report.window_start,
        window_end=report.window_end,
        product=None if product in (None, "", "all") else product,
    )
    if not len(exported):
        raise _window_problem("The window cannot be audited.", "no primary decisions were made in the window")
    if exported.protected.empty:
        raise _window_problem(
            "No decision in the window has protected attributes recorded.",
            "fairness cannot be measured without the applicants' protected attributes",
        )
    report.parameters = {**report.parameters, "decisions": len(exported), "overridden": exported.overridden}
    return window_fairness_audit(
        report, approved=exported.approved, protected=exported.protected, scores=exported.scores
    )


def window_fairness_report_run(*, report_id: int) -> FairnessReport:
    """The worker's side: export the window's decisions and audit them; idempotent per report."""
    return fairness_report_execute(report_id=report_id, audit=_window_audit)


def segment_membership_fairness(*, run: ClusteringRun, reader: Any) -> list[SegmentGroupShare]:
    """Whether a segmentation follows protected lines: for each segment, the fairness engine's rate of
    membership per group of account owners (sex, age band) and its ratio to the reference group, with
    bootstrap intervals. A segment that is far more (or less) common in one group acts as a proxy for
    it, and a credit model reading it would carry that into decisions."""
    table = segment_owner_protected_attributes(run=run, reader=reader)
    if table.empty:
        return []
    config = FairnessConfig(intersections=False, bootstrap_resamples=PROXY_RESAMPLES)
    shares = []
    for segment in sorted(table["segment"].unique()):
        report = fairness_report_compute(
            approved=(table["segment"] == segment).astype(np.int64).to_numpy(),
            protected=table[list(PROXY_ATTRIBUTES)],
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


def segment_proxy_check_request(*, run: ClusteringRun, requested_by: Any, queue: bool = True) -> SegmentProxyCheck:
    """Request the check of a finished run's segments against its owners' protected groups (compliance only)."""
    ensure_role(requested_by, *COMPLIANCE_ROLES)
    if run.status != ClusteringRun.Status.FINISHED:
        raise ApplicationError(
            "Only a finished clustering run has segments to check.",
            details={"run": f"run {run.pk} is {run.get_status_display().lower()}"},
            code="invalid_fairness_input",
        )
    with transaction.atomic():
        check = SegmentProxyCheck.objects.create(
            run=run,
            requested_by=requested_by,
            progress_message=QUEUED_MESSAGE,
            parameters={"band": list(PROXY_BAND), "resamples": PROXY_RESAMPLES, "attributes": list(PROXY_ATTRIBUTES)},
        )
        audit_event_record(
            action="segments.proxy_check_requested",
            actor=requested_by,
            object_type="segment_proxy_check",
            object_id=check.pk,
            payload={"clustering_run": run.pk},
        )
        if queue:
            from monitoring.tasks import run_segment_proxy_check

            transaction.on_commit(lambda: run_segment_proxy_check.delay(check.pk))
    return check


def _proxy_claim(check_id: int) -> bool:
    """Take the check's lease (see `finai.leases`): a redelivered task must not run it twice at once."""
    return lease_take(
        SegmentProxyCheck.objects.filter(pk=check_id, status=SegmentProxyCheck.Status.RUNNING),
        field="started_at",
        progress=10,
        progress_message="Measuring each segment's membership by group",
    )


def segment_proxy_check_run(*, check_id: int) -> SegmentProxyCheck:
    """The worker's side: measure every segment and store the rows; idempotent per check."""
    if not _proxy_claim(check_id):
        return SegmentProxyCheck.objects.get(pk=check_id)
    check = SegmentProxyCheck.objects.select_related("run", "requested_by").get(pk=check_id)
    try:
        shares = segment_membership_fairness(run=check.run, reader=check.requested_by)
    except ApplicationError as error:
        return _proxy_finish(check, status=SegmentProxyCheck.Status.FAILED, failure=str(error))
    except Exception as error:
        _proxy_finish(
            check,
            status=SegmentProxyCheck.Status.FAILED,
            failure=f"The check stopped on an unexpected error ({type(error).__name__}); see the worker's log.",
        )
        raise
    return _proxy_finish(
        check,
        status=SegmentProxyCheck.Status.DONE,
        results={"shares": [asdict(share) for share in shares]},
    )


def _proxy_finish(
    check: SegmentProxyCheck, *, status: str, failure: str = "", results: Any = None
) -> SegmentProxyCheck:
    shares = (results or {}).get("shares", [])
    return job_finish(
        check,
        status=status,
        failure=failure,
        results=results,
        action="segments.proxy_check_" + ("done" if status == SegmentProxyCheck.Status.DONE else "failed"),
        object_type="segment_proxy_check",
        payload={
            "clustering_run": check.run_id,
            "flagged": sum(SegmentGroupShare(**share).flagged for share in shares),
        },
    )


def version_window_fairness(
    *, version: ModelVersion, starts_at: dt.datetime, ends_at: dt.datetime, as_of: dt.date
) -> dict[str, Any]:
    """Fairness of one window of a version's primary decisions: approval rates and adverse impact ratios per
    protected group with bootstrap intervals (the fairness engine), and where loans have matured, default rates
    and equal-opportunity gaps per group.

    The outcome audited is the one acted on (an officer's override replaces the model's). Outcome-based figures
    can only be measured on approved, funded loans whose default horizon has passed: the share of the window they
    cover is stored with them (`reject_inference`), since declined applicants' outcomes are never observed.
    """
    decisions = Decision.objects.filter(
        model_version=version, is_shadow=False, decided_at__gte=starts_at, decided_at__lt=ends_at
    )
    latest_override = Override.objects.acted_on().filter(decision=OuterRef("pk")).order_by("-created_at", "-pk")
    frame = queryset_frame(
        decisions.annotate(acted_on=Coalesce(Subquery(latest_override.values("outcome_after")[:1]), F("outcome")))
        .order_by("pk")
        .values_list(
            "acted_on",
            "application__loan__id",
            *(f"application__applicant__protected_attributes__{name}" for name in GROUP_ATTRIBUTES),
        ),
        columns=["acted_on", "loan", *GROUP_ATTRIBUTES],
        text_columns=frozenset(["acted_on", *GROUP_ATTRIBUTES]),
    )
    if frame.empty:
        return {"unavailable": "no primary decisions in the window"}
    protected = frame[list(GROUP_ATTRIBUTES)].replace("", np.nan).dropna(axis="columns", how="all")
    if protected.empty:
        return {"unavailable": "no decision in the window has protected attributes recorded"}
    definition = PerformanceDefinition.for_version(version)
    loans = version_loans(version=version, definition=definition, as_of=as_of)
    matured = loans_matured(loans=loans, definition=definition, as_of=as_of)
    defaulted = frame["loan"].map(matured.set_index("loan")["defaulted"]) if len(matured) else None
    report = fairness_report_compute(
        approved=(frame["acted_on"] == Decision.Outcome.APPROVE).astype(np.int64).to_numpy(),
        protected=protected.astype(object).where(protected.notna(), None),
        defaulted=defaulted.to_numpy(dtype=np.float64) if defaulted is not None and defaulted.notna().any() else None,
        config=FairnessConfig(
            intersections=False,
            bootstrap_resamples=settings.MONITORING_FAIRNESS_RESAMPLES,
            min_group_size=settings.FAIRNESS_MIN_GROUP_SIZE,
            four_fifths_threshold=settings.FAIRNESS_AIR_THRESHOLD,
        ),
    )
    with_outcome = int(defaulted.notna().sum()) if defaulted is not None else 0
    return {
        **report.to_dict(),
        "reject_inference": {
            "decisions": len(frame),
            "funded": int(frame["loan"].notna().sum()),
            "with_matured_outcome": with_outcome,
            "share_with_outcome": with_outcome / len(frame),
            "note": "Default rates and equal-opportunity gaps are measured on approved, funded loans whose default "
            "horizon has passed; declined applicants' outcomes are never observed.",
        },
    }
