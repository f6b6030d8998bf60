"""Deciding an application with the champion model, reproducibly, exactly once.

The decision stores the model version, the exact feature vector, the policy version and the reasons,
so `decision_rescore` can replay it. Uniqueness in the database (one primary decision per application)
makes a retried or duplicated task return the first decision instead of making a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from prometheus_client import Counter

from analytics.engine.features import FeatureValueError
from analytics.engine.scoring import ScoredDecision
from analytics.models import ModelVersion
from analytics.services.serving import (
    application_inputs_check,
    application_model_inputs,
    application_score,
    decision_replay,
    scoring_versions,
)
from finai.artifacts import ArtifactUnavailable
from finai.errors import ApplicationError
from finai.rows import instances_insert
from finai.services import audit_event_record
from lending.models import Decision, LoanApplication
from lending.services.segments import NO_HISTORY, application_alternative_data

logger = logging.getLogger(__name__)
DECIDABLE = (LoanApplication.Status.SUBMITTED, LoanApplication.Status.SCORING)
AMOUNT_PLACES = LoanApplication._meta.get_field("amount").decimal_places
# Counted where the decision is recorded, once it is committed; a process's counts reach /metrics through
# PROMETHEUS_MULTIPROC_DIR (see finai.metrics). Shadow decisions are not counted: nobody acts on them.
DECISIONS_RECORDED = Counter(
    "finai_decisions_total", "Primary decisions recorded, by outcome and product.", ["outcome", "product"]
)


def _application_inputs(application: LoanApplication, version: ModelVersion) -> dict[str, Any]:
    """The model's inputs for a stored application, alternative data (its transaction segment) included."""
    inputs = application_model_inputs(
        features=application.features,
        amount=application.amount,
        term_months=application.term_months,
        purpose=application.purpose,
        version=version,
    )
    sources = version.alternative_data
    return {**inputs, **application_alternative_data(application=application, sources=sources)} if sources else inputs


@dataclass(frozen=True)
class ScoringPlan:
    """What a submission was checked against: the product's champion and challenger as read once, and the
    champion's decision when it needs nothing derived after storage (so the application is scored once)."""

    champion: ModelVersion | None = None
    challenger: ModelVersion | None = None
    scored: ScoredDecision | None = None


def application_scoring_plan(
    *, product: str, features: dict[str, Any], amount: Decimal, term_months: int | None, purpose: str
) -> ScoringPlan:
    """Check characteristics against the champion's inputs before anything is stored; name each problem.

    Without a champion there is nothing to check against: the application is stored and waits. A champion
    that reads no alternative data decides here, in the same pass that checks: the stored application gives
    it the very same inputs (an amount with more cents than the database keeps is rounded there, so it is
    scored after storage instead).
    """
    champion, challenger = scoring_versions(product=product)
    if champion is None:
        return ScoringPlan(challenger=challenger)
    inputs = application_model_inputs(
        version=champion, features=features, amount=amount, term_months=term_months, purpose=purpose
    )
    try:
        if champion.alternative_data or not _stored_exactly(amount):
            # Alternative data is derived after submission (from the stored statement): check the
            # characteristics with the value an applicant without transactions gets.
            inputs.update(dict.fromkeys(champion.alternative_data, NO_HISTORY))
            application_inputs_check(version=champion, inputs=inputs)
            return ScoringPlan(champion, challenger)
        return ScoringPlan(champion, challenger, application_score(version=champion, features=inputs))
    except FeatureValueError as exc:
        raise _misfit(exc, paths=_request_paths(champion)) from exc
    except ArtifactUnavailable:
        # The champion cannot be trusted (logged with its details): nothing to check against, so the
        # application is stored and waits, like one that comes before any champion.
        return ScoringPlan(challenger=challenger)


def _stored_exactly(amount: Decimal) -> bool:
    """Whether the database keeps the amount as given (no rounding), so scoring it now scores the stored row."""
    return isinstance(amount, Decimal) and amount.is_finite() and amount.as_tuple().exponent >= -AMOUNT_PLACES


def application_features_validate(
    *, product: str, features: dict[str, Any], amount: Decimal, term_months: int | None, purpose: str
) -> None:
    """Check characteristics against the champion's inputs before anything is stored; name each problem."""
    application_scoring_plan(
        product=product, features=features, amount=amount, term_months=term_months, purpose=purpose
    )


def _request_paths(version: ModelVersion) -> dict[str, str]:
    """Where each model input came from in the request, so a refusal names the field the applicant filled:
    the loan's own amount, term and purpose ("loan.amount"), else its characteristics ("features.job")."""
    columns = version.snapshot.dataset_schema.features if version.snapshot_id else ()
    paths = {column.name: f"features.{column.name}" for column in columns}
    paths.update({c.name: f"loan.{c.maps_to}" for c in columns if c.maps_to in ("amount", "term_months", "purpose")})
    return paths


def _misfit(error: FeatureValueError, paths: dict[str, str] | None = None) -> ApplicationError:
    details = {(paths or {}).get(name, name): problem for name, problem in error.details.items()}
    return ApplicationError(
        "The application's characteristics do not fit the model.", details=details, code="invalid_features"
    )


def _score(version: ModelVersion, inputs: dict[str, Any]) -> ScoredDecision:
    try:
        return application_score(version=version, features=inputs)
    except FeatureValueError as exc:
        raise _misfit(exc) from exc


def decision_fields(scored: ScoredDecision) -> dict[str, Any]:
    record = scored.as_dict()
    return {
        "outcome": record["outcome"],
        "probability_of_default": record["probability_of_default"],
        "score": record["score"],
        "reasons": record["reasons"],
        "feature_vector": record["features"],
        "policy_version": record["policy_version"],
        "outside_training_range": record["outside_training_range"],
    }


def application_decide(*, application_id: int) -> Decision:
    """Score with the champion, store the decision and its audit event; return the existing one if any."""
    existing = Decision.objects.filter(application_id=application_id, is_shadow=False).first()
    if existing is not None:
        return existing
    application = LoanApplication.objects.get(pk=application_id)
    champion, challenger = scoring_versions(product=application.product)
    if champion is None:
        raise ApplicationError(
            f"No model is champion for {application.product}; the application waits for one.",
            details={"product": application.product},
            code="no_champion",
        )
    scored = _score(champion, _application_inputs(application, champion))
    try:
        with transaction.atomic():
            locked = LoanApplication.objects.select_for_update().get(pk=application_id)
            existing = Decision.objects.filter(application=locked, is_shadow=False).first()
            if existing is not None:
                return existing
            if locked.status not in DECIDABLE:
                raise ApplicationError(
                    f"An application that is {locked.status} cannot be decided.", code="invalid_transition"
                )
            decision = _decision_record(locked, champion, scored)
    except IntegrityError:
        # A concurrent delivery of the same task won the race: its decision is the decision.
        return Decision.objects.get(application_id=application_id, is_shadow=False)
    if challenger is not None:
        _shadow_decide(application, challenger)
    return decision


def application_submitted_decision(*, application: LoanApplication, plan: ScoringPlan) -> Decision:
    """The decision `plan` scored for an application about to be stored in the caller's open transaction, unsaved:
    the caller inserts the two together (`finai.rows.instances_insert_linked`), then calls `decision_stored`.

    No other transaction can see that application yet, so there is nothing to lock and no earlier decision
    to look for. The application is stored as decided already (one update fewer).
    """
    if plan.champion is None or plan.scored is None:
        raise ValueError("the plan holds no decision: decide the stored application with application_decide")
    return Decision(
        application=application, model_version=plan.champion, decided_at=timezone.now(), **decision_fields(plan.scored)
    )


def decision_stored(*, decision: Decision, champion: ModelVersion, from_status: str) -> None:
    """What follows a champion's decision once it is inserted: its `decision.made` event (recording the status the
    application came `from_status`) and, once committed, the decisions counter."""
    application = decision.application
    transaction.on_commit(DECISIONS_RECORDED.labels(outcome=decision.outcome, product=application.product).inc)
    decision_made_record(decision=decision, champion=champion, from_status=from_status)


def application_shadow_decide(*, application: LoanApplication, challenger: ModelVersion | None) -> None:
    """The challenger's shadow decision of an application the champion has decided (nothing if none)."""
    if challenger is not None:
        _shadow_decide(application, challenger)


def _decision_record(application: LoanApplication, champion: ModelVersion, scored: ScoredDecision) -> Decision:
    """Store the champion's decision of a stored application the caller holds locked, mark it decided and append
    `decision.made`."""
    decision = Decision(
        application=application, model_version=champion, decided_at=timezone.now(), **decision_fields(scored)
    )
    instances_insert([decision])
    previous_status = application.status
    if application.status != LoanApplication.Status.DECIDED:
        application.status = LoanApplication.Status.DECIDED
        application.save(update_fields=["status", "updated_at"])
    decision_stored(decision=decision, champion=champion, from_status=previous_status)
    return decision


def decision_made_record(*, decision: Decision, champion: ModelVersion, from_status: str) -> None:
    """Append `decision.made` for a champion's decision: what it decided, with what, and from which status."""
    audit_event_record(
        action="decision.made",
        actor_label=f"model:v{champion.pk}",
        object_type="loan_application",
        object_id=decision.application_id,
        payload={
            "decision_id": decision.pk,
            "outcome": decision.outcome,
            "probability_of_default": decision.probability_of_default,
            "score": decision.score,
            "model_version": champion.pk,
            "policy_version": decision.policy_version,
            "reasons": [reason["code"] for reason in decision.reasons],
            "from_status": from_status,
        },
    )


def _shadow_decide(application: LoanApplication, challenger: ModelVersion) -> None:
    """The challenger scores the same application; stored, never shown, never acted on."""
    try:
        scored = _score(challenger, _application_inputs(application, challenger))
        Decision.objects.get_or_create(
            application=application,
            model_version=challenger,
            defaults={"is_shadow": True, "decided_at": timezone.now(), **decision_fields(scored)},
        )
    except Exception:
        logger.exception("shadow scoring of application %s by version %s failed", application.pk, challenger.pk)


# A task published this long ago and still undecided was lost with the broker's data: queue it again. Longer
# than a backlog should take to drain, because a task still queued must not be queued twice; a worker killed
# mid-task does not need it (the broker redelivers its unacknowledged task after the visibility timeout).
DECISION_REQUEUE_AFTER_SECONDS = 10 * 60
# An application whose task never reached the broker (it was down) is queued once the submission's own
# publish, right after its commit, has had time to succeed.
DECISION_UNQUEUED_GRACE_SECONDS = 10


def applications_awaiting_decision(
    *,
    unqueued_grace_seconds: int = DECISION_UNQUEUED_GRACE_SECONDS,
    requeue_after_seconds: int = DECISION_REQUEUE_AFTER_SECONDS,
) -> list[int]:
    """Ids of undecided applications whose decision task never reached the broker, or was lost from it."""
    now = timezone.now()
    never_queued = Q(decision_queued_at__isnull=True, submitted_at__lt=now - timedelta(seconds=unqueued_grace_seconds))
    queued_long_ago = Q(decision_queued_at__lt=now - timedelta(seconds=requeue_after_seconds))
    return list(
        LoanApplication.objects.filter(never_queued | queued_long_ago, status__in=DECIDABLE, decisions__isnull=True)
        .order_by("submitted_at")
        .values_list("pk", flat=True)[:1000]
    )


@dataclass(frozen=True)
class RescoreResult:
    decision_id: int
    matches: bool
    differences: dict[str, dict[str, Any]] = field(default_factory=dict)


def decision_rescore(*, decision: Decision) -> RescoreResult:
    """Replay a decision from its stored feature vector, model version and policy; compare every field."""
    if decision.model_version_id is None:
        raise ApplicationError(
            "A historical decision has no model version to replay.", details={"decision": decision.pk}
        )
    replayed = decision_fields(
        decision_replay(
            version=decision.model_version,
            feature_vector=decision.feature_vector,
            policy_version=decision.policy_version,
        )
    )
    differences = {
        name: {"stored": getattr(decision, name), "replayed": value}
        for name, value in replayed.items()
        if getattr(decision, name) != value
    }
    return RescoreResult(decision.pk, not differences, differences)
