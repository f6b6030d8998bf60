"""Repayment outcomes from a lender's servicing file: every row checked, then all written or none.

Outcomes are what monitoring learns from (vintages, realised performance); a file that half-loads would
make a cohort look better or worse than it is, so a single bad row stops the whole file, and every bad
row and column is named in one run.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from finai.errors import ApplicationError
from finai.roles import MANAGER_ROLES, OFFICER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Loan, RepaymentOutcome

COLUMNS = ("loan_id", "status", "days_past_due", "as_of")
MAX_LISTED_PROBLEMS = 500
MAX_DAYS_PAST_DUE = 100_000


@dataclass(frozen=True)
class OutcomesImportResult:
    file_sha256: str
    rows: int


def _row_checked(
    number: int, cells: dict[str, str], loans: dict[int, Loan], seen: set[tuple[int, dt.date]], problems: dict
) -> RepaymentOutcome | None:
    """One row as an outcome, or None with its problems recorded as "row N, column"."""
    before = len(problems)

    def fail(column: str, problem: str) -> None:
        problems.setdefault(f"row {number}, {column}", problem)

    loan_id = cells["loan_id"].strip()
    loan = loans.get(int(loan_id)) if loan_id.isdigit() else None
    if loan is None:
        fail("loan_id", f"{loan_id!r} is not a funded loan")
    elif loan.status == Loan.Status.WITHDRAWN:
        fail("loan_id", f"loan {loan.pk} was withdrawn on {loan.ended_on}: it has no repayments")
        loan = None  # its dates say nothing more
    status = cells["status"].strip()
    if status not in RepaymentOutcome.Status.values:
        fail("status", f"{status!r} is not one of {', '.join(RepaymentOutcome.Status.values)}")
    days = cells["days_past_due"].strip() or "0"
    if not days.isdigit() or int(days) > MAX_DAYS_PAST_DUE:
        fail("days_past_due", f"{days!r} is not a whole number of days from 0 to {MAX_DAYS_PAST_DUE:,}")
    try:
        as_of = dt.date.fromisoformat(cells["as_of"].strip())
    except ValueError:
        fail("as_of", f"{cells['as_of'].strip()!r} is not a date as YYYY-MM-DD")
        as_of = None
    if loan is not None and as_of is not None:
        if as_of < loan.funded_on:
            fail("as_of", f"{as_of} is before the loan was funded ({loan.funded_on})")
        elif loan.ended_on is not None and as_of > loan.ended_on:
            fail("as_of", f"{as_of} is after the loan was {loan.get_status_display().lower()} ({loan.ended_on})")
        elif (loan.pk, as_of) in seen:
            fail("as_of", f"loan {loan.pk} has another row for {as_of} in this file")
        seen.add((loan.pk, as_of))
    if len(problems) > before:
        return None
    return RepaymentOutcome(loan=loan, status=status, days_past_due=int(days), as_of=as_of)


def _already_recorded(outcomes: list[RepaymentOutcome], problems: dict[str, str], numbers: list[int]) -> None:
    recorded = set(
        RepaymentOutcome.objects.filter(loan_id__in={o.loan_id for o in outcomes}).values_list("loan_id", "as_of")
    )
    for number, outcome in zip(numbers, outcomes, strict=True):
        if (outcome.loan_id, outcome.as_of) in recorded:
            problems.setdefault(
                f"row {number}, as_of", f"loan {outcome.loan_id} already has an outcome recorded for {outcome.as_of}"
            )


def _refused(file_name: str, problems: dict[str, str]) -> ApplicationError:
    listed = dict(list(problems.items())[:MAX_LISTED_PROBLEMS])
    if len(problems) > len(listed):
        listed["more"] = f"{len(problems) - len(listed)} further problems not listed"
    return ApplicationError(
        f"{file_name} was not imported: {len(problems)} problems, nothing was written.", details=listed
    )


def repayment_outcomes_import(*, content: bytes, file_name: str, imported_by: Any = None) -> OutcomesImportResult:
    """Record a file of outcomes (columns loan_id, status, days_past_due, as_of), all or nothing, audited."""
    if imported_by is not None:
        ensure_role(imported_by, *OFFICER_ROLES, *MANAGER_ROLES)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refused(file_name, {"file": f"is not UTF-8 text (undecodable byte at {exc.start})"}) from exc
    problems: dict[str, str] = {}
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        header = list(rows[0]) if rows else next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        raise _refused(file_name, {"file": f"is not valid CSV: {exc}"}) from exc
    missing = [column for column in COLUMNS if column not in header]
    for column in missing:
        problems[f"header, {column}"] = "required column is missing from the file"
    if not rows and not missing:
        problems["file"] = "has no rows"
    if problems:
        raise _refused(file_name, problems)
    ids = {int(row["loan_id"]) for row in rows if (row.get("loan_id") or "").strip().isdigit()}
    loans = Loan.objects.in_bulk(ids)
    seen: set[tuple[int, dt.date]] = set()
    outcomes, numbers = [], []
    for number, row in enumerate(rows, start=1):
        if None in row or any(value is None for value in row.values()):
            problems[f"row {number}"] = f"does not have the header's {len(header)} fields"
            continue
        outcome = _row_checked(number, row, loans, seen, problems)
        if outcome is not None:
            outcomes.append(outcome)
            numbers.append(number)
    _already_recorded(outcomes, problems, numbers)
    if problems:
        raise _refused(file_name, problems)
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        with transaction.atomic():
            RepaymentOutcome.objects.bulk_create(outcomes, batch_size=2000)
            audit_event_record(
                action="loan.outcomes_imported",
                actor=imported_by,
                object_type="outcomes_file",
                object_id=sha256[:16],
                payload={"file": file_name, "sha256": sha256, "rows": len(outcomes)},
            )
    except IntegrityError as exc:  # another import recorded one of these dates meanwhile
        raise _refused(file_name, {"file": "an outcome in it was recorded meanwhile; run the import again"}) from exc
    return OutcomesImportResult(file_sha256=sha256, rows=len(outcomes))
