"""Import of lending data sets (German credit, HMDA, any file with a schema) into the record.

Each row becomes an applicant with its protected attributes stored apart (ECOA / Regulation B), a
loan application whose features are only the schema's feature columns, the historical decision and,
for repayment data sets, the funded loan and its outcome. An import is all-or-nothing: every row is
checked before anything is written, and the writes share one transaction with their audit event.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from analytics.engine.dataset_schema import ColumnSpec, DatasetSchema, code_normalise
from analytics.services.dataset_schemas import dataset_schema_get, dataset_schema_parse, dataset_schema_record
from finai.errors import ApplicationError
from finai.protected_attributes import GROUP_ATTRIBUTES
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record
from lending.models import Applicant, Decision, Loan, LoanApplication, ProtectedAttributes, RepaymentOutcome

BATCH_SIZE = 2000
LOOKUP_CHUNK = 900  # under SQLite's default limit of 999 query parameters
MAX_LISTED_PROBLEMS = 500  # a user fixes a file in one pass; beyond this only the count is given
DEFAULT_OBSERVED_MONTHS = 12
MAX_AMOUNT = Decimal("1e12")  # LoanApplication.amount: 14 digits, 2 of them after the point
MAX_TERM_MONTHS = 32767  # PositiveSmallIntegerField on every back-end
MAX_REFERENCE = 100


@dataclass(frozen=True)
class ImportResult:
    """What one import did: rows in the file, rows created, rows skipped because already loaded."""

    dataset: str
    file_sha256: str
    rows: int
    created: int
    skipped: int


@dataclass(frozen=True)
class _Row:
    """One checked row, ready to become records."""

    reference: str
    features: dict[str, Any]
    amount: Decimal
    term_months: int | None
    purpose: str
    protected: dict[str, Any]
    other_protected: dict[str, Any]
    approved: bool
    defaulted: bool


class _Problems:
    """Every problem found in a file, keyed by where it is ("row 12, credit_amount")."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, where: str, problem: str) -> None:
        self.found.setdefault(where, problem)

    def raise_if_any(self, file_name: str) -> None:
        if not self.found:
            return
        listed = dict(list(self.found.items())[:MAX_LISTED_PROBLEMS])
        unlisted = len(self.found) - len(listed)
        if unlisted:
            listed["more"] = f"{unlisted} further problems not listed"
        raise ApplicationError(
            f"{file_name} was not imported: {len(self.found)} problems, nothing was written.", details=listed
        )


class _RowChecker:
    """Turns a file's rows into `_Row`s, recording every problem instead of stopping at the first."""

    def __init__(self, schema: DatasetSchema, problems: _Problems) -> None:
        self.schema = schema
        self.problems = problems
        self.amount_column = schema.mapped_to("amount")
        self.term_column = schema.mapped_to("term_months")
        self.purpose_column = schema.mapped_to("purpose")
        self.outcome_column = schema.target if schema.kind == "outcomes" else schema.decision
        if schema.kind == "outcomes":
            self.yes, self.no = schema.positive_label, schema.negative_label
        else:
            self.yes, self.no = schema.approve_label, schema.decline_label
        self.max_lengths = {name: ProtectedAttributes._meta.get_field(name).max_length for name in GROUP_ATTRIBUTES}
        self.references: set[str] = set()
        self.number = 0

    def schema_fits(self) -> None:
        """The schema must say where the loan amount comes from (a valid schema need not)."""
        if self.amount_column is None:
            self.problems.add("schema, amount", "no feature column maps_to amount (the loan amount)")

    def header(self, names: list[str]) -> None:
        """Every schema column must be in the header, once."""
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problems.add(f"header, {name}", "appears more than once")
        for spec in self.schema.columns:
            if spec.name not in names:
                self.problems.add(f"header, {spec.name}", "required column is missing from the file")

    def row(self, number: int, cells: dict[str, str]) -> _Row | None:
        self.number, before = number, len(self.problems.found)
        values: dict[str, Any] = {}
        for spec in self.schema.columns:
            if spec.name not in cells or spec.role == "ignored":
                continue
            try:
                values[spec.name] = spec.parse(cells[spec.name])
            except ValueError as exc:
                self._fail(spec.name, str(exc))
        protected, other = self._protected(values)
        outcome = self._outcome(cells, values)
        row = _Row(
            reference=self._reference(values),
            features={spec.name: values.get(spec.name) for spec in self.schema.features},
            amount=self._amount(values),
            term_months=self._term(values),
            purpose=self._purpose(values),
            protected=protected,
            other_protected=other,
            approved=self.schema.kind == "outcomes" or outcome,
            defaulted=self.schema.kind == "outcomes" and outcome,
        )
        return row if len(self.problems.found) == before else None

    def _fail(self, column: str, problem: str) -> None:
        self.problems.add(f"row {self.number}, {column}", problem)

    def _reference(self, values: dict[str, Any]) -> str:
        id_column = self.schema.id_column
        if id_column is None or id_column.name not in values:
            return f"{self.schema.name}:{self.number}"
        reference = f"{self.schema.name}:{values[id_column.name]}"
        if values[id_column.name] is None:
            self._fail(id_column.name, "the row id is missing")
        elif len(reference) > MAX_REFERENCE:
            self._fail(id_column.name, f"the row id makes a reference longer than {MAX_REFERENCE} characters")
        elif reference in self.references:
            self._fail(id_column.name, f"the row id {values[id_column.name]!r} appears more than once")
        self.references.add(reference)
        return reference

    def _amount(self, values: dict[str, Any]) -> Decimal:
        if self.amount_column is None or self.amount_column.name not in values:
            return Decimal(0)
        value = values[self.amount_column.name]
        if value is None or not 0 < value < MAX_AMOUNT:
            self._fail(self.amount_column.name, "the loan amount must be a number above 0 and below 10^12")
            return Decimal(0)
        return Decimal(str(value)).quantize(Decimal("0.01"))

    def _term(self, values: dict[str, Any]) -> int | None:
        """The term in months, or None for open-ended credit (a card, a line: no term column, no default)."""
        if self.term_column is None:
            return self.schema.default_term_months
        if self.term_column.name not in values:
            return None
        value = values[self.term_column.name]
        if value is None and self.schema.default_term_months is not None:
            return self.schema.default_term_months
        if not isinstance(value, int) or not 0 < value <= MAX_TERM_MONTHS:
            self._fail(self.term_column.name, "the term must be a whole number of months above 0")
            return None
        return value

    def _purpose(self, values: dict[str, Any]) -> str:
        if self.purpose_column is None or values.get(self.purpose_column.name) is None:
            return ""
        purpose = str(values[self.purpose_column.name])
        if len(purpose) > LoanApplication._meta.get_field("purpose").max_length:
            self._fail(self.purpose_column.name, "the purpose is longer than 100 characters")
        return purpose

    def _protected(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """ProtectedAttributes fields, and the protected columns without a field (kept in `other`)."""
        protected: dict[str, Any] = {}
        other: dict[str, Any] = {}
        for spec in self.schema.protected:
            if spec.name not in values:
                continue
            try:
                fields = spec.protected_values(values[spec.name])
            except ValueError as exc:
                self._fail(spec.name, str(exc))
                continue
            if spec.maps_to is None:
                other.update(fields or {spec.name: None})
                continue
            for name, value in fields.items():
                limit = self.max_lengths.get(name)
                if limit is not None and len(str(value)) > limit:
                    self._fail(spec.name, f"{name} {value!r} is longer than {limit} characters")
            protected.update(fields)
        return protected, other

    def _outcome(self, cells: dict[str, str], values: dict[str, Any]) -> bool:
        """True for the positive label (default, or approve), False for the other; unknown values fail."""
        spec: ColumnSpec | None = self.outcome_column
        if spec is None or spec.name not in values:
            return False
        value, code = values[spec.name], code_normalise(cells[spec.name].strip())
        if value is None:
            self._fail(spec.name, "is missing")
            return False

        def matches(label: str | None) -> bool:
            return label is not None and (str(value) == label or code == code_normalise(label))

        if matches(self.yes):
            return True
        if self.no is None or matches(self.no):
            return False
        self._fail(spec.name, f"{cells[spec.name].strip()!r} is neither {self.yes!r} nor {self.no!r}")
        return False


def _rows_read(*, schema: DatasetSchema, text: str, file_name: str) -> list[_Row]:
    """Every row checked against the schema; raises ApplicationError naming every problem."""
    problems = _Problems()
    checker = _RowChecker(schema, problems)
    checker.schema_fits()  # its problems are reported with the rows', never instead of them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=schema.delimiter)
    rows = []
    try:
        header = [name.strip() for name in next(reader, [])]
        if not header:
            problems.add("header", "the file is empty")
            problems.raise_if_any(file_name)
        checker.header(header)
        for number, cells in enumerate((cells for cells in reader if cells), start=1):
            if len(cells) != len(header):
                problems.add(f"row {number}", f"has {len(cells)} fields, the header has {len(header)}")
                continue
            row = checker.row(number, dict(zip(header, cells, strict=True)))
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.add(f"line {reader.line_num}", f"is not valid CSV: {exc}")
    problems.raise_if_any(file_name)
    return rows


def _timestamps(*, schema: DatasetSchema, count: int) -> list[dt.datetime]:
    """Rows spread evenly over the schema's period in file order, so every import dates them alike.

    The data sets carry no application dates; monitoring over time still needs an order.
    """
    start = dt.datetime.combine(schema.period[0], dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(schema.period[1] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    span_seconds = int((end - start).total_seconds())
    return [start + dt.timedelta(seconds=span_seconds * index // max(count, 1)) for index in range(count)]


def _months_after(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _existing_references(references: list[str]) -> set[str]:
    """References already loaded, as applicant or application: those rows are skipped."""
    found: set[str] = set()
    for start in range(0, len(references), LOOKUP_CHUNK):
        chunk = references[start : start + LOOKUP_CHUNK]
        found.update(Applicant.objects.filter(reference__in=chunk).values_list("reference", flat=True))
        found.update(LoanApplication.objects.filter(reference__in=chunk).values_list("reference", flat=True))
    return found


def _rows_store(*, schema: DatasetSchema, rows: list[tuple[_Row, dt.datetime]]) -> None:
    """Bulk-insert the records of new rows; primary keys come back from the insert (RETURNING)."""
    outcomes = schema.kind == "outcomes"
    applicants = Applicant.objects.bulk_create(
        [Applicant(reference=row.reference, source=schema.name) for row, _ in rows], batch_size=BATCH_SIZE
    )
    ProtectedAttributes.objects.bulk_create(
        [
            ProtectedAttributes(applicant=applicant, other=row.other_protected, **row.protected)
            for applicant, (row, _) in zip(applicants, rows, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    status = LoanApplication.Status.FUNDED if outcomes else LoanApplication.Status.DECIDED
    applications = LoanApplication.objects.bulk_create(
        [
            LoanApplication(
                reference=row.reference,
                applicant=applicant,
                channel=LoanApplication.Channel.IMPORT,
                product=schema.product,
                amount=row.amount,
                term_months=row.term_months,
                purpose=row.purpose,
                features=row.features,
                status=status,
                submitted_at=submitted_at,
            )
            for applicant, (row, submitted_at) in zip(applicants, rows, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    Decision.objects.bulk_create(
        [
            Decision(
                application=application,
                outcome=Decision.Outcome.APPROVE if row.approved else Decision.Outcome.DECLINE,
                policy_version=f"historical:{schema.name}",
                decided_at=submitted_at,
            )
            for application, (row, submitted_at) in zip(applications, rows, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    if not outcomes:
        return
    # Open-ended credit has no term: its outcome is as of the end of the default definition's horizon.
    observed_months = schema.default_definition.horizon_months or DEFAULT_OBSERVED_MONTHS
    loans = Loan.objects.bulk_create(
        [
            Loan(
                application=application,
                principal=row.amount,
                term_months=row.term_months,
                funded_on=submitted_at.date(),
            )
            for application, (row, submitted_at) in zip(applications, rows, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    RepaymentOutcome.objects.bulk_create(
        [
            RepaymentOutcome(
                loan=loan,
                status=RepaymentOutcome.Status.DEFAULTED if row.defaulted else RepaymentOutcome.Status.PAID,
                days_past_due=schema.default_definition.days_past_due if row.defaulted else 0,
                as_of=_months_after(loan.funded_on, loan.term_months or observed_months),
            )
            for loan, (row, _) in zip(loans, rows, strict=True)
        ],
        batch_size=BATCH_SIZE,
    )


def dataset_import(
    *, schema: DatasetSchema, file: str | Path, imported_by: Any = None, schema_origin: str = ""
) -> ImportResult:
    """Load a data set file through its schema, all or nothing, skipping rows loaded before.

    Protected columns land only in ProtectedAttributes (ECOA / Regulation B); the import is one
    audited event recording who loaded which exact file (its SHA-256) under which schema (its SHA-256),
    and the schema is recorded so training and audits find it by the data set's name.
    """
    path = Path(file)
    if not path.is_file():
        raise ApplicationError(f"No data file at {path}.", details={"file": f"{path} does not exist"})
    return dataset_content_import(
        schema=schema, content=path.read_bytes(), file_name=path.name, imported_by=imported_by,
        schema_origin=schema_origin,
    )  # fmt: skip


def dataset_upload_import(
    *, schema_text: str | None, dataset: str | None, content: bytes, file_name: str, imported_by: Any
) -> ImportResult:
    """An import from the portal: a schema uploaded (or a known data set's) and a data file, all or nothing."""
    ensure_role(imported_by, *MANAGER_ROLES)
    if schema_text is not None:
        schema = dataset_schema_parse(text=schema_text, origin="the uploaded file")
        origin = f"uploaded by {imported_by.get_username()}"
    else:
        schema, origin = dataset_schema_get(dataset or ""), dataset or ""
    return dataset_content_import(
        schema=schema, content=content, file_name=file_name, imported_by=imported_by, schema_origin=origin
    )


def dataset_content_import(
    *, schema: DatasetSchema, content: bytes, file_name: str, imported_by: Any = None, schema_origin: str = ""
) -> ImportResult:
    """The import itself, from the file's bytes (a path's or an upload's)."""
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            f"{file_name} was not imported: it is not UTF-8 text.", details={"file": f"undecodable byte at {exc.start}"}
        ) from exc
    rows = _rows_read(schema=schema, text=text, file_name=file_name)
    dated = list(zip(rows, _timestamps(schema=schema, count=len(rows)), strict=True))
    try:
        with transaction.atomic():
            existing = _existing_references([row.reference for row in rows])
            new_rows = [(row, submitted_at) for row, submitted_at in dated if row.reference not in existing]
            _rows_store(schema=schema, rows=new_rows)
            dataset_schema_record(schema=schema, origin=schema_origin or schema.name, actor=imported_by)
            result = ImportResult(
                dataset=schema.name,
                file_sha256=sha256,
                rows=len(rows),
                created=len(new_rows),
                skipped=len(rows) - len(new_rows),
            )
            audit_event_record(
                action="dataset.imported",
                actor=imported_by,
                object_type="dataset",
                object_id=schema.name,
                payload={
                    "dataset": schema.name,
                    "kind": schema.kind,
                    "file": file_name,
                    "sha256": sha256,
                    "schema_sha256": schema.sha256,
                    "rows": result.rows,
                    "created": result.created,
                    "skipped": result.skipped,
                    "imported_by": imported_by.get_username() if imported_by is not None else None,
                },
            )
    except IntegrityError as exc:
        raise ApplicationError(
            f"{file_name} was not imported: the database refused a row, nothing was written.",
            details={"file": f"{exc} (another import of {schema.name} may have run at the same time; run it again)"},
            code="conflict",
        ) from exc
    return result
