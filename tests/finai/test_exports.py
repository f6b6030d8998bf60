"""The streamed CSV of every export: spreadsheet-safe cells, rows formatted only as they are sent, and the audit."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse
from django.test import RequestFactory

from finai.exports import EXPORT_CHUNK_SIZE, csv_cell, csv_export_response, in_chunks, queryset_csv_response
from finai.models import AuditEvent
from finai.services import audit_event_record


def parsed(response: StreamingHttpResponse) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def export_request(rf: RequestFactory, compliance_officer):
    request = rf.get("/anything.csv", {"action": "model.", "page": "3", "actor": ""})
    request.user = compliance_officer
    return request


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),
        ("\n@SUM(A1:A2)", "'\n@SUM(A1:A2)"),
        (" \n \t-2+3", "' \n \t-2+3"),
        ("  Ann", "  Ann"),
        ("Ann = Example", "Ann = Example"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_read_as_a_formula_gets_a_leading_apostrophe(value, cell):
    assert csv_cell(value) == cell


def test_numbers_stay_numbers_even_when_negative_and_times_are_iso_in_utc():
    when = dt.datetime(2025, 5, 5, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    assert [csv_cell(-3), csv_cell(-0.25), csv_cell(Decimal("-10.50"))] == [-3, -0.25, Decimal("-10.50")]
    assert csv_cell(when) == "2025-05-05T12:30:00+00:00"
    assert csv_cell(dt.date(2025, 5, 5)) == "2025-05-05"
    assert [csv_cell(None), csv_cell(True), csv_cell(False)] == ["", "true", "false"]


@pytest.mark.django_db
def test_a_formula_in_a_stored_value_is_neutralised_in_the_file(export_request):
    response = csv_export_response(
        request=export_request, name="test", header=["name", "amount"], rows=[["=1+2", -5]], row_count=1
    )

    assert parsed(response) == [["name", "amount"], ["'=1+2", "-5"]]


@pytest.mark.django_db
def test_the_response_is_a_streamed_attachment_never_cached(export_request):
    response = csv_export_response(request=export_request, name="audit trail", header=["a"], rows=[], row_count=0)

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_fifty_thousand_rows_are_formatted_one_at_a_time_as_the_response_is_read(export_request):
    pulled = 0

    def rows():
        nonlocal pulled
        for number in range(50_000):
            pulled += 1
            yield [number, f"row {number}"]

    response = csv_export_response(request=export_request, name="big", header=["n", "text"], rows=rows(), row_count=0)
    content = iter(response.streaming_content)

    assert next(content) == b"n,text\r\n"
    assert next(content) == b"0,row 0\r\n"
    assert pulled == 1  # nothing beyond the rows already sent has been produced
    assert sum(1 for _ in content) == 49_999
    assert pulled == 50_000


@pytest.mark.django_db
def test_the_export_is_recorded_with_who_which_filters_and_how_many_rows(export_request, compliance_officer):
    csv_export_response(request=export_request, name="widgets", header=["a"], rows=[], row_count=42)

    event = AuditEvent.objects.get(action="export.widgets")
    assert event.actor == compliance_officer
    assert event.payload == {"export": "widgets", "filters": {"action": "model."}, "rows": 42}


@pytest.mark.django_db
def test_a_queryset_is_read_from_the_cursor_in_chunks_never_held_in_its_cache(export_request, monkeypatch):
    for number in range(5):
        audit_event_record(action="test.event", object_id=number)
    chunk_sizes = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    events = AuditEvent.objects.filter(action="test.event").order_by("sequence")

    response = queryset_csv_response(
        request=export_request, name="events", queryset=events, columns=[("object", lambda event: event.object_id)]
    )

    assert parsed(response) == [["object"], ["0"], ["1"], ["2"], ["3"], ["4"]]
    assert chunk_sizes == [EXPORT_CHUNK_SIZE]
    assert events._result_cache is None
    assert AuditEvent.objects.get(action="export.events").payload["rows"] == 5


def test_in_chunks_splits_any_iterable_into_lists_of_the_size():
    assert list(in_chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(in_chunks([], 2)) == []
