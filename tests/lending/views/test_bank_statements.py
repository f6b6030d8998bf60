"""Bank statements: parsed whole, every bad cell named, stored with an audit event or not at all."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import Applicant, Transaction
from lending.services.bank_statements import StatementRow, bank_statement_import, bank_statement_parse


def test_it_reads_dates_signed_amounts_and_descriptions():
    rows = bank_statement_parse(text='\ufeffDate,Amount,Description\n2026-02-01,"1,200.00",salary\n2026-02-03,-80.5,\n')

    assert rows == [
        StatementRow(dt.date(2026, 2, 1), Decimal("1200.00"), "salary"),
        StatementRow(dt.date(2026, 2, 3), Decimal("-80.5"), ""),
    ]


def test_it_names_every_bad_cell_and_unknown_columns():
    with pytest.raises(ApplicationError) as refused:
        bank_statement_parse(text="date,amount,memo\n2026-02-30,1\n2026-02-01,1.234\n2026-02-02,inf\n")

    assert refused.value.details == {"columns": "unknown memo"}

    with pytest.raises(ApplicationError) as refused:
        bank_statement_parse(text="date,amount\n2026-02-30,1\n2026-02-01,1.234\n2026-02-02,inf\n,\n")

    assert set(refused.value.details) == {
        "row 2, date",
        "row 3, amount",
        "row 4, amount",
        "row 5, date",
        "row 5, amount",
    }
    assert "nothing was stored" in refused.value.message


def test_an_empty_file_is_refused():
    with pytest.raises(ApplicationError) as refused:
        bank_statement_parse(text="date,amount\n")

    assert refused.value.details == {"rows": "the file has no transactions"}


@pytest.mark.django_db
def test_importing_creates_one_account_with_its_transactions_and_an_audit_event(loan_officer):
    applicant = Applicant.objects.create(reference="applicant-1")
    rows = [StatementRow(dt.date(2026, 1, 5), Decimal("-10.00")), StatementRow(dt.date(2026, 1, 2), Decimal("99.99"))]

    account = bank_statement_import(applicant=applicant, rows=rows, imported_by=loan_officer)

    assert account.opened_on == dt.date(2026, 1, 2)
    assert sorted(Transaction.objects.values_list("amount", flat=True)) == [Decimal("-10.00"), Decimal("99.99")]
    event = AuditEvent.objects.get(action="bank_statement.imported")
    assert (event.actor, event.payload["transactions"], event.payload["first"]) == (loan_officer, 2, "2026-01-02")
