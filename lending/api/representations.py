"""Records as the API shows them (plain dicts, rendered by the output serializers)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from lending.models import Batch, Decision, Loan, LoanApplication, Override, RepaymentOutcome
from lending.services.applications import Submission
from lending.services.batches import BatchResultRow, batch_errors, batch_progress
from lending.services.partners import partner_applicant_reference_shown


def _reasons(stored: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"code": reason["code"], "text": reason["text"]} for reason in stored]


def application_data(application: LoanApplication) -> dict[str, Any]:
    """Expects `primary_decisions` with their `acted_on_overrides` prefetched (see lending.api.selectors)."""
    decision = application.primary_decisions[0] if application.primary_decisions else None
    try:
        funded_loan_id = application.loan.pk
    except Loan.DoesNotExist:
        funded_loan_id = None
    return _application_body(
        application, decision, decision.acted_on_overrides if decision else [], funded_loan_id=funded_loan_id
    )


def submitted_application_data(submission: Submission) -> dict[str, Any] | None:
    """A submission as `application_data` shows it, from the objects in hand (nothing read back), when they are
    the whole record: just stored, so no override and no loan yet, and decided in the same transaction if at
    all. None when they are not (a decision made after the submission committed marked another copy of the
    application decided): read the application instead."""
    application, decision = submission.application, submission.decision
    if decision is not None and application.status != LoanApplication.Status.DECIDED:
        return None
    return _application_body(application, decision, [], funded_loan_id=None)


def _application_body(
    application: LoanApplication, decision: Decision | None, overrides: list[Override], *, funded_loan_id: int | None
) -> dict[str, Any]:
    decision_data = None
    if decision is not None:
        # Only approved overrides are acted on; one waiting for a second officer changes nothing yet.
        overrides = sorted(overrides, key=lambda override: (override.created_at, override.pk))
        decision_data = {
            "outcome": overrides[-1].outcome_after if overrides else decision.outcome,
            "overridden": bool(overrides),
            "probability_of_default": decision.probability_of_default,
            "score": decision.score,
            "reasons": _reasons(decision.reasons),
            "outside_training_range": list(decision.outside_training_range),
            "model_version": decision.model_version_id,
            "decided_at": decision.decided_at,
        }
    applicant = application.applicant
    return {
        "id": application.pk,
        "reference": application.reference,
        "url": reverse("api:application-detail", args=[application.pk]),
        "status": application.status,
        "product": application.product,
        "applicant": {
            "reference": partner_applicant_reference_shown(partner=application.partner, stored=applicant.reference),
            "full_name": applicant.full_name,
            "email": applicant.email,
        },
        "loan": {"amount": application.amount, "term_months": application.term_months, "purpose": application.purpose},
        "features": application.features,
        "submitted_at": application.submitted_at,
        "decision": decision_data,
        "funded_loan_id": funded_loan_id,
    }


def batch_summary_data(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "url": reverse("api:batch-detail", args=[batch.pk]),
        "status": batch.status,
        "total": batch.total,
        "created_at": batch.created_at,
        "completed_at": batch.completed_at,
    }


def batch_data(batch: Batch) -> dict[str, Any]:
    progress = batch_progress(batch=batch)
    return {
        **batch_summary_data(batch),
        "results_url": reverse("api:batch-results", args=[batch.pk]),
        "processed": progress.processed,
        "pending": progress.pending,
        "submitted": progress.submitted,
        "decided": progress.decided,
        "invalid": progress.invalid,
        "errors": [{"row": row, "errors": errors} for row, errors in batch_errors(batch=batch)],
    }


def batch_result_data(row: BatchResultRow) -> dict[str, Any]:
    return {
        "row": row.row,
        "status": row.status,
        "application_id": row.application_id,
        "application_reference": row.application_reference,
        "outcome": row.outcome,
        "probability_of_default": row.probability_of_default,
        "score": row.score,
        "reasons": row.reasons,
        "errors": row.errors,
    }


def batch_result_csv_row(row: BatchResultRow) -> dict[str, Any]:
    """One flat CSV line: reasons as `code: text` joined by " | ", errors as `field: problem`."""
    return {
        "row": row.row,
        "status": row.status,
        "application_id": row.application_id or "",
        "application_reference": row.application_reference,
        "outcome": row.outcome or "",
        "probability_of_default": "" if row.probability_of_default is None else row.probability_of_default,
        "score": "" if row.score is None else row.score,
        "reasons": " | ".join(f"{reason['code']}: {reason['text']}" for reason in row.reasons),
        "errors": " | ".join(f"{field}: {problem}" for field, problem in row.errors.items()),
    }


def outcome_data(outcome: RepaymentOutcome) -> dict[str, Any]:
    return {
        "id": outcome.pk,
        "loan_id": outcome.loan_id,
        "status": outcome.status,
        "days_past_due": outcome.days_past_due,
        "as_of": outcome.as_of,
        "recorded_at": outcome.recorded_at,
    }
