"""Import of the PKDD'99 (Berka) bank's eight tables into the record, all or nothing.

Birth numbers are decoded at import straight into the compliance-only `BerkaClientProtectedAttributes`;
`BerkaClient` never holds them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, models, transaction

from finai.bulk import frame_copy, frame_executemany
from finai.errors import ApplicationError
from finai.services import audit_event_record
from lending import berka
from lending.models import (
    BerkaAccount,
    BerkaCard,
    BerkaClient,
    BerkaClientProtectedAttributes,
    BerkaDisposition,
    BerkaDistrict,
    BerkaLoan,
    BerkaOrder,
    BerkaTransaction,
)

BATCH_SIZE = 5_000
# (child table, column, parent table, parent column): checked before anything is written, so a bad
# file is refused with every broken reference named instead of failing half-way on a constraint.
_REFERENCES = (
    ("account", "district_id", "district", "district_id"),
    ("client", "district_id", "district", "district_id"),
    ("disp", "client_id", "client", "client_id"),
    ("disp", "account_id", "account", "account_id"),
    ("card", "disp_id", "disp", "disp_id"),
    ("loan", "account_id", "account", "account_id"),
    ("order", "account_id", "account", "account_id"),
    ("trans", "account_id", "account", "account_id"),
)


@dataclass(frozen=True)
class BerkaImportResult:
    rows: dict[str, int]
    created: dict[str, int]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _dates(frame: pd.DataFrame, column: str) -> list[dt.date]:
    return list(berka.berka_dates(frame[column]).astype(object))


def _instances(table: str, frame: pd.DataFrame) -> list[models.Model]:
    """Model instances for one table's rows, in file order."""
    if table == "district":
        return [
            BerkaDistrict(**{name: None if pd.isna(value) else value for name, value in row.items()})
            for row in frame.to_dict("records")
        ]
    if table == "account":
        return [
            BerkaAccount(
                account_id=account_id, district_id=district_id, frequency=_text(frequency), opened_on=opened_on
            )
            for account_id, district_id, frequency, opened_on in zip(
                frame["account_id"], frame["district_id"], frame["frequency"], _dates(frame, "date"), strict=True
            )
        ]
    if table == "client":
        return [
            BerkaClient(client_id=client_id, district_id=district_id)
            for client_id, district_id in zip(frame["client_id"], frame["district_id"], strict=True)
        ]
    if table == "client_protected":
        decoded = berka.berka_birth_numbers_decode(frame["birth_number"])
        return [
            BerkaClientProtectedAttributes(client_id=client_id, sex=sex, birth_date=birth_date)
            for client_id, sex, birth_date in zip(
                frame["client_id"], decoded["sex"], decoded["birth_date"].astype(object), strict=True
            )
        ]
    if table == "disp":
        return [
            BerkaDisposition(disp_id=disp_id, client_id=client_id, account_id=account_id, type=_text(kind))
            for disp_id, client_id, account_id, kind in zip(
                frame["disp_id"], frame["client_id"], frame["account_id"], frame["type"], strict=True
            )
        ]
    if table == "card":
        return [
            BerkaCard(card_id=card_id, disposition_id=disp_id, type=_text(kind), issued_on=issued_on)
            for card_id, disp_id, kind, issued_on in zip(
                frame["card_id"], frame["disp_id"], frame["type"], _dates(frame, "issued"), strict=True
            )
        ]
    if table == "loan":
        return [
            BerkaLoan(
                loan_id=row["loan_id"],
                account_id=row["account_id"],
                granted_on=granted_on,
                amount=_money(row["amount"]),
                duration_months=row["duration"],
                monthly_payment=_money(row["payments"]),
                status=_text(row["status"]),
            )
            for row, granted_on in zip(frame.to_dict("records"), _dates(frame, "date"), strict=True)
        ]
    if table == "order":
        return [
            BerkaOrder(
                order_id=row["order_id"],
                account_id=row["account_id"],
                bank_to=_text(row["bank_to"]),
                account_to=_text(row["account_to"]),
                amount=_money(row["amount"]),
                k_symbol=_text(row["k_symbol"]),
            )
            for row in frame.to_dict("records")
        ]
    raise ValueError(f"no instances for table {table!r}")


def _transaction_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The transaction file as rows of the BerkaTransaction table, column for column."""
    text = {
        column: frame[source].map(_text)
        for column, source in (
            ("operation", "operation"),
            ("k_symbol", "k_symbol"),
            ("bank", "bank"),
            ("partner_account", "account"),
        )
    }
    return pd.DataFrame(
        {
            "trans_id": frame["trans_id"].astype("int64"),
            "account_id": frame["account_id"].astype("int64"),
            "booked_on": np.datetime_as_string(frame["date"].to_numpy().astype("datetime64[D]"), unit="D"),
            "type": frame["type"],
            "amount": frame["amount"].round(2).map("{:.2f}".format),
            "balance": frame["balance"].round(2).map("{:.2f}".format),
            **text,
        }
    )


def _transactions_load(frame: pd.DataFrame) -> None:
    """Bulk-load the transaction table, skipping rows already stored.

    On Postgres, COPY into a temporary table and one INSERT ... ON CONFLICT DO NOTHING: a whole import
    with 1,031,142 transactions took 44 s on the 2-core development machine, reading and checking the
    files included. Elsewhere (the SQLite demo), executemany with INSERT OR IGNORE.
    """
    rows = _transaction_rows(frame)
    table = BerkaTransaction._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            frame_executemany(cursor=cursor, table=table, frame=rows, ignore_conflicts=True)
            return
        # Dropped on commit; dropped first too, for a second import inside one outer transaction.
        cursor.execute("DROP TABLE IF EXISTS berka_trans_staging")
        cursor.execute(
            f"CREATE TEMPORARY TABLE berka_trans_staging (LIKE {connection.ops.quote_name(table)}) ON COMMIT DROP"
        )
        frame_copy(cursor=cursor, table="berka_trans_staging", frame=rows)
        columns = ", ".join(connection.ops.quote_name(column) for column in rows.columns)
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) "  # noqa: S608
            f"SELECT {columns} FROM berka_trans_staging ON CONFLICT (trans_id) DO NOTHING"
        )


_MODELS: dict[str, type[models.Model]] = {
    "district": BerkaDistrict,
    "account": BerkaAccount,
    "client": BerkaClient,
    "client_protected": BerkaClientProtectedAttributes,
    "disp": BerkaDisposition,
    "card": BerkaCard,
    "loan": BerkaLoan,
    "order": BerkaOrder,
    "trans": BerkaTransaction,
}


def _broken_references(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    problems = {}
    for child, column, parent, parent_column in _REFERENCES:
        missing = frames[child].loc[~frames[child][column].isin(frames[parent][parent_column]), column]
        if not missing.empty:
            examples = ", ".join(str(value) for value in missing.unique()[:3])
            problems[f"{child}.{column}"] = f"{missing.size} rows refer to no row of {parent} (e.g. {examples})"
    return problems


def berka_import(*, path: Path, imported_by: Any = None) -> BerkaImportResult:
    """Load all eight PKDD'99 tables from a folder, all or nothing; rows already stored are skipped.

    Skipping by original identifier makes a second run a no-op and lets the full transaction table
    be loaded over the partial one. Every import is an audit event naming the files and their hashes.
    """
    files = berka.berka_files_find(path=path)
    frames = {
        table: berka.berka_transactions_read(file=file)
        if table == "trans"
        else berka.berka_table_read(file=file, table=table)
        for table, file in files.items()
    }
    problems = _broken_references(frames)
    if problems:
        raise ApplicationError("The Berka files contradict each other.", details=problems)
    frames["client_protected"] = frames["client"]
    created = {}
    with transaction.atomic():
        for table, model in _MODELS.items():
            before = model.objects.count()
            if table == "trans":
                _transactions_load(frames[table])
            else:
                model.objects.bulk_create(
                    _instances(table, frames[table]), batch_size=BATCH_SIZE, ignore_conflicts=True
                )
            created[table] = model.objects.count() - before
        audit_event_record(
            action="clustering.berka_imported",  # the name earlier imports are recorded under: one history
            actor=imported_by,
            object_type="dataset",
            object_id="berka",
            payload={
                "files": {table: file.name for table, file in files.items()},
                "sha256": {table: hashlib.sha256(file.read_bytes()).hexdigest() for table, file in files.items()},
                "rows": {table: len(frames[table]) for table in files},
                "created": created,
            },
        )
    return BerkaImportResult(rows={table: len(frames[table]) for table in files}, created=created)
