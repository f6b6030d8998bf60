"""Overrides of the model's decisions, and the four eyes on the risky ones.

An officer may replace the model's outcome with a written justification. Overriding towards approval far
beyond the model's decline line is where discretion both costs the most credit risk and most easily turns
into disparate treatment, so past a configured risk limit a second officer must approve before the override
is acted on (as a second manager approves a promotion, `analytics.services.registry`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.services.serving import decision_policy_get
from finai.errors import ApplicationError
from finai.roles import OFFICER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Decision, LoanApplication, Override
from lending.services.applications import loan_application_transition

# Cut-offs and probabilities are floats: 0.2 + 0.1 is 0.30000000000000004, so compare to this precision.
_PRECISION = 12


@dataclass(frozen=True)
class RiskLimit:
    """Where an override stands against the risk limit, in the figures the second officer sees."""

    outcome_after: str
    probability_of_default: float | None
    decline_from: float | None
    margin: float
    needs_second_officer: bool
    reason: str

    @property
    def limit(self) -> float | None:
        """The probability of default from which an approval needs a second officer."""
        return None if self.decline_from is None else round(self.decline_from + self.margin, _PRECISION)

    def as_payload(self) -> dict[str, Any]:
        return {**asdict(self), "limit": self.limit}


def override_risk_limit(*, decision: Decision, outcome_after: str) -> RiskLimit:
    """Whether overriding `decision` to `outcome_after` needs a second officer's approval.

    The rule: an override to APPROVE needs a second officer when the decision's probability of default is at
    or above its own policy's `decline_from` plus `settings.OVERRIDE_RISK_MARGIN` (default 0.10, so a policy
    declining from 50% sends approvals of 60% and riskier to a second officer). Why this line:

    - Model risk (SR 11-7): an override is the model being set aside; the further the approval lies beyond
      the model's decline line, the larger the credit risk taken on one person's judgement. Approvals a little
      past the line, and referrals the model left to officers anyway (below `decline_from`), stay with the
      officer, or the queue would drown in routine work and second reviews would become rubber stamps.
    - Fair lending (ECOA / Regulation B): discretionary approvals are where disparate treatment hides —
      favourable exceptions made for some applicants and not for others alike. A second officer on the
      exceptions furthest from the model puts the largest ones in front of someone who did not make them;
      every override, in either direction, is in the compliance report by officer, reason and group.
    - Overrides towards refer or decline never need a second officer: they extend no credit, and an adverse
      outcome carries the officer's written reasons on the adverse-action notice.
    - When the distance cannot be measured (no probability of default, or a policy version that is not
      known), approving what the model declined is treated as beyond the limit: nothing shows it is within.

    The limit is the decision's own recorded policy, so changing a policy never moves old decisions.
    """
    margin = float(settings.OVERRIDE_RISK_MARGIN)
    if outcome_after != Decision.Outcome.APPROVE:
        return RiskLimit(
            outcome_after, decision.probability_of_default, None, margin, False, "only approvals need a second officer"
        )
    try:
        decline_from: float | None = decision_policy_get(decision.policy_version, decision.model_version).decline_from
    except ApplicationError:
        decline_from = None
    probability = decision.probability_of_default
    if probability is None or decline_from is None:
        unmeasured = decision.outcome == Decision.Outcome.DECLINE
        return RiskLimit(
            outcome_after,
            probability,
            decline_from,
            margin,
            unmeasured,
            "the model declined and its distance from the decline line cannot be measured"
            if unmeasured
            else "the model did not decline",
        )
    beyond = round(probability - decline_from, _PRECISION) >= round(margin, _PRECISION)
    words = "at or beyond" if beyond else "within"
    return RiskLimit(
        outcome_after,
        probability,
        decline_from,
        margin,
        beyond,
        f"probability of default {probability:.1%} is {words} the limit: decline line {decline_from:.1%} "
        f"+ margin {margin:.1%}",
    )


def decision_override(*, decision: Decision, outcome: str, justification: str, overridden_by: Any) -> Override:
    """A loan officer replaces the model's outcome; the written justification is mandatory and audited.

    Within the risk limit (`override_risk_limit`) the override is acted on at once (`decision.overridden`);
    beyond it, it is stored `pending` (`decision.override_requested`) and the application stays decided with
    the model's outcome — nothing can be funded on it — until a second officer approves it.
    """
    problems: dict[str, str] = {}
    justification = (justification or "").strip()
    if not justification:
        problems["justification"] = "a written justification is required to override a decision"
    if outcome not in Decision.Outcome.values:
        problems["outcome"] = f"must be one of {', '.join(Decision.Outcome.values)}"
    elif outcome == decision.outcome:
        problems["outcome"] = "must differ from the current outcome"
    if decision.is_shadow:
        problems["decision"] = "a shadow (challenger) decision cannot be overridden"
    if problems:
        raise ApplicationError("The override is invalid.", details=problems)
    risk = override_risk_limit(decision=decision, outcome_after=outcome)
    with transaction.atomic():
        # The application's row lock serialises officers overriding the same decision at once.
        application = LoanApplication.objects.select_for_update().get(pk=decision.application_id)
        if decision.overrides.pending().exists():
            raise ApplicationError(
                "An override of this decision is already waiting for a second officer.",
                details={"decision": "an override is already waiting for a second officer's approval"},
                code="conflict",
            )
        if risk.needs_second_officer:
            return _override_request(decision, application, outcome, justification, overridden_by, risk)
        application = loan_application_transition(
            application=application, to_status=LoanApplication.Status.OVERRIDDEN, actor=overridden_by, reason="override"
        )
        override = Override.objects.create(
            decision=decision,
            overridden_by=overridden_by,
            justification=justification,
            outcome_before=decision.outcome,
            outcome_after=outcome,
            status=Override.Status.APPROVED,
            approved_at=timezone.now(),
        )
        audit_event_record(
            action="decision.overridden",
            actor=overridden_by,
            object_type="decision",
            object_id=decision.pk,
            payload={
                "application_id": application.pk,
                "override_id": override.pk,
                "before": decision.outcome,
                "after": outcome,
                "justification": justification,
                "risk_limit": risk.as_payload(),
            },
        )
    decision.application.status = application.status
    return override


def _override_request(
    decision: Decision,
    application: LoanApplication,
    outcome: str,
    justification: str,
    overridden_by: Any,
    risk: RiskLimit,
) -> Override:
    """Store the override pending; the application keeps the model's outcome until a second officer decides."""
    if application.status != LoanApplication.Status.DECIDED:
        raise ApplicationError(
            f"An application that is {application.status} cannot be overridden.",
            details={"status": f"is {application.status}; only a decided application can be overridden"},
            code="invalid_transition",
        )
    override = Override.objects.create(
        decision=decision,
        overridden_by=overridden_by,
        justification=justification,
        outcome_before=decision.outcome,
        outcome_after=outcome,
        status=Override.Status.PENDING,
    )
    audit_event_record(
        action="decision.override_requested",
        actor=overridden_by,
        object_type="decision",
        object_id=decision.pk,
        payload={
            "application_id": application.pk,
            "override_id": override.pk,
            "before": decision.outcome,
            "after": outcome,
            "justification": justification,
            "risk_limit": risk.as_payload(),
        },
    )
    return override


def _locked_pending(override: Override, decided_by: Any, *, field: str) -> Override:
    """The override, locked, once it is shown to be pending and `decided_by` a second officer (four eyes)."""
    ensure_role(decided_by, *OFFICER_ROLES)
    locked = Override.objects.select_for_update().select_related("decision", "overridden_by").get(pk=override.pk)
    if decided_by.pk == locked.overridden_by_id:
        raise ApplicationError(
            "Four eyes: the officer who asked for an override cannot decide it; a second officer must.",
            details={field: "must be a second officer, not the one who asked for the override"},
            code="four_eyes",
        )
    if locked.status != Override.Status.PENDING:
        raise ApplicationError(
            f"This override is already {locked.status}.", details={"override": locked.status}, code="conflict"
        )
    return locked


def override_approve(*, override: Override, approved_by: Any, note: str = "") -> Override:
    """A second officer approves a pending override: it is acted on from now, and the application is overridden."""
    note = (note or "").strip()
    with transaction.atomic():
        locked = _locked_pending(override, approved_by, field="approved_by")
        application = loan_application_transition(
            application=locked.decision.application,
            to_status=LoanApplication.Status.OVERRIDDEN,
            actor=approved_by,
            reason="override approved by a second officer",
        )
        locked.status = Override.Status.APPROVED
        locked.approved_by, locked.approved_at, locked.review_note = approved_by, timezone.now(), note
        locked.save(update_fields=["status", "approved_by", "approved_at", "review_note"])
        audit_event_record(
            action="decision.override_approved",
            actor=approved_by,
            object_type="decision",
            object_id=locked.decision_id,
            payload={
                "application_id": application.pk,
                "override_id": locked.pk,
                "requested_by": locked.overridden_by.get_username(),
                "before": locked.outcome_before,
                "after": locked.outcome_after,
                "note": note,
            },
        )
    return locked


def override_reject(*, override: Override, rejected_by: Any, note: str) -> Override:
    """A second officer turns a pending override down, saying why; the model's outcome stays acted on."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError(
            "A rejection needs a note.", details={"note": "say why, so the officer who asked can see it"}
        )
    with transaction.atomic():
        locked = _locked_pending(override, rejected_by, field="rejected_by")
        locked.status = Override.Status.REJECTED
        locked.rejected_by, locked.rejected_at, locked.review_note = rejected_by, timezone.now(), note
        locked.save(update_fields=["status", "rejected_by", "rejected_at", "review_note"])
        audit_event_record(
            action="decision.override_rejected",
            actor=rejected_by,
            object_type="decision",
            object_id=locked.decision_id,
            payload={
                "application_id": locked.decision.application_id,
                "override_id": locked.pk,
                "requested_by": locked.overridden_by.get_username(),
                "before": locked.outcome_before,
                "after": locked.outcome_after,
                "note": note,
            },
        )
    return locked
