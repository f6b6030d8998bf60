"""The application life cycle: submission, the state machine, funding, outcomes (overrides: test_overrides.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from finai.errors import ApplicationError
from finai.models import AuditEvent
from finai.services import audit_chain_verify
from lending.models import Applicant, Decision, LoanApplication, ProtectedAttributes
from lending.services.applications import (
    ApplicantDetails,
    LoanRequest,
    loan_application_submit,
    loan_application_transition,
    loan_fund,
    repayment_outcome_record,
)

pytestmark = pytest.mark.django_db


def submit(officer, **features):
    return loan_application_submit(
        applicant=ApplicantDetails(full_name="Ada Lovelace", protected={"sex": "female", "age_years": 36}),
        request=LoanRequest(amount=Decimal("2500"), term_months=24, purpose="car (new)", features=features),
        submitted_by=officer,
    )


def decide(application, outcome="decline"):
    loan_application_transition(application=application, to_status="scoring")
    decision = Decision.objects.create(
        application=application,
        outcome=outcome,
        probability_of_default=0.4,
        score=540,
        policy_version="test",
        decided_at=timezone.now(),
    )
    loan_application_transition(application=application, to_status="decided")
    return decision


def test_it_stores_the_application_and_an_audit_event_together(loan_officer):
    application = submit(loan_officer, duration_in_month=24)

    assert application.status == LoanApplication.Status.SUBMITTED
    assert application.features == {"duration_in_month": 24}
    event = AuditEvent.objects.get(action="application.submitted")
    assert event.object_id == str(application.pk)
    assert event.actor == loan_officer
    assert audit_chain_verify().intact


def test_it_keeps_protected_attributes_apart_from_features(loan_officer):
    application = submit(loan_officer, duration_in_month=24)

    protected = ProtectedAttributes.objects.get(applicant=application.applicant)
    assert (protected.sex, protected.age_years) == ("female", 36)
    assert "sex" not in application.features


def test_it_names_every_invalid_field_and_creates_nothing(loan_officer):
    with pytest.raises(ApplicationError) as caught:
        loan_application_submit(
            applicant=ApplicantDetails(protected={"religion": "x"}),
            request=LoanRequest(amount=Decimal("0"), term_months=0, features={"sex": "male"}),
            submitted_by=loan_officer,
        )

    assert set(caught.value.details) == {"amount", "term_months", "features", "protected"}
    assert not Applicant.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_transition_the_state_machine_does_not_allow(loan_officer):
    application = submit(loan_officer)

    with pytest.raises(ApplicationError, match="cannot become funded"):
        loan_application_transition(application=application, to_status="funded")
    application.refresh_from_db()
    assert application.status == "submitted"


def test_the_database_refuses_a_second_primary_decision(loan_officer):
    decision = decide(submit(loan_officer))

    with pytest.raises(IntegrityError):
        Decision.objects.create(
            application=decision.application, outcome="approve", policy_version="x", decided_at=timezone.now()
        )


def test_only_an_approved_application_is_funded(loan_officer):
    declined = decide(submit(loan_officer), outcome="decline").application
    approved = decide(submit(loan_officer), outcome="approve").application

    with pytest.raises(ApplicationError, match="Only an approved application"):
        loan_fund(application=declined, principal=Decimal("2500"), funded_on=dt.date(2026, 1, 5))
    loan = loan_fund(application=approved, principal=Decimal("2500"), funded_on=dt.date(2026, 1, 5))

    approved.refresh_from_db()
    assert approved.status == "funded"
    assert loan.term_months == 24


def test_repayment_outcomes_are_validated_and_one_per_date(loan_officer):
    application = decide(submit(loan_officer), outcome="approve").application
    loan = loan_fund(application=application, principal=Decimal("2500"), funded_on=dt.date(2026, 1, 5))

    repayment_outcome_record(loan=loan, status="current", days_past_due=0, as_of=dt.date(2026, 2, 5))
    with pytest.raises(ApplicationError) as caught:
        repayment_outcome_record(loan=loan, status="late", days_past_due=-1, as_of=dt.date(2026, 2, 5))

    assert set(caught.value.details) == {"status", "days_past_due"}
    with pytest.raises(ApplicationError, match="invalid") as caught:
        repayment_outcome_record(loan=loan, status="paid", days_past_due=0, as_of=dt.date(2026, 2, 5))
    assert "as_of" in caught.value.details
