"""Bulk loading of DataFrames into tables whose column names the frame's columns carry, and bulk reading
of a query's rows into a DataFrame.

Postgres gets COPY, which loads (or reads) a million rows in seconds; other back-ends (the SQLite demo)
get one executemany (or a plain fetch). Missing values (NaN, None) are stored as NULL; empty strings stay
empty strings.
"""

from __future__ import annotations

import io

import pandas as pd
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet


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


def queryset_frame(
    queryset: QuerySet, *, columns: list[str], text_columns: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """A `values_list` query's rows as a DataFrame named by `columns`; `text_columns` stay text ("1" is not 1).

    On Postgres the query runs inside COPY ... TO STDOUT and pandas parses the CSV: for a million rows that is
    seconds, where fetching tuples and building Python objects takes many times longer.
    """
    if connection.vendor != "postgresql":
        return pd.DataFrame.from_records(list(queryset), columns=columns)
    sql, params = queryset.query.sql_with_params()
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, NULL '\\N')", buffer)
    buffer.seek(0)
    return pd.read_csv(
        buffer,
        header=None,
        names=columns,
        na_values=["\\N"],
        keep_default_na=False,
        dtype={column: str for column in text_columns},
    )
