"""The policy lab: replay a candidate model version and/or new cut-offs over a period of past applications, and
compare what it would have decided with what was decided.

A request checks everything at once (the period is in the past and holds decisions, the candidate is a trained
version of the product whose inputs the stored vectors hold, the cut-offs are valid and not a known policy's
version with other values), stores a RUNNING `Backtest` and queues the replay on the analytics workers when the
transaction commits. The worker reads the period's primary model decisions in bulk (COPY), each input straight
out of the stored feature vector (the exact inputs the decision used, so the replay is reproducible), scores
them with the candidate in one vectorised pass, applies the policy, and compares the outcomes with the stored
ones (`analytics.engine.decision_comparison`): approval rates, swap sets, their bad rates (realised, estimated,
bounded), AUC on the outcomes known, and approval rates and adverse impact ratios per protected group.

The baseline is the model's stored outcome, not an officer's override of it: a replay is a model against a
model, and only that can be reproduced exactly (the champion under its own policy over its own decisions gives
zero differences, which every backtest checks on the rows it should reproduce). The overrides of the period are
counted beside it.

A done backtest of a version can be attached to the version's pending promotion request, where the second
approver reads it (`templates/analytics/version_detail.html`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from analytics.engine.decision_comparison import (
    ComparisonConfig,
    DecisionComparison,
    decisions_compare,
    decisions_replay,
    outcome_codes,
    policy_outcome_codes,
)
from analytics.engine.fairness import FairnessConfig
from analytics.engine.policy import DecisionPolicy
from analytics.fairness_reports.services import QUEUED_MESSAGE
from analytics.models import ModelVersion, PromotionRequest
from analytics.services.serving import POLICIES, scorer_for_version
from finai.bulk import queryset_frame
from finai.errors import ApplicationError
from finai.leases import lease_take
from finai.progress import job_finish
from finai.protected_attributes import GROUP_ATTRIBUTES
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Decision, Loan, Override, RepaymentOutcome
from monitoring.models import Backtest
from monitoring.services.performance import PerformanceDefinition

CANNOT_RUN = "The backtest cannot be run."
CANNOT_ATTACH = "The backtest cannot be attached to the promotion request."
# Versions that have a model to replay.
TRAINED = (
    ModelVersion.Status.CANDIDATE,
    ModelVersion.Status.CHALLENGER,
    ModelVersion.Status.CHAMPION,
    ModelVersion.Status.RETIRED,
)
PROTECTED_LOOKUP = "application__applicant__protected_attributes__"
Progress = Callable[[int, str], None]


def _problem(details: dict[str, str], message: str = CANNOT_RUN) -> ApplicationError:
    return ApplicationError(message, details=details, code="invalid_backtest")


def period_bounds(
    *, first_day: dt.date, last_day: dt.date, allow_today: bool = False
) -> tuple[dt.datetime, dt.datetime]:
    """[first_day 00:00, the day after last_day 00:00) in the site's time zone: both days are in the period,
    which must have ended (a backtest replays the past; `allow_today` lets it run to the end of today)."""
    if last_day < first_day:
        raise _problem({"last_day": f"{last_day.isoformat()} is before the first day, {first_day.isoformat()}"})
    today = timezone.localdate()
    if last_day > today or (last_day == today and not allow_today):
        raise _problem({"last_day": f"must be in the past (before {today.isoformat()})"})
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(first_day, dt.time.min), zone)
    return start, timezone.make_aware(dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min), zone)


def replayable_decisions(*, product: str, period_start: dt.datetime, period_end: dt.datetime) -> QuerySet[Decision]:
    """The period's primary decisions of the product made by a model (historical decisions loaded from data
    sets have neither a probability nor a feature vector to replay)."""
    return Decision.objects.filter(
        is_shadow=False,
        model_version__isnull=False,
        probability_of_default__isnull=False,
        decided_at__gte=period_start,
        decided_at__lt=period_end,
        application__product=product,
    )


def _known_policies(product: str) -> dict[str, DecisionPolicy]:
    """Every policy version already in use for the product: built-in ones and those its versions decide under."""
    policies = dict(POLICIES)
    for version in ModelVersion.objects.filter(product=product, status__in=TRAINED):
        policies.setdefault(version.policy.version, version.policy)
    return policies


def backtest_policy_resolve(
    *,
    product: str,
    candidate: ModelVersion | None,
    approve_below: float | None,
    decline_from: float | None,
    policy_version: str = "",
) -> DecisionPolicy | None:
    """The new cut-offs as a policy (None: the candidate's own). Both cut-offs or neither; a version name
    already used by another policy must mean the same cut-offs, since decisions are replayed by that name."""
    if approve_below is None and decline_from is None:
        if candidate is None:
            raise _problem(
                {"candidate": "choose a candidate version, new cut-offs, or both: there is nothing to replay"}
            )
        return None
    if approve_below is None or decline_from is None:
        missing = "approve_below" if approve_below is None else "decline_from"
        raise _problem({missing: "is required when the other cut-off is set"})
    version = policy_version.strip() or f"lab-{approve_below:g}-{decline_from:g}"
    policy = DecisionPolicy(version=version, approve_below=approve_below, decline_from=decline_from)
    known = _known_policies(product).get(version)
    if known is not None and (known.approve_below, known.decline_from) != (approve_below, decline_from):
        raise _problem(
            {
                "policy_version": f"{version} already names the cut-offs approve below {known.approve_below:g}, "
                f"decline from {known.decline_from:g}; name the new cut-offs differently"
            }
        )
    return policy


def _candidate_check(*, candidate: ModelVersion, product: str, decisions: QuerySet[Decision]) -> None:
    if candidate.product != product:
        raise _problem({"candidate": f"v{candidate.pk} decides {candidate.product}, not {product}"})
    if candidate.status not in TRAINED:
        raise _problem(
            {"candidate": f"v{candidate.pk} is {candidate.get_status_display().lower()}: no model to replay"}
        )
    names = list(scorer_for_version(candidate).names)
    lacking = decisions.exclude(feature_vector__has_keys=names)
    count = lacking.count()
    if count:
        vector = lacking.values_list("feature_vector", flat=True).first() or {}
        missing = [name for name in names if name not in vector]
        raise _problem(
            {
                "candidate": f"{count:,} decisions of the period lack inputs v{candidate.pk} reads "
                f"({', '.join(missing[:5])}{' and more' if len(missing) > 5 else ''}): their stored vectors "
                "cannot be replayed with it"
            }
        )


def backtest_request(
    *,
    product: str,
    first_day: dt.date,
    last_day: dt.date,
    requested_by: Any,
    candidate: ModelVersion | None = None,
    approve_below: float | None = None,
    decline_from: float | None = None,
    policy_version: str = "",
    queue: bool = True,
) -> Backtest:
    """Request the replay of a candidate and/or new cut-offs over the product's decisions from `first_day` to
    `last_day` (both included); checked at once so a form names each problem, replayed on a worker."""
    ensure_role(requested_by, *MANAGER_ROLES)
    period_start, period_end = period_bounds(first_day=first_day, last_day=last_day)
    policy = backtest_policy_resolve(
        product=product,
        candidate=candidate,
        approve_below=approve_below,
        decline_from=decline_from,
        policy_version=policy_version,
    )
    decisions = replayable_decisions(product=product, period_start=period_start, period_end=period_end)
    count = decisions.count()
    if not count:
        raise _problem(
            {
                "first_day": f"no {product} application was decided by a model from {first_day.isoformat()} to "
                f"{last_day.isoformat()}: there is nothing to replay"
            }
        )
    if candidate is not None:
        _candidate_check(candidate=candidate, product=product, decisions=decisions)
    with transaction.atomic():
        backtest = Backtest.objects.create(
            product=product,
            candidate=candidate,
            policy_version=policy.version if policy else "",
            approve_below=policy.approve_below if policy else None,
            decline_from=policy.decline_from if policy else None,
            period_start=period_start,
            period_end=period_end,
            requested_by=requested_by,
            progress_message=QUEUED_MESSAGE,
            parameters={"decisions": count, "resamples": settings.MONITORING_BOOTSTRAP_SAMPLES},
        )
        audit_event_record(
            action="backtest.requested",
            actor=requested_by,
            object_type="backtest",
            object_id=backtest.pk,
            payload={
                "candidate": candidate.pk if candidate else None,
                "policy": policy.as_dict() if policy else None,
                "period": [first_day.isoformat(), last_day.isoformat()],
                "product": product,
                "decisions": count,
            },
        )
        if queue:
            from monitoring.tasks import run_backtest

            transaction.on_commit(lambda: run_backtest.delay(backtest.pk))
    return backtest


# --- reading the period -----------------------------------------------------------------------------------------


def repayment_frame(
    *, decisions: QuerySet[Decision], definition: PerformanceDefinition, as_of: dt.date
) -> pd.DataFrame:
    """One row per funded loan among the decisions' applications: `application_id` and `defaulted`, 1 if the loan
    met the default definition within its horizon (known by `as_of`), 0 if the horizon has passed without, NaN
    if it has not passed yet (the vintage rule of `monitoring.services.performance`)."""
    met = Q(outcomes__as_of__lte=as_of) & (
        Q(outcomes__status=RepaymentOutcome.Status.DEFAULTED) | Q(outcomes__days_past_due__gte=definition.days_past_due)
    )
    loans = queryset_frame(
        Loan.objects.filter(application_id__in=decisions.values("application_id"))
        .exclude(status=Loan.Status.WITHDRAWN)  # never drawn: neither repaid nor defaulted
        .annotate(defaulted_on=Min("outcomes__as_of", filter=met))
        .values_list("application_id", "funded_on", "defaulted_on"),
        columns=["application_id", "funded_on", "defaulted_on"],
    )
    funded = pd.to_datetime(loans["funded_on"])
    defaulted_on = pd.to_datetime(loans["defaulted_on"])
    months_to_default = (defaulted_on.dt.year - funded.dt.year) * 12 + (defaulted_on.dt.month - funded.dt.month)
    observed = (as_of.year * 12 + as_of.month) - (funded.dt.year * 12 + funded.dt.month) - 1
    defaulted = defaulted_on.notna() & (months_to_default <= definition.horizon_months)
    matured = observed >= definition.horizon_months
    loans["defaulted"] = np.where(defaulted, 1.0, np.where(matured, 0.0, np.nan))
    return loans[["application_id", "defaulted"]]


def rows_with_repayment(frame: pd.DataFrame, repayment: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(funded, defaulted) aligned with `frame`'s `application_id` column."""
    indexed = repayment.set_index("application_id")["defaulted"]
    funded = frame["application_id"].isin(indexed.index).to_numpy()
    defaulted = frame["application_id"].map(indexed).to_numpy(dtype=np.float64, na_value=np.nan)
    return funded, defaulted


def protected_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The protected group columns of a read frame, as the engine takes them (missing = not known)."""
    groups = frame[list(GROUP_ATTRIBUTES)]
    return groups.astype(object).where(groups.notna() & (groups != ""), None)


def overridden_count(decisions: QuerySet[Decision]) -> int:
    """How many of the decisions an officer's override in force replaced (pending or rejected ones did not)."""
    return Override.objects.acted_on().filter(decision__in=decisions).values("decision_id").distinct().count()


def comparison_config(*, baseline_label: str, candidate_label: str) -> ComparisonConfig:
    """Resamples and fairness thresholds from the settings, as the monitoring of live decisions uses them."""
    resamples = settings.MONITORING_BOOTSTRAP_SAMPLES
    return ComparisonConfig(
        baseline_label=baseline_label,
        candidate_label=candidate_label,
        bootstrap_resamples=resamples,
        fairness=FairnessConfig(
            intersections=False,
            bootstrap_resamples=resamples,
            min_group_size=settings.FAIRNESS_MIN_GROUP_SIZE,
            four_fifths_threshold=settings.FAIRNESS_AIR_THRESHOLD,
        ),
    )


def definition_for(*, product: str, version: ModelVersion | None) -> PerformanceDefinition:
    """What a default is: the candidate's data set's definition, else the product's champion's."""
    if version is None:
        version = ModelVersion.objects.filter(product=product, status=ModelVersion.Status.CHAMPION).first()
    if version is None:
        version = ModelVersion.objects.filter(product=product, status__in=TRAINED).order_by("-pk").first()
    return (
        PerformanceDefinition.for_version(version)
        if version is not None
        else PerformanceDefinition(
            days_past_due=90, horizon_months=settings.MONITORING_DEFAULT_HORIZON_MONTHS, text="90+ days past due"
        )
    )


def backtest_rows(
    *, backtest: Backtest, inputs: tuple[str, ...] = (), text_inputs: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """The period's decisions, one row each: application, version, stored outcome, probability and policy, the
    protected groups, and each of `inputs` straight out of the stored feature vector."""
    decisions = replayable_decisions(
        product=backtest.product, period_start=backtest.period_start, period_end=backtest.period_end
    )
    aliases = {f"input_{position}": KeyTextTransform(name, "feature_vector") for position, name in enumerate(inputs)}
    columns = [
        "application_id",
        "model_version_id",
        "outcome",
        "probability_of_default",
        "policy_version",
        *GROUP_ATTRIBUTES,
        *inputs,
    ]
    # Unordered in SQL: sorting a million rows that carry their feature vectors spills to disk; the frame is
    # sorted by application instead, so the same period always gives the same rows in the same order (and the
    # same bootstrap draws).
    frame = queryset_frame(
        decisions.annotate(**aliases)
        .order_by()
        .values_list(
            "application_id",
            "model_version_id",
            "outcome",
            "probability_of_default",
            "policy_version",
            *(PROTECTED_LOOKUP + name for name in GROUP_ATTRIBUTES),
            *aliases,
        ),
        columns=columns,
        text_columns=frozenset({"outcome", "policy_version", *GROUP_ATTRIBUTES, *text_inputs}),
    )
    return frame.sort_values("application_id", kind="stable", ignore_index=True)


# --- the worker's side ------------------------------------------------------------------------------------------


def _progress(backtest_id: int, percent: int, message: str) -> None:
    Backtest.objects.filter(pk=backtest_id).update(progress=percent, progress_message=message[:200])


def _claim(backtest_id: int) -> bool:
    """Take the backtest's lease (see `finai.leases`): a redelivered task must not run it twice at once."""
    return lease_take(
        Backtest.objects.filter(pk=backtest_id, status=Backtest.Status.RUNNING),
        field="started_at",
        progress=5,
        progress_message="Reading the period's decisions",
    )


def _reproduction(
    *,
    frame: pd.DataFrame,
    stored: np.ndarray,
    replayed: np.ndarray,
    probabilities: np.ndarray,
    policy: DecisionPolicy,
    candidate: ModelVersion | None,
) -> dict[str, Any]:
    """On the rows the replay must reproduce (decided by the candidate itself, or by any version for new cut-offs
    alone, under the same policy version), how many outcomes differ and by how much the probabilities do."""
    same = (frame["policy_version"] == policy.version).to_numpy()
    if candidate is not None:
        same = same & (frame["model_version_id"] == candidate.pk).to_numpy()
    rows = int(same.sum())
    stored_probability = frame["probability_of_default"].to_numpy(dtype=np.float64)
    return {
        "decisions": rows,
        "outcome_differences": int((stored[same] != replayed[same]).sum()),
        "max_probability_difference": float(np.abs(stored_probability[same] - probabilities[same]).max())
        if rows
        else None,
        "means": f"decisions made by {'v' + str(candidate.pk) if candidate else 'any version'} under "
        f"{policy.version}: replaying them must give the stored outcome",
    }


def backtest_compute(*, backtest: Backtest, as_of: dt.date, progress: Progress | None = None) -> dict[str, Any]:
    """Replay the backtest and compare; the stored results (JSON-ready)."""

    def report(percent: int, message: str) -> None:
        if progress is not None:
            progress(percent, message)

    candidate = backtest.candidate
    scorer = scorer_for_version(candidate) if candidate is not None else None
    policy = (
        DecisionPolicy(
            version=backtest.policy_version, approve_below=backtest.approve_below, decline_from=backtest.decline_from
        )
        if backtest.has_own_policy
        else candidate.policy
    )
    inputs: tuple[str, ...] = ()
    text_inputs: frozenset[str] = frozenset()
    if scorer is not None:
        inputs = scorer.names
        text_inputs = frozenset(f.name for f in scorer.model.spec.features if f.kind != "numeric")
    frame = backtest_rows(backtest=backtest, inputs=inputs, text_inputs=text_inputs)
    if frame.empty:
        raise _problem({"period": "no application was decided by a model in the period"})
    stored_probability = frame["probability_of_default"].to_numpy(dtype=np.float64)
    rescored = 0
    if scorer is not None:
        report(20, f"Scoring {len(frame):,} applications with v{candidate.pk}")
        replay = decisions_replay(model=scorer.model, policy=policy, features=frame[list(inputs)])
        candidate_probability, replayed, rescored = (
            replay.probabilities,
            replay.outcomes,
            replay.rescored_on_decision_path,
        )
    else:
        report(20, f"Applying {policy.version} to {len(frame):,} stored probabilities")
        candidate_probability = stored_probability
        replayed = policy_outcome_codes(probabilities=stored_probability, policy=policy)
    stored = outcome_codes(frame["outcome"], name="stored outcomes")
    report(40, "Reading repayment outcomes")
    definition = definition_for(product=backtest.product, version=candidate)
    decisions = replayable_decisions(
        product=backtest.product, period_start=backtest.period_start, period_end=backtest.period_end
    )
    funded, defaulted = rows_with_repayment(
        frame, repayment_frame(decisions=decisions, definition=definition, as_of=as_of)
    )
    label = f"v{candidate.pk} under {policy.version}" if candidate is not None else policy.version
    comparison = decisions_compare(
        baseline=stored,
        candidate=replayed,
        baseline_probability=stored_probability,
        candidate_probability=candidate_probability,
        defaulted=defaulted,
        funded=funded,
        protected=protected_columns(frame),
        config=comparison_config(baseline_label="as decided", candidate_label=label),
        progress=lambda percent, message: report(45 + percent // 2, message),
    )
    return _results(
        comparison=comparison,
        frame=frame,
        decisions=decisions,
        policy=policy,
        candidate=candidate,
        reproduction=_reproduction(
            frame=frame,
            stored=stored,
            replayed=replayed,
            probabilities=candidate_probability,
            policy=policy,
            candidate=candidate,
        ),
        rescored=rescored,
        definition=definition,
        as_of=as_of,
    )


def _results(
    *,
    comparison: DecisionComparison,
    frame: pd.DataFrame,
    decisions: QuerySet[Decision],
    policy: DecisionPolicy,
    candidate: ModelVersion | None,
    reproduction: dict[str, Any],
    rescored: int,
    definition: PerformanceDefinition,
    as_of: dt.date,
) -> dict[str, Any]:
    versions = frame["model_version_id"].value_counts().sort_index()
    policies = frame["policy_version"].value_counts().sort_index()
    return {
        "comparison": comparison.to_dict(),
        "baseline": {
            "versions": {f"v{int(version)}": int(count) for version, count in versions.items()},
            "policies": {str(name): int(count) for name, count in policies.items()},
            "overridden": overridden_count(decisions),
        },
        "candidate": {
            "version": candidate.pk if candidate is not None else None,
            "family": candidate.family if candidate is not None else None,
            "policy": policy.as_dict(),
            "rescored_on_decision_path": rescored,
        },
        "reproduction": reproduction,
        "default_definition": definition.as_dict(),
        "as_of": as_of.isoformat(),
    }


def backtest_run(*, backtest_id: int) -> Backtest:
    """The worker's side: replay, compare and store; idempotent per backtest."""
    if not _claim(backtest_id):
        return Backtest.objects.get(pk=backtest_id)
    backtest = Backtest.objects.select_related("candidate__snapshot", "requested_by").get(pk=backtest_id)
    as_of = timezone.localdate()
    try:
        results = backtest_compute(
            backtest=backtest, as_of=as_of, progress=lambda percent, message: _progress(backtest_id, percent, message)
        )
    except ApplicationError as error:
        return _finish(backtest, status=Backtest.Status.FAILED, failure=str(error))
    except Exception as error:
        _finish(
            backtest,
            status=Backtest.Status.FAILED,
            failure=f"The backtest stopped on an unexpected error ({type(error).__name__}); see the worker's log.",
        )
        raise
    return _finish(backtest, status=Backtest.Status.DONE, results=results)


def _finish(backtest: Backtest, *, status: str, failure: str = "", results: dict[str, Any] | None = None) -> Backtest:
    comparison = (results or {}).get("comparison") or {}
    return job_finish(
        backtest,
        status=status,
        failure=failure,
        results=results,
        action="backtest." + ("done" if status == Backtest.Status.DONE else "failed"),
        object_type="backtest",
        payload={
            "applications": comparison.get("applications"),
            "swap_in": (comparison.get("swap_in") or {}).get("applications"),
            "swap_out": (comparison.get("swap_out") or {}).get("applications"),
            "reproduction": (results or {}).get("reproduction"),
        },
    )


# --- promotion ----------------------------------------------------------------------------------------------------


def backtest_attach(*, backtest: Backtest, promotion_request: PromotionRequest, actor: Any) -> Backtest:
    """Attach a done backtest of a version to that version's pending promotion request, so the second approver
    reads it. Only a backtest of the version under its own policy describes what promoting it would do."""
    ensure_role(actor, *MANAGER_ROLES)
    problems = {}
    if backtest.status != Backtest.Status.DONE:
        problems["backtest"] = f"is {backtest.get_status_display().lower()}; only a done backtest can be attached"
    if backtest.candidate_id != promotion_request.version_id:
        replayed = f"v{backtest.candidate_id}" if backtest.candidate_id else "no version (new cut-offs only)"
        problems["candidate"] = f"the backtest replays {replayed}, the request promotes v{promotion_request.version_id}"
    elif backtest.has_own_policy:
        own = promotion_request.version.policy
        if (backtest.approve_below, backtest.decline_from) != (own.approve_below, own.decline_from):
            problems["policy"] = (
                f"the backtest uses {backtest.policy_version}, but v{promotion_request.version_id} would decide under "
                f"its own policy {own.version}"
            )
    if promotion_request.status != PromotionRequest.Status.PENDING:
        problems["promotion_request"] = f"is {promotion_request.get_status_display().lower()}, no longer pending"
    if problems:
        raise _problem(problems, message=CANNOT_ATTACH)
    if backtest.promotion_request_id == promotion_request.pk:
        return backtest
    with transaction.atomic():
        backtest.promotion_request, backtest.attached_by, backtest.attached_at = (
            promotion_request,
            actor,
            timezone.now(),
        )
        backtest.save(update_fields=["promotion_request", "attached_by", "attached_at"])
        audit_event_record(
            action="backtest.attached",
            actor=actor,
            object_type="backtest",
            object_id=backtest.pk,
            payload={"promotion_request": promotion_request.pk, "version": promotion_request.version_id},
        )
    return backtest
