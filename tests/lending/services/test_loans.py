"""A loan's life after the decision: funded on valid terms, withdrawn before it ran, or closed; each step audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import Loan, LoanApplication
from lending.services.applications import loan_fund, repayment_outcome_record
from lending.services.loans import loan_close, loan_withdraw
from lending.services.outcomes import repayment_outcomes_import
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db

FUNDED_ON = dt.date(2026, 1, 5)


@pytest.fixture
def approved(loan_officer) -> LoanApplication:
    application = LoanApplicationFactory(submitted_by=loan_officer, amount=Decimal("2500.00"), term_months=24)
    DecisionFactory(application=application, outcome="approve")
    return application


@pytest.fixture
def loan(approved, loan_officer) -> Loan:
    return loan_fund(application=approved, principal=Decimal("2500"), funded_on=FUNDED_ON, actor=loan_officer)


def refusal(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


# Funding


def test_funding_books_the_loan_on_the_terms_given_and_audits_them(approved, loan_officer):
    loan = loan_fund(
        application=approved, principal=Decimal("2000"), term_months=12, funded_on=FUNDED_ON, actor=loan_officer
    )

    assert (loan.principal, loan.term_months, loan.funded_on, loan.status) == (
        Decimal("2000"),
        12,
        FUNDED_ON,
        Loan.Status.ACTIVE,
    )
    event = AuditEvent.objects.get(action="loan.funded")
    assert event.actor == loan_officer
    assert event.payload["term_months"] == 12


def test_funding_names_each_invalid_term(approved, loan_officer):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    error = refusal(
        lambda: loan_fund(
            application=approved, principal=Decimal("2500.01"), term_months=36, funded_on=tomorrow, actor=loan_officer
        )
    )

    assert error.details == {
        "principal": "cannot exceed the 2,500.00 applied for and approved",
        "term_months": "must be from 1 to the 24 months applied for",
        "funded_on": "cannot be in the future",
    }
    assert not Loan.objects.exists()


def test_funding_refuses_a_non_positive_principal_and_a_missing_date(approved):
    error = refusal(lambda: loan_fund(application=approved, principal=Decimal("0"), funded_on=None))

    assert set(error.details) == {"principal", "funded_on"}


def test_open_ended_credit_is_funded_without_a_term(loan_officer):
    card = LoanApplicationFactory(submitted_by=loan_officer, term_months=None, product="credit_card")
    DecisionFactory(application=card, outcome="approve")

    error = refusal(lambda: loan_fund(application=card, principal=Decimal("100"), term_months=6, funded_on=FUNDED_ON))
    loan = loan_fund(application=card, principal=Decimal("100"), funded_on=FUNDED_ON)

    assert error.details == {"term_months": "must be left empty: the credit is open-ended"}
    assert loan.term_months is None


def test_a_second_click_on_fund_returns_the_same_loan_and_records_nothing(approved, loan, loan_officer):
    again = loan_fund(application=approved, principal=Decimal("2500.00"), funded_on=FUNDED_ON, actor=loan_officer)

    assert again.pk == loan.pk
    assert Loan.objects.count() == 1
    assert AuditEvent.objects.filter(action="loan.funded").count() == 1


def test_funding_again_on_other_terms_is_a_conflict_naming_the_loan(approved, loan):
    error = refusal(lambda: loan_fund(application=approved, principal=Decimal("1000"), funded_on=FUNDED_ON))

    assert error.code == "conflict"
    assert error.details == {"application": f"is already funded as loan {loan.pk}"}


def test_only_a_loan_officer_funds(approved, model_manager):
    with pytest.raises(PermissionDenied):
        loan_fund(application=approved, principal=Decimal("2500"), funded_on=FUNDED_ON, actor=model_manager)
    assert not Loan.objects.exists()


# Withdrawal


def test_a_withdrawal_records_why_and_withdraws_the_application_too(loan, loan_officer):
    loan_withdraw(
        loan=loan, reason="Found cheaper credit elsewhere.", withdrawn_on=dt.date(2026, 1, 9), actor=loan_officer
    )

    loan.refresh_from_db()
    assert (loan.status, loan.ended_on, loan.end_note, loan.ended_by) == (
        Loan.Status.WITHDRAWN,
        dt.date(2026, 1, 9),
        "Found cheaper credit elsewhere.",
        loan_officer,
    )
    assert loan.application.status == LoanApplication.Status.WITHDRAWN
    event = AuditEvent.objects.get(action="loan.withdrawn")
    assert (event.actor, event.object_id, event.payload["reason"]) == (
        loan_officer,
        str(loan.pk),
        "Found cheaper credit elsewhere.",
    )
    assert AuditEvent.objects.filter(action="application.status_changed", payload__to="withdrawn").exists()


def test_a_withdrawal_names_a_missing_reason_and_a_date_before_funding(loan):
    error = refusal(lambda: loan_withdraw(loan=loan, reason="  ", withdrawn_on=dt.date(2026, 1, 4)))

    assert error.details == {
        "reason": "is required: say why the applicant withdrew",
        "withdrawn_on": "cannot be before the loan was funded (2026-01-05)",
    }
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


def test_a_loan_with_repayments_cannot_be_withdrawn(loan):
    repayment_outcome_record(loan=loan, status="current", days_past_due=0, as_of=dt.date(2026, 2, 5))

    error = refusal(lambda: loan_withdraw(loan=loan, reason="Changed their mind.", withdrawn_on=dt.date(2026, 2, 6)))

    assert error.code == "conflict"
    assert error.details == {"loan": "has a repayment outcome as of 2026-02-05"}


def test_a_second_click_on_withdraw_changes_nothing(loan, loan_officer):
    for _ in range(2):
        loan_withdraw(loan=loan, reason="Cooling-off period.", withdrawn_on=dt.date(2026, 1, 9), actor=loan_officer)

    assert AuditEvent.objects.filter(action="loan.withdrawn").count() == 1


def test_a_withdrawn_loan_takes_no_outcome_from_the_api_or_a_file(loan):
    loan_withdraw(loan=loan, reason="Cooling-off period.", withdrawn_on=dt.date(2026, 1, 9))

    error = refusal(
        lambda: repayment_outcome_record(loan=loan, status="current", days_past_due=0, as_of=dt.date(2026, 2, 5))
    )
    file_error = refusal(
        lambda: repayment_outcomes_import(
            content=f"loan_id,status,days_past_due,as_of\n{loan.pk},current,0,2026-02-05\n".encode(),
            file_name="servicing.csv",
        )
    )

    assert (error.code, list(error.details)) == ("conflict", ["loan"])
    assert file_error.details == {"row 1, loan_id": f"loan {loan.pk} was withdrawn on 2026-01-09: it has no repayments"}


def test_only_a_loan_officer_withdraws(loan, compliance_officer):
    with pytest.raises(PermissionDenied):
        loan_withdraw(loan=loan, reason="x", withdrawn_on=dt.date(2026, 1, 9), actor=compliance_officer)


# Closure


def test_closing_a_loan_records_how_and_when_it_ended(loan, loan_officer):
    repayment_outcome_record(loan=loan, status="paid", days_past_due=0, as_of=dt.date(2026, 6, 30))

    loan_close(loan=loan, status="repaid", closed_on=dt.date(2026, 6, 30), note="Paid early.", actor=loan_officer)

    loan.refresh_from_db()
    assert (loan.status, loan.ended_on, loan.end_note) == (Loan.Status.REPAID, dt.date(2026, 6, 30), "Paid early.")
    event = AuditEvent.objects.get(action="loan.closed")
    assert (event.actor, event.payload["status"], event.payload["closed_on"]) == (loan_officer, "repaid", "2026-06-30")


def test_closing_names_an_unknown_status_and_a_date_before_the_last_outcome(loan):
    repayment_outcome_record(loan=loan, status="defaulted", days_past_due=95, as_of=dt.date(2026, 5, 1))

    unknown = refusal(lambda: loan_close(loan=loan, status="forgiven", closed_on=dt.date(2026, 5, 2)))
    early = refusal(lambda: loan_close(loan=loan, status="charged_off", closed_on=dt.date(2026, 4, 30)))
    future = refusal(
        lambda: loan_close(loan=loan, status="charged_off", closed_on=timezone.localdate() + dt.timedelta(days=1))
    )

    assert unknown.details == {"status": "must be one of repaid, charged_off, closed"}
    assert early.details == {"closed_on": "cannot be before the last repayment outcome (2026-05-01)"}
    assert future.details == {"closed_on": "cannot be in the future"}


def test_a_closed_loan_takes_no_outcome_dated_after_its_end_and_cannot_be_closed_again(loan):
    loan_close(loan=loan, status="charged_off", closed_on=dt.date(2026, 5, 2))

    late = refusal(
        lambda: repayment_outcome_record(loan=loan, status="defaulted", days_past_due=120, as_of=dt.date(2026, 6, 1))
    )
    again = refusal(lambda: loan_close(loan=loan, status="repaid", closed_on=dt.date(2026, 6, 1)))
    withdrawn = refusal(lambda: loan_withdraw(loan=loan, reason="Too late.", withdrawn_on=dt.date(2026, 6, 1)))

    assert late.details == {"as_of": "is after the loan was charged off on 2026-05-02"}
    assert again.code == withdrawn.code == "conflict"
    assert again.details == {"loan": f"loan {loan.pk} was charged off on 2026-05-02"}


def test_a_second_click_on_close_changes_nothing(loan, loan_officer):
    for _ in range(2):
        loan_close(loan=loan, status="closed", closed_on=dt.date(2026, 3, 1), note="Refinanced.", actor=loan_officer)

    assert AuditEvent.objects.filter(action="loan.closed").count() == 1


def test_only_a_loan_officer_closes(loan, model_manager):
    with pytest.raises(PermissionDenied):
        loan_close(loan=loan, status="repaid", closed_on=dt.date(2026, 3, 1), actor=model_manager)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
