"""The transactions contract every screening rule reads, checked once, with every problem named.

A rule that met a missing amount or a naive timestamp halfway through a million rows would fail with a
pandas traceback that names nothing; here the whole table is checked in one pass and the refusal lists
each bad column and (capped) each bad row, so the person who exported it can fix the export.

One row is one booking on one account: `direction` is "in" (credit) or "out" (debit), `amount` is
positive, `counterparty` is the other side (another account of the data set, an outside party, or
missing for cash), `kind` is the channel ("cash", "transfer", "card", ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from finai.errors import ApplicationError

COLUMNS = ("transaction_id", "account", "counterparty", "amount", "direction", "kind", "booked_at")
REQUIRED = ("transaction_id", "account", "amount", "direction", "kind", "booked_at")
DIRECTIONS = ("in", "out")
MAX_ROW_PROBLEMS = 20

INVALID_TRANSACTIONS = "The transactions table is invalid."
MISSING_COLUMN = "missing column"
MISSING_VALUE = "missing value"
NOT_POSITIVE = "must be a positive number"
BAD_DIRECTION = "must be 'in' or 'out'"
BAD_TIMESTAMP = "must be a date and time"
DUPLICATE_ID = "duplicate transaction_id"


def transactions_validate(*, transactions: pd.DataFrame) -> pd.DataFrame:
    """The table in canonical form (sorted by account and time, `booked_at` as UTC-free datetime64).

    Raises `ApplicationError(code="invalid_transactions")` naming each missing column and the first
    `MAX_ROW_PROBLEMS` bad cells ("row 12: amount"), with the total count when more were found.
    """
    details: dict[str, str] = {}
    for column in REQUIRED:
        if column not in transactions.columns:
            details[column] = MISSING_COLUMN
    if details:
        raise ApplicationError(INVALID_TRANSACTIONS, details=details, code="invalid_transactions")

    frame = transactions.reset_index(drop=True)
    if "counterparty" not in frame.columns:
        frame = frame.assign(counterparty=None)
    amount = pd.to_numeric(frame["amount"], errors="coerce")
    booked_at = pd.to_datetime(frame["booked_at"], errors="coerce", format="ISO8601")
    if isinstance(booked_at.dtype, pd.DatetimeTZDtype):
        booked_at = booked_at.dt.tz_convert("UTC").dt.tz_localize(None)

    problems: list[tuple[str, np.ndarray]] = [
        ("transaction_id", frame["transaction_id"].isna().to_numpy()),
        ("account", frame["account"].isna().to_numpy()),
        ("amount", ~(amount > 0).fillna(False).to_numpy(dtype=bool) | ~np.isfinite(amount.fillna(0).to_numpy())),
        ("direction", ~frame["direction"].isin(DIRECTIONS).to_numpy()),
        ("kind", frame["kind"].isna().to_numpy()),
        ("booked_at", booked_at.isna().to_numpy()),
    ]
    messages = {
        "transaction_id": MISSING_VALUE,
        "account": MISSING_VALUE,
        "amount": NOT_POSITIVE,
        "direction": BAD_DIRECTION,
        "kind": MISSING_VALUE,
        "booked_at": BAD_TIMESTAMP,
    }
    duplicated = (
        frame["transaction_id"].duplicated(keep="first").to_numpy() & frame["transaction_id"].notna().to_numpy()
    )
    problems.append(("transaction_id duplicate", duplicated))

    bad_rows = np.concatenate([np.flatnonzero(mask) for _, mask in problems])
    if bad_rows.size:
        total = 0
        listed: list[tuple[int, str, str]] = []
        for column, mask in problems:
            rows = np.flatnonzero(mask)
            total += rows.size
            message = DUPLICATE_ID if column.endswith("duplicate") else messages[column]
            name = column.split(" ")[0]
            listed += [(int(row), name, message) for row in rows[:MAX_ROW_PROBLEMS]]
        listed.sort()
        for row, column, message in listed[:MAX_ROW_PROBLEMS]:
            details[f"row {row}: {column}"] = message
        if total > MAX_ROW_PROBLEMS:
            details["more"] = f"{total - MAX_ROW_PROBLEMS} further problems not listed"
        raise ApplicationError(INVALID_TRANSACTIONS, details=details, code="invalid_transactions")

    canonical = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"],
            "account": frame["account"],
            "counterparty": frame["counterparty"].astype(object).where(frame["counterparty"].notna(), None),
            "amount": amount.astype(float),
            "direction": frame["direction"].astype(str),
            "kind": frame["kind"].astype(str),
            "booked_at": booked_at.astype("datetime64[ns]"),
        }
    )
    return canonical.sort_values(["account", "booked_at"], kind="stable").reset_index(drop=True)
