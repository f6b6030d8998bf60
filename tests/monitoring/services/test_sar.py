"""The SAR drawn from a screening case: a PDF naming the case, the people, the narrative, the alerts and the
triggering bookings, a CSV of the same bookings; a draft until a second officer closes the case confirmed."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib

import pytest
from django.core.exceptions import PermissionDenied

from finai.models import AuditEvent
from monitoring.models import ScreenedTransaction, ScreeningCase
from monitoring.services.cases import case_assign, case_close_approve, case_close_request, case_narrative_save
from monitoring.services.sar import case_sar_csv, case_sar_pdf, sar_is_draft
from tests.monitoring.screening_records import ACCOUNT, TRIGGERING, structuring_case

pytestmark = pytest.mark.django_db

NARRATIVE = "Three cash deposits of 9,500 to 9,700 in three days, each under the 10,000 reporting threshold."


def pdf_text(document: bytes) -> str:
    """The text drawn on the pages: reportlab writes each line as a literal string in a content stream that it
    deflates and encodes in ASCII85 (pypdf is not a dependency, so the test reads them itself)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", document, flags=re.DOTALL):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2])
        try:
            chunks.append(zlib.decompress(data))
        except zlib.error:
            chunks.append(data)
    drawn = re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", b"".join(chunks))
    return " ".join(text.decode("latin-1").replace("\\(", "(").replace("\\)", ")") for text in drawn)


@pytest.fixture
def case() -> ScreeningCase:
    return structuring_case()


@pytest.fixture
def confirmed_case(case, compliance_officer, second_compliance_officer) -> ScreeningCase:
    case_assign(case=case, assignee=compliance_officer, assigned_by=compliance_officer)
    case_narrative_save(case=case, author=compliance_officer, narrative=NARRATIVE)
    case_close_request(case=case, requested_by=compliance_officer, closing_note="Structuring.")
    return case_close_approve(case=case, approved_by=second_compliance_officer)


def test_the_pdf_is_a_draft_naming_the_case_account_and_the_triggering_bookings(case, compliance_officer):
    document = case_sar_pdf(case=case, exported_by=compliance_officer)

    assert document.startswith(b"%PDF")
    text = pdf_text(document)
    assert f"DRAFT suspicious-activity report: case {case.pk}" in text
    assert ACCOUNT in text
    for amount in ("9,500.00", "9,600.00", "9,700.00"):
        assert amount in text
    assert "20,000.00" not in text  # the transfer out did not trigger the alert


def test_the_pdf_of_a_confirmed_case_is_final_and_names_investigator_and_approver(
    confirmed_case, compliance_officer, second_compliance_officer
):
    text = pdf_text(case_sar_pdf(case=confirmed_case, exported_by=second_compliance_officer))

    assert sar_is_draft(confirmed_case) is False
    assert "DRAFT" not in text
    assert f"Investigator: {compliance_officer.username}" in text
    assert f"approver: {second_compliance_officer.username}" in text
    assert "Three cash deposits of 9,500 to 9,700" in text


def test_the_csv_has_one_row_per_triggering_booking_with_the_case_and_alert(case, compliance_officer):
    rows = list(csv.DictReader(io.StringIO(case_sar_csv(case=case, exported_by=compliance_officer))))

    bookings = {booking.pk: booking for booking in ScreenedTransaction.objects.filter(external_id__in=TRIGGERING)}
    alert = case.alerts.get()
    assert [int(row["booking_id"]) for row in rows] == sorted(bookings)
    for row in rows:
        booking = bookings[int(row["booking_id"])]
        assert (row["case_id"], row["alert_id"], row["rule"], row["report_status"]) == (
            str(case.pk),
            str(alert.pk),
            "structuring v1",
            "draft",
        )
        assert (row["amount"], row["direction"], row["kind"]) == (f"{booking.amount:.2f}", "in", "cash")


def test_the_csv_of_a_confirmed_case_is_final(confirmed_case, compliance_officer):
    rows = list(csv.DictReader(io.StringIO(case_sar_csv(case=confirmed_case, exported_by=compliance_officer))))

    assert {(row["report_status"], row["disposition"]) for row in rows} == {("final", "confirmed")}


def test_each_export_is_audited(case, compliance_officer):
    case_sar_pdf(case=case, exported_by=compliance_officer)
    case_sar_csv(case=case, exported_by=compliance_officer)

    events = AuditEvent.objects.filter(action="screening.case_sar_exported", object_id=str(case.pk))
    assert [(event.actor, event.payload["format"], event.payload["bookings"]) for event in events] == [
        (compliance_officer, "pdf", 3),
        (compliance_officer, "csv", 3),
    ]


def test_only_compliance_may_export(case, loan_officer):
    with pytest.raises(PermissionDenied):
        case_sar_pdf(case=case, exported_by=loan_officer)
    assert not AuditEvent.objects.filter(action="screening.case_sar_exported").exists()
