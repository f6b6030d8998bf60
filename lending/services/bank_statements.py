"""Bank transactions an applicant brings: parsed and checked whole, then stored with an audit event.

Thin-file applicants can show their cash flow instead of a credit history (the transaction series the
clustering engine segments). A statement is all-or-nothing: one bad row refuses the file, with every
bad cell named, so an officer never wonders which half was stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from finai.errors import ApplicationError
from finai.services import audit_event_record
from lending.models import Applicant, BankAccount, LoanApplication, Transaction
from lending.services.applications import ApplicantDetails, LoanRequest, loan_application_submit

REQUIRED_COLUMNS = ("date", "amount")
OPTIONAL_COLUMNS = ("description",)
MAX_ROWS = 10_000
MAX_AMOUNT = Decimal("1e12")  # Transaction.amount: 14 digits, 2 after the point
MAX_DESCRIPTION = 60  # Transaction.operation
MAX_LISTED_PROBLEMS = 20
NOT_TEXT = "contains NUL bytes: not a text CSV file (save it as CSV UTF-8)"


@dataclass(frozen=True)
class StatementRow:
    booked_on: dt.date
    amount: Decimal
    description: str = ""


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError("is too large")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("has more than two decimal places")
    return amount


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date as YYYY-MM-DD") from None


def bank_statement_parse(*, text: str) -> list[StatementRow]:
    """Rows of a CSV with columns date (YYYY-MM-DD), amount (signed: credits positive) and optional description.

    Raises ApplicationError naming every bad column and cell ("row 3, amount"), or the file when it is not text
    (a NUL byte, which no CSV holds and Postgres cannot store) or not CSV that the reader can split.
    """
    if "\x00" in text:
        raise ApplicationError("The transactions file was not read.", details={"file": NOT_TEXT})
    try:
        return _parse_rows(text)
    except csv.Error as error:  # e.g. a cell longer than the reader's field limit
        raise ApplicationError("The transactions file was not read.", details={"file": f"not CSV: {error}"}) from None


def _parse_rows(text: str) -> list[StatementRow]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [name.strip().lower() for name in reader.fieldnames or []]
    problems: dict[str, str] = {}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if missing:
        problems["columns"] = "missing " + ", ".join(missing) + " (expected date, amount[, description])"
    if unknown:
        problems["columns"] = (problems.get("columns", "") + "; " if missing else "") + "unknown " + ", ".join(unknown)
    if problems:
        raise ApplicationError("The transactions file was not read.", details=problems)
    reader.fieldnames = columns
    rows: list[StatementRow] = []
    for number, raw in enumerate(reader, start=2):  # row 1 is the header
        if number - 1 > MAX_ROWS:
            problems["rows"] = f"at most {MAX_ROWS} transactions per file"
            break
        values: dict[str, Any] = {}
        for name, parse in (("date", _date), ("amount", _amount)):
            try:
                values[name] = parse(raw.get(name) or "")
            except ValueError as exc:
                problems[f"row {number}, {name}"] = str(exc)
        description = (raw.get("description") or "").strip()
        if len(description) > MAX_DESCRIPTION:
            problems[f"row {number}, description"] = f"is longer than {MAX_DESCRIPTION} characters"
        if len(values) == len(REQUIRED_COLUMNS):
            rows.append(StatementRow(values["date"], values["amount"], description))
    if not rows and not problems:
        problems["rows"] = "the file has no transactions"
    if problems:
        listed = dict(list(problems.items())[:MAX_LISTED_PROBLEMS])
        if len(problems) > len(listed):
            listed["more"] = f"{len(problems) - len(listed)} further problems not listed"
        raise ApplicationError(
            f"The transactions file was not read: {len(problems)} problems, nothing was stored.", details=listed
        )
    return rows


def bank_statement_import(*, applicant: Applicant, rows: list[StatementRow], imported_by: Any = None) -> BankAccount:
    """Store the rows as a new account of the applicant, in one transaction with its audit event."""
    if not rows:
        raise ApplicationError("A statement needs at least one transaction.", details={"rows": "none given"})
    with transaction.atomic():
        account = BankAccount.objects.create(
            applicant=applicant,
            reference=f"portal-{uuid.uuid4().hex[:20]}",
            opened_on=min(row.booked_on for row in rows),
            source="portal",
        )
        Transaction.objects.bulk_create(
            Transaction(
                account=account,
                booked_on=row.booked_on,
                amount=row.amount,
                kind="credit" if row.amount >= 0 else "debit",
                operation=row.description,
            )
            for row in rows
        )
        audit_event_record(
            action="bank_statement.imported",
            actor=imported_by,
            object_type="bank_account",
            object_id=account.pk,
            payload={
                "applicant_id": applicant.pk,
                "transactions": len(rows),
                "first": min(row.booked_on for row in rows),
                "last": max(row.booked_on for row in rows),
            },
        )
    return account


def loan_application_submit_with_statement(
    *, applicant: ApplicantDetails, request: LoanRequest, statement: list[StatementRow], submitted_by: Any
) -> LoanApplication:
    """Submit an application and the applicant's bank transactions together: both are stored, or neither.

    The decision is queued when the transaction commits, so it never runs on a half-stored submission.
    """
    with transaction.atomic():
        application = loan_application_submit(
            applicant=applicant, request=request, submitted_by=submitted_by, decide="queue"
        )
        if statement:
            bank_statement_import(applicant=application.applicant, rows=statement, imported_by=submitted_by)
    return application
