"""The application's life: submission, status changes, funding and repayment outcomes (overrides: `overrides.py`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from finai.errors import ApplicationError
from finai.protected_attributes import PROTECTED_ATTRIBUTES
from finai.roles import OFFICER_ROLES, ensure_role
from finai.rows import instance_by, instances_insert, instances_insert_linked
from finai.services import audit_event_record, audit_events_batched
from lending.models import (
    Applicant,
    Decision,
    Loan,
    LoanApplication,
    ProtectedAttributes,
    RepaymentOutcome,
)
from lending.selectors import product_default_term
from lending.services.decisions import (
    application_decide,
    application_scoring_plan,
    application_shadow_decide,
    application_submitted_decision,
    decision_stored,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplicantDetails:
    """Who applies. `protected` holds ECOA-protected characteristics, stored apart, never scored."""

    reference: str = ""
    full_name: str = ""
    email: str = ""
    protected: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoanRequest:
    """What is asked for, and the credit characteristics the decision may use."""

    amount: Decimal
    term_months: int | None  # None for open-ended credit (a card, a line): its schema maps no term
    purpose: str = ""
    features: dict[str, Any] = field(default_factory=dict)
    product: str = "consumer_loan"


def submission_actor_label(user: Any, partner: Any) -> str:
    if user is not None:
        return user.get_username()
    return f"partner:{partner.name}" if partner is not None else "system"


def loan_application_submit(
    *,
    applicant: ApplicantDetails,
    request: LoanRequest,
    submitted_by: Any = None,
    partner: Any = None,
    channel: str = LoanApplication.Channel.PORTAL,
    decide: str = "queue",
) -> LoanApplication:
    """Store the application and its audit event in one transaction, before any scoring.

    Nothing submitted is ever lost: scoring starts only after the commit. `decide` is "queue" (a task on
    the scoring queue), "sync" (decided inline before returning) or "none". A broker outage only delays
    the decision: the periodic `decide_waiting_applications` task queues what was stored but not decided.
    """
    return loan_application_submit_with_decision(
        applicant=applicant,
        request=request,
        submitted_by=submitted_by,
        partner=partner,
        channel=channel,
        decide=decide,
    ).application


@dataclass(frozen=True)
class Submission:
    """A stored application and, when it was decided inline, its primary decision; else, for a submission that
    asked for a decision at once, the code of the reason it waits (e.g. "no_champion", "artifact_tampered")."""

    application: LoanApplication
    decision: Decision | None = None
    waiting_because: str = ""


def loan_application_submit_with_decision(
    *,
    applicant: ApplicantDetails,
    request: LoanRequest,
    submitted_by: Any = None,
    partner: Any = None,
    channel: str = LoanApplication.Channel.PORTAL,
    decide: str = "queue",
) -> Submission:
    """`loan_application_submit`, also returning the decision a "sync" submission got (None if it waits).

    A synchronous decision is made in the submission's own transaction when the champion scored the
    application while checking it: the application is scored once and its rows are written together.
    """
    if decide not in ("queue", "sync", "none"):
        raise ApplicationError("Unknown decision mode.", details={"decide": "must be queue, sync or none"})
    problems: dict[str, str] = {}
    if request.amount is None or request.amount <= 0:
        problems["amount"] = "must be greater than zero"
    if request.term_months is not None and request.term_months <= 0:
        problems["term_months"] = "must be a whole number of months greater than zero"
    leaked = sorted(set(request.features) & set(PROTECTED_ATTRIBUTES))
    if leaked:
        problems["features"] = "protected attributes cannot be credit characteristics: " + ", ".join(leaked)
    unknown = sorted(set(applicant.protected) - set(PROTECTED_ATTRIBUTES))
    if unknown:
        problems["protected"] = "unknown protected attributes: " + ", ".join(unknown)
    if problems:
        raise ApplicationError("The application is invalid.", details=problems)
    term_months = request.term_months
    if term_months is None:  # a fixed-term product's schema gives its term; open-ended credit has none
        with contextlib.suppress(ApplicationError):
            term_months = product_default_term(request.product)
    plan = application_scoring_plan(
        product=request.product,
        features=dict(request.features),
        amount=request.amount,
        term_months=term_months,
        purpose=request.purpose,
    )

    decision = None
    # No savepoint of its own inside a caller's transaction: only database errors can happen in this block,
    # and those abort the caller's transaction whatever it does. Its audit events are chained together at its
    # end, so the chain head is held for the last statements only.
    with transaction.atomic(savepoint=False), audit_events_batched():
        if applicant.reference:
            person = instance_by(Applicant, "reference", applicant.reference)
            if person is None:
                person, _ = Applicant.objects.get_or_create(
                    reference=applicant.reference,
                    defaults={"full_name": applicant.full_name, "email": applicant.email, "source": channel},
                )
        else:  # a new reference names nobody yet: nothing to look up
            person = Applicant.objects.create(
                reference=f"applicant-{uuid.uuid4().hex[:16]}",
                full_name=applicant.full_name,
                email=applicant.email,
                source=channel,
            )
        if applicant.protected:
            ProtectedAttributes.objects.update_or_create(applicant=person, defaults=dict(applicant.protected))
        decided_now = decide == "sync" and plan.scored is not None
        application = LoanApplication(
            reference=f"app-{uuid.uuid4().hex[:20]}",
            applicant=person,
            partner=partner,
            submitted_by=submitted_by,
            channel=channel,
            product=request.product,
            amount=request.amount,
            term_months=term_months,
            purpose=request.purpose,
            features=dict(request.features),
            # Decided in this transaction: stored as such, its submission and decision events say both steps.
            status=LoanApplication.Status.DECIDED if decided_now else LoanApplication.Status.SUBMITTED,
            submitted_at=timezone.now(),
        )
        if decided_now:  # the application and its decision in one statement
            decision = application_submitted_decision(application=application, plan=plan)
            instances_insert_linked(application, decision, link="application")
        else:
            instances_insert([application])
        audit_event_record(
            action="application.submitted",
            actor=submitted_by,
            actor_label=submission_actor_label(submitted_by, partner),
            object_type="loan_application",
            object_id=application.pk,
            payload={"reference": application.reference, "channel": channel, "amount": str(request.amount)},
        )
        if decide == "queue":
            transaction.on_commit(lambda: _queue_decision(application.pk))
        elif decided_now:
            decision_stored(decision=decision, champion=plan.champion, from_status=LoanApplication.Status.SUBMITTED)
    if decide == "sync":
        if decision is not None:
            application_shadow_decide(application=application, challenger=plan.challenger)
        else:
            try:
                decision = application_decide(application_id=application.pk)
            except ApplicationError as exc:
                logger.warning("application %s stored but not decided: %s", application.pk, exc)
                return Submission(application, waiting_because=exc.code)
    return Submission(application, decision)


def _queue_decision(application_id: int) -> None:
    from lending.tasks import decide_application

    try:
        decide_application.delay(application_id)
    except Exception:
        logger.exception("could not queue the decision of application %s; it will be swept up", application_id)


def loan_application_transition(
    *, application: LoanApplication, to_status: str, actor: Any = None, reason: str = ""
) -> LoanApplication:
    """Move along the state machine (LoanApplication.TRANSITIONS); refused moves raise ApplicationError."""
    with transaction.atomic():
        locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
        if not locked.can_transition_to(to_status):
            raise ApplicationError(
                f"An application that is {locked.status} cannot become {to_status}.",
                details={"status": f"allowed next: {', '.join(sorted(locked.TRANSITIONS[locked.status])) or 'none'}"},
                code="invalid_transition",
            )
        from_status, locked.status = locked.status, to_status
        locked.save(update_fields=["status", "updated_at"])
        audit_event_record(
            action="application.status_changed",
            actor=actor,
            object_type="loan_application",
            object_id=locked.pk,
            payload={"from": from_status, "to": to_status, "reason": reason},
        )
    application.status = locked.status
    return locked


def _loan_terms_checked(
    application: LoanApplication, *, principal: Decimal | None, term_months: int | None, funded_on: dt.date | None
) -> dict[str, str]:
    """Each funding term that cannot be booked, named: the loan is the one approved, no larger, no longer."""
    problems: dict[str, str] = {}
    if principal is None or principal <= 0:
        problems["principal"] = "must be greater than zero"
    elif principal > application.amount:
        problems["principal"] = f"cannot exceed the {application.amount:,.2f} applied for and approved"
    if application.term_months is None:
        if term_months is not None:
            problems["term_months"] = "must be left empty: the credit is open-ended"
    elif term_months is not None and not 1 <= term_months <= application.term_months:
        problems["term_months"] = f"must be from 1 to the {application.term_months} months applied for"
    if funded_on is None:
        problems["funded_on"] = "is required"
    elif funded_on > timezone.localdate():
        problems["funded_on"] = "cannot be in the future"
    return problems


def loan_fund(
    *,
    application: LoanApplication,
    principal: Decimal,
    funded_on: dt.date,
    term_months: int | None = None,
    actor: Any = None,
) -> Loan:
    """Book an approved application as a funded loan (audited); `term_months` left out: the term applied for.

    Idempotent for a double-click: funding an application again on the same terms returns its loan and records
    nothing; on other terms it is refused, naming the loan. Staff must be loan officers; `actor=None` is a
    loader or the system.
    """
    if actor is not None:
        ensure_role(actor, *OFFICER_ROLES)
    with transaction.atomic():
        # The lock makes a second click wait for the first and then find its loan.
        locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
        existing = Loan.objects.filter(application=locked).first()
        if existing is not None:
            same_terms = (existing.principal, existing.term_months, existing.funded_on) == (
                principal,
                locked.term_months if term_months is None else term_months,
                funded_on,
            )
            if same_terms:
                return existing
            raise ApplicationError(
                "This application is already funded.",
                details={"application": f"is already funded as loan {existing.pk}"},
                code="conflict",
            )
        final_outcome = application_final_outcome(locked)
        if final_outcome != Decision.Outcome.APPROVE:
            raise ApplicationError(
                "Only an approved application can be funded.",
                details={"application": f"outcome is {final_outcome}"},
            )
        problems = _loan_terms_checked(locked, principal=principal, term_months=term_months, funded_on=funded_on)
        if problems:
            raise ApplicationError("The loan cannot be booked on these terms.", details=problems)
        loan_application_transition(application=application, to_status=LoanApplication.Status.FUNDED, actor=actor)
        loan = Loan.objects.create(
            application=locked,
            principal=principal,
            term_months=locked.term_months if term_months is None else term_months,
            funded_on=funded_on,
        )
        audit_event_record(
            action="loan.funded",
            actor=actor,
            object_type="loan",
            object_id=loan.pk,
            payload={
                "application_id": application.pk,
                "principal": str(principal),
                "term_months": loan.term_months,
                "funded_on": funded_on,
            },
        )
    return loan


def application_final_outcome(application: LoanApplication) -> str | None:
    """The outcome acted on: the latest approved override's, else the primary decision's (None if undecided).

    An override waiting for a second officer, or rejected by one, changes nothing (lending.services.overrides).
    """
    decision = application.decisions.filter(is_shadow=False).first()
    if decision is None:
        return None
    override = decision.overrides.acted_on().order_by("-created_at", "-pk").first()
    return override.outcome_after if override else decision.outcome


def repayment_outcome_record(
    *, loan: Loan, status: str, days_past_due: int, as_of: dt.date, actor: Any = None, actor_label: str = ""
) -> RepaymentOutcome:
    """Record repayment performance as of a date; it feeds monitoring and the next training snapshot."""
    problems: dict[str, str] = {}
    if status not in RepaymentOutcome.Status.values:
        problems["status"] = f"must be one of {', '.join(RepaymentOutcome.Status.values)}"
    if days_past_due is None or days_past_due < 0:
        problems["days_past_due"] = "must be zero or more"
    if as_of is not None and as_of < loan.funded_on:
        problems["as_of"] = "cannot be before the loan was funded"
    if as_of is None:
        problems["as_of"] = "is required"
    if loan.status == Loan.Status.WITHDRAWN:
        raise ApplicationError(
            "A withdrawn loan has no repayments to report.",
            details={"loan": f"loan {loan.pk} was withdrawn on {loan.ended_on}"},
            code="conflict",
        )
    if not problems and loan.ended_on is not None and as_of > loan.ended_on:
        problems["as_of"] = f"is after the loan was {loan.get_status_display().lower()} on {loan.ended_on}"
    if not problems and RepaymentOutcome.objects.filter(loan=loan, as_of=as_of).exists():
        problems["as_of"] = "an outcome for this loan and date is already recorded"
    if problems:
        raise ApplicationError("The repayment outcome is invalid.", details=problems)
    try:
        with transaction.atomic():
            outcome = RepaymentOutcome.objects.create(
                loan=loan, status=status, days_past_due=days_past_due, as_of=as_of
            )
            _outcome_audit(outcome, actor=actor, actor_label=actor_label)
    except IntegrityError as exc:  # a simultaneous report for the same date won the race
        raise ApplicationError(
            "An outcome for this loan and date is already recorded.",
            details={"as_of": "an outcome for this loan and date is already recorded"},
            code="conflict",
        ) from exc
    return outcome


def _outcome_audit(outcome: RepaymentOutcome, *, actor: Any, actor_label: str) -> None:
    audit_event_record(
        action="loan.outcome_recorded",
        actor=actor,
        actor_label=actor_label,
        object_type="loan",
        object_id=outcome.loan_id,
        payload={"status": outcome.status, "days_past_due": outcome.days_past_due, "as_of": outcome.as_of},
    )
