"""A funded loan's end: withdrawn by the applicant before it ran, or closed (repaid, charged off, closed).

Funding itself is `lending.services.applications.loan_fund`, the application's last step. How a loan ended
matters downstream: a withdrawn loan never ran, so it has no repayment to learn from, and an ended loan takes
no outcome dated after its end. Each change is audited, made under a row lock in one transaction, and a
repeated request (a double-click) with the same values changes nothing and returns the loan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from finai.errors import ApplicationError
from finai.roles import OFFICER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Loan, LoanApplication, RepaymentOutcome
from lending.services.applications import loan_application_transition

MAX_NOTE_CHARACTERS = 2000


def _date_problem(day: dt.date | None, *, loan: Loan) -> str | None:
    if day is None:
        return "is required"
    if day < loan.funded_on:
        return f"cannot be before the loan was funded ({loan.funded_on})"
    if day > timezone.localdate():
        return "cannot be in the future"
    return None


def _locked(loan: Loan) -> Loan:
    return Loan.objects.select_for_update().select_related("application").get(pk=loan.pk)


def _already_ended(loan: Loan) -> ApplicationError:
    return ApplicationError(
        f"This loan is already {loan.get_status_display().lower()}.",
        details={"loan": f"loan {loan.pk} was {loan.get_status_display().lower()} on {loan.ended_on}"},
        code="conflict",
    )


def _refresh(loan: Loan, locked: Loan) -> Loan:
    """The caller's object brought up to date, so a page rendered from it shows the change."""
    for name in ("status", "ended_on", "end_note", "ended_by_id"):
        setattr(loan, name, getattr(locked, name))
    return locked


def loan_withdraw(*, loan: Loan, reason: str, withdrawn_on: dt.date | None, actor: Any = None) -> Loan:
    """The applicant withdrew from a funded loan before any repayment was reported: record it and why.

    The application becomes withdrawn too. A loan with outcomes ran, so it cannot be withdrawn: close it.
    """
    if actor is not None:
        ensure_role(actor, *OFFICER_ROLES)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _locked(loan)
        if locked.status == Loan.Status.WITHDRAWN and (locked.ended_on, locked.end_note) == (withdrawn_on, reason):
            return _refresh(loan, locked)
        if locked.status != Loan.Status.ACTIVE:
            raise _already_ended(locked)
        first_outcome = RepaymentOutcome.objects.filter(loan=locked).order_by("as_of").first()
        if first_outcome is not None:
            raise ApplicationError(
                "A loan with repayments reported cannot be withdrawn; close it instead.",
                details={"loan": f"has a repayment outcome as of {first_outcome.as_of}"},
                code="conflict",
            )
        problems: dict[str, str] = {}
        if not reason:
            problems["reason"] = "is required: say why the applicant withdrew"
        elif len(reason) > MAX_NOTE_CHARACTERS:
            problems["reason"] = f"must be at most {MAX_NOTE_CHARACTERS:,} characters"
        if (problem := _date_problem(withdrawn_on, loan=locked)) is not None:
            problems["withdrawn_on"] = problem
        if problems:
            raise ApplicationError("The withdrawal cannot be recorded.", details=problems)
        locked.status, locked.ended_on, locked.end_note = Loan.Status.WITHDRAWN, withdrawn_on, reason
        locked.ended_by = actor
        locked.save(update_fields=["status", "ended_on", "end_note", "ended_by"])
        loan_application_transition(
            application=locked.application,
            to_status=LoanApplication.Status.WITHDRAWN,
            actor=actor,
            reason=f"the applicant withdrew from loan {locked.pk}",
        )
        audit_event_record(
            action="loan.withdrawn",
            actor=actor,
            object_type="loan",
            object_id=locked.pk,
            payload={"application_id": locked.application_id, "withdrawn_on": withdrawn_on, "reason": reason},
        )
    return _refresh(loan, locked)


def loan_close(*, loan: Loan, status: str, closed_on: dt.date | None, note: str = "", actor: Any = None) -> Loan:
    """End a running loan as repaid, charged off or closed otherwise, on a date no earlier than its last outcome."""
    if actor is not None:
        ensure_role(actor, *OFFICER_ROLES)
    note = (note or "").strip()
    with transaction.atomic():
        locked = _locked(loan)
        if locked.status != Loan.Status.ACTIVE and (locked.status, locked.ended_on, locked.end_note) == (
            status,
            closed_on,
            note,
        ):
            return _refresh(loan, locked)
        if locked.status != Loan.Status.ACTIVE:
            raise _already_ended(locked)
        problems: dict[str, str] = {}
        if status not in Loan.CLOSING_STATUSES:
            problems["status"] = f"must be one of {', '.join(Loan.CLOSING_STATUSES)}"
        if len(note) > MAX_NOTE_CHARACTERS:
            problems["note"] = f"must be at most {MAX_NOTE_CHARACTERS:,} characters"
        if (problem := _date_problem(closed_on, loan=locked)) is not None:
            problems["closed_on"] = problem
        else:
            last_outcome = RepaymentOutcome.objects.filter(loan=locked).order_by("-as_of").first()
            if last_outcome is not None and closed_on < last_outcome.as_of:
                problems["closed_on"] = f"cannot be before the last repayment outcome ({last_outcome.as_of})"
        if problems:
            raise ApplicationError("The loan cannot be closed so.", details=problems)
        locked.status, locked.ended_on, locked.end_note, locked.ended_by = status, closed_on, note, actor
        locked.save(update_fields=["status", "ended_on", "end_note", "ended_by"])
        audit_event_record(
            action="loan.closed",
            actor=actor,
            object_type="loan",
            object_id=locked.pk,
            payload={
                "application_id": locked.application_id,
                "status": status,
                "closed_on": closed_on,
                "note": note,
            },
        )
    return _refresh(loan, locked)
