"""Repayment outcomes from a servicing file: all or nothing, every bad row and column named, audited."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import Loan, RepaymentOutcome
from lending.services.outcomes import repayment_outcomes_import
from tests.factories import LoanApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def loans() -> list[Loan]:
    return [
        Loan.objects.create(
            application=LoanApplicationFactory(status="funded"), principal=1000, term_months=12,
            funded_on=dt.date(2026, 1, 15),
        )
        for _ in range(2)
    ]  # fmt: skip


def _csv(*rows: str) -> bytes:
    return ("loan_id,status,days_past_due,as_of\n" + "\n".join(rows) + "\n").encode()


def test_a_good_file_records_every_outcome_with_one_audit_event(loans, loan_officer):
    first, second = loans
    content = _csv(
        f"{first.pk},current,0,2026-02-15", f"{first.pk},defaulted,95,2026-06-15", f"{second.pk},paid,,2027-01-15"
    )

    result = repayment_outcomes_import(content=content, file_name="march.csv", imported_by=loan_officer)

    assert result.rows == 3
    assert list(first.outcomes.values_list("status", "days_past_due")) == [("current", 0), ("defaulted", 95)]
    assert second.outcomes.get().days_past_due == 0
    event = AuditEvent.objects.get(action="loan.outcomes_imported")
    assert (event.payload["rows"], event.payload["sha256"], event.actor) == (3, result.file_sha256, loan_officer)


def test_every_bad_row_and_column_is_named_and_nothing_is_written(loans):
    first, second = loans
    RepaymentOutcome.objects.create(loan=second, status="current", as_of=dt.date(2026, 3, 1))
    content = _csv(
        f"{first.pk},current,0,2026-02-15",
        "999999,late,-4,2026-13-01",
        f"{first.pk},paid,0,2025-12-31",
        f"{first.pk},paid,0,2026-02-15",
        f"{second.pk},current,0,2026-03-01",
        "1,2",
    )

    with pytest.raises(ApplicationError) as refused:
        repayment_outcomes_import(content=content, file_name="bad.csv")

    assert refused.value.details == {
        "row 2, loan_id": "'999999' is not a funded loan",
        "row 2, status": "'late' is not one of current, paid, defaulted",
        "row 2, days_past_due": "'-4' is not a whole number of days from 0 to 100,000",
        "row 2, as_of": "'2026-13-01' is not a date as YYYY-MM-DD",
        "row 3, as_of": "2025-12-31 is before the loan was funded (2026-01-15)",
        "row 4, as_of": f"loan {first.pk} has another row for 2026-02-15 in this file",
        "row 6": "does not have the header's 4 fields",
        "row 5, as_of": f"loan {second.pk} already has an outcome recorded for 2026-03-01",
    }
    assert "8 problems, nothing was written" in refused.value.message
    assert RepaymentOutcome.objects.count() == 1


def test_a_missing_column_is_named(loans):
    with pytest.raises(ApplicationError) as refused:
        repayment_outcomes_import(content=b"loan_id,status\n1,paid\n", file_name="short.csv")

    assert refused.value.details == {
        "header, days_past_due": "required column is missing from the file",
        "header, as_of": "required column is missing from the file",
    }


def test_the_command_records_a_file_and_fails_naming_problems(loans, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(_csv(f"{loans[0].pk},paid,0,2027-01-15"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv("x,paid,0,2027-01-15"))
    out = StringIO()

    call_command("import_outcomes", "--file", str(good), stdout=out)
    with pytest.raises(CommandError) as refused:
        call_command("import_outcomes", "--file", str(bad))

    assert out.getvalue().startswith("1 outcomes recorded from good.csv")
    assert "row 1, loan_id: 'x' is not a funded loan" in str(refused.value)


def test_a_compliance_officer_may_not_record_outcomes(loans, compliance_officer):
    with pytest.raises(PermissionDenied, match="This requires one of the roles"):
        repayment_outcomes_import(content=_csv(f"{loans[0].pk},paid,0,2027-01-15"), file_name="x.csv",
                                  imported_by=compliance_officer)  # fmt: skip
    assert not RepaymentOutcome.objects.exists()
