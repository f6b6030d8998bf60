"""CSV exports of the portal's filtered lists: streamed, safe to open in a spreadsheet, and audited.

Every export answers with the rows its list page shows under the same filters. Rows are written as the
database cursor hands them over (`QuerySet.iterator(chunk_size=...)`), so an export of the whole audit trail
or of every historical application never holds its result in memory. Who exported what, under which filters
and how many rows, is recorded in the audit trail before the first row leaves: data that left the building is
on record even if the download is interrupted.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from finai.services import audit_event_record

EXPORT_CHUNK_SIZE = 2000
# OWASP, "CSV Injection": a cell a spreadsheet would read as a formula (or as a formula's continuation after a
# tab or carriage return) is prefixed with an apostrophe, so it is shown as the text it is. Leading spaces and line
# breaks are looked past: some spreadsheets trim them on import and then read what follows.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_SKIPPED_BEFORE_A_FORMULA = " \n"
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _Echo:
    """A file-like object whose `write` hands the line back, so `csv.writer` yields each row as it is formatted."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> str | int | float | Decimal:
    """One value as a spreadsheet-safe cell: numbers as numbers, times in ISO 8601 (UTC), text neutralised.

    Only text is neutralised: a negative number is a number, not a formula, and must stay one.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.lstrip(_SKIPPED_BEFORE_A_FORMULA).startswith(FORMULA_PREFIXES) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header line, then one line per row, each formatted only when the response asks for it."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def queryset_stream(queryset: QuerySet, *, chunk_size: int = EXPORT_CHUNK_SIZE) -> Iterator[Any]:
    """Rows straight from the cursor, `chunk_size` at a time (a server-side cursor on Postgres), never cached."""
    return queryset.iterator(chunk_size=chunk_size)


def in_chunks(items: Iterable[Any], size: int = EXPORT_CHUNK_SIZE) -> Iterator[list[Any]]:
    """Consecutive lists of `size` items: for a column read for many rows at once (one query per chunk)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def export_filters(request: HttpRequest) -> dict[str, str | list[str]]:
    """The list's filters as the request gave them (the page number aside), for the audit record."""
    filters: dict[str, str | list[str]] = {}
    for name, values in request.GET.lists():
        given = [value for value in values if value]
        if name != "page" and given:
            filters[name] = given[0] if len(given) == 1 else given
    return filters


def export_filename(name: str) -> str:
    """`<name>-<UTC timestamp>.csv`, safe in a Content-Disposition header."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return f"{_FILENAME_UNSAFE.sub('-', name)}-{stamp}.csv"


def csv_export_response(
    *,
    request: HttpRequest,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    row_count: int,
) -> StreamingHttpResponse:
    """Record the export in the audit trail (`export.<name>`: who, which filters, how many rows) and stream it.

    `row_count` is counted by the caller on the same filtered query before streaming starts.
    """
    audit_event_record(
        action=f"export.{name}",
        actor=request.user,
        payload={"export": name, "filters": export_filters(request), "rows": row_count},
    )
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(name)}"'
    response["Cache-Control"] = "no-store"  # personal and regulated data: never kept by a shared cache
    return response


def queryset_csv_response(
    *,
    request: HttpRequest,
    name: str,
    queryset: QuerySet,
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
) -> StreamingHttpResponse:
    """Export a filtered queryset with `columns` (header, value of a row): counted, audited, then streamed."""
    header = [title for title, _ in columns]
    rows = ([value(item) for _, value in columns] for item in queryset_stream(queryset))
    return csv_export_response(request=request, name=name, header=header, rows=rows, row_count=queryset.count())
