"""Reads for the partner API, always scoped: a partner sees only its own records, staff see all.

A record of another partner is indistinguishable from one that does not exist (404), so ids reveal
nothing about other partners' volumes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet

from lending.models import Batch, Decision, Loan, LoanApplication, Override, Partner
from lending.selectors import application_search
from lending.services.partners import partner_applicant_reference

MAX_ID = 2**63 - 1


def record_id(raw: Any) -> int | None:
    """A path id as a database key; anything else (text, zero, too large) finds nothing."""
    text = str(raw)
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def _applications(partner: Partner | None) -> QuerySet[LoanApplication]:
    applications = LoanApplication.objects.select_related("applicant", "partner", "loan").prefetch_related(
        Prefetch(
            "decisions",
            queryset=Decision.objects.filter(is_shadow=False).prefetch_related(
                Prefetch("overrides", queryset=Override.objects.acted_on(), to_attr="acted_on_overrides")
            ),
            to_attr="primary_decisions",
        )
    )
    return applications if partner is None else applications.filter(partner=partner)


def api_application_get(*, partner: Partner | None, application_id: Any) -> LoanApplication | None:
    number = record_id(application_id)
    return None if number is None else _applications(partner).filter(pk=number).first()


def api_application_list(
    *,
    partner: Partner | None,
    status: str = "",
    outcome: str = "",
    submitted_from: dt.date | None = None,
    submitted_to: dt.date | None = None,
    applicant_reference: str = "",
) -> QuerySet[LoanApplication]:
    matching = application_search(
        status=status, outcome=outcome, submitted_from=submitted_from, submitted_to=submitted_to
    ).values("pk")
    applications = _applications(partner).filter(pk__in=matching)
    if applicant_reference:
        applications = applications.filter(
            applicant__reference=partner_applicant_reference(partner=partner, reference=applicant_reference)
        )
    return applications


def api_batch_get(*, partner: Partner | None, batch_id: Any) -> Batch | None:
    number = record_id(batch_id)
    if number is None:
        return None
    batches = Batch.objects.all() if partner is None else Batch.objects.filter(partner=partner)
    return batches.filter(pk=number).first()


def api_batch_list(*, partner: Partner | None) -> QuerySet[Batch]:
    return Batch.objects.all() if partner is None else Batch.objects.filter(partner=partner)


def api_loan_get(*, partner: Partner | None, loan_id: Any) -> Loan | None:
    number = record_id(loan_id)
    if number is None:
        return None
    loans = Loan.objects.select_related("application")
    if partner is not None:
        loans = loans.filter(application__partner=partner)
    return loans.filter(pk=number).first()
