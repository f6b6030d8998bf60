"""Bulk loading of DataFrames into tables whose column names the frame's columns carry.

Postgres gets COPY, which loads a million rows in seconds; other back-ends (the SQLite demo) get one
executemany. Missing values (NaN, None) are stored as NULL; empty strings stay empty strings.
"""

from __future__ import annotations

import io

import pandas as pd
from django.db import connection
from django.db.backends.utils import CursorWrapper


def frame_copy(*, cursor: CursorWrapper, table: str, frame: pd.DataFrame) -> None:
    """COPY the rows into a Postgres table. NULL is spelled \\N, since plain CSV would read "" as NULL."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in frame.columns)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {quote(table)} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def frame_executemany(
    *, cursor: CursorWrapper, table: str, frame: pd.DataFrame, ignore_conflicts: bool = False
) -> None:
    """INSERT the rows with one executemany; `ignore_conflicts` skips rows whose key is already stored (SQLite)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in frame.columns)
    placeholders = ", ".join(["%s"] * len(frame.columns))
    verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    cursor.executemany(f"{verb} INTO {quote(table)} ({columns}) VALUES ({placeholders})", list(rows))
