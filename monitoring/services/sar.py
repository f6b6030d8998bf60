"""A suspicious-activity report (SAR) drawn from a screening case: a PDF to file, a CSV of its evidence.

The regulator's form is filled elsewhere; what the bank keeps is the case's own account of it: who
investigated and who approved, the narrative, the alerts with their reasons and the bookings that
triggered them, so an examiner can trace every sentence to a booking. Until the case is closed as
confirmed (which takes a second officer) the report is a draft and says so on every page and row.
Each export is an audit event. reportlab is imported only when a PDF is drawn.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from finai.exports import csv_cell
from finai.roles import COMPLIANCE_ROLES, ensure_role
from finai.services import audit_event_record
from monitoring.models import ScreenedTransaction, ScreeningAlert, ScreeningCase
from monitoring.selectors import alert_bookings

CSV_COLUMNS = [
    "report_status",
    "case_id",
    "case_account",
    "case_status",
    "disposition",
    "alert_id",
    "rule",
    "typology",
    "window_start",
    "window_end",
    "score",
    "booking_id",
    "source",
    "external_id",
    "booked_at",
    "account",
    "counterparty",
    "direction",
    "kind",
    "amount",
]
HEADER_COLOUR = "#eef1f5"
GRID_COLOUR = "#c9d1da"


@dataclass(frozen=True)
class SarEvidence:
    """One triggering booking under the alert it triggered; a booking behind two alerts appears twice."""

    alert: ScreeningAlert
    booking: ScreenedTransaction


def sar_is_draft(case: ScreeningCase) -> bool:
    """Final only once a second officer has closed the case as confirmed."""
    return not (case.status == ScreeningCase.Status.CLOSED and case.disposition == ScreeningCase.Disposition.CONFIRMED)


def sar_evidence(case: ScreeningCase) -> list[SarEvidence]:
    """The case's alerts in time order, each with its triggering bookings."""
    alerts = list(case.alerts.order_by("window_start", "pk"))
    bookings = alert_bookings(alerts)
    return [SarEvidence(alert, booking) for alert in alerts for booking in bookings[alert.pk]]


def _people(case: ScreeningCase) -> tuple[str, str]:
    """The investigator (who requested the confirmation, else the holder or closer) and the approver."""
    investigator = case.close_requested_by or case.assigned_to or case.closed_by
    confirmed = case.disposition == ScreeningCase.Disposition.CONFIRMED
    approver = case.closed_by.get_username() if confirmed and case.closed_by else "not approved yet"
    return (investigator.get_username() if investigator else "nobody yet"), approver


def _exported(case: ScreeningCase, exported_by: Any, *, file_format: str, rows: int) -> None:
    audit_event_record(
        action="screening.case_sar_exported",
        actor=exported_by,
        object_type="screening_case",
        object_id=case.pk,
        payload={"account": case.account, "format": file_format, "draft": sar_is_draft(case), "bookings": rows},
    )


def case_sar_csv(*, case: ScreeningCase, exported_by: Any) -> str:
    """The triggering bookings, one row per alert and booking, with the case's and the alert's columns."""
    ensure_role(exported_by, *COMPLIANCE_ROLES)
    evidence = sar_evidence(case)
    status = "draft" if sar_is_draft(case) else "final"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in evidence:
        alert, booking = item.alert, item.booking
        # A partner's transaction id, account or counterparty is its own text: neutralised where a spreadsheet
        # would run it as a formula; the numbers stay numbers.
        writer.writerow(
            csv_cell(value)
            for value in [
                status,
                case.pk,
                case.account,
                case.status,
                case.disposition,
                alert.pk,
                alert.rule,
                alert.typology,
                alert.window_start.isoformat(),
                alert.window_end.isoformat(),
                Decimal(f"{alert.score:.3f}"),
                booking.pk,
                booking.source,
                booking.external_id,
                booking.booked_at.isoformat(),
                booking.account,
                booking.counterparty,
                booking.direction,
                booking.kind,
                Decimal(f"{booking.amount:.2f}"),
            ]
        )
    _exported(case, exported_by, file_format="csv", rows=len(evidence))
    return buffer.getvalue()


def _table(rows: list[list[Any]], styles: Any, widths: list[float] | None = None) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    cell = styles["BodyText"].clone("cell", fontSize=7, leading=8.5)
    table = Table(
        [[Paragraph(str(value), cell) for value in row] for row in rows], repeatRows=1, hAlign="LEFT", colWidths=widths
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_COLOUR)),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor(GRID_COLOUR)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def case_sar_pdf(*, case: ScreeningCase, exported_by: Any) -> bytes:
    """The report on A4: identity, people, narrative, alerts with reasons, and the triggering bookings."""
    ensure_role(exported_by, *COMPLIANCE_ROLES)
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("body", fontSize=8.5, leading=11)
    heading = styles["Heading3"].clone("heading", fontSize=10, spaceBefore=8, spaceAfter=3)
    draft = sar_is_draft(case)
    label = "DRAFT suspicious-activity report" if draft else "Suspicious-activity report"
    investigator, approver = _people(case)
    evidence = sar_evidence(case)
    alerts = list(dict.fromkeys(item.alert for item in evidence)) or list(case.alerts.order_by("window_start", "pk"))
    disposition = case.get_disposition_display() or "open"
    story: list[Any] = [Paragraph(f"{label}: case {case.pk}", styles["Title"].clone("t", fontSize=15))]
    if draft:
        story.append(
            Paragraph(
                "<b>Draft</b>: the case is not closed as confirmed by a second compliance officer; "
                "this is not a filed report.",
                body,
            )
        )
    story += [
        Paragraph(f"Case {case.pk} · account <b>{escape(case.account)}</b>", body),
        Paragraph(f"Status: {case.get_status_display()} · disposition: {disposition}", body),
        Paragraph(f"Investigator: {escape(investigator)} · approver: {escape(approver)}", body),
        Paragraph(
            f"Opened {case.created_at:%Y-%m-%d %H:%M} UTC"
            + (f" · closed {case.closed_at:%Y-%m-%d %H:%M} UTC" if case.closed_at else ""),
            body,
        ),
        Paragraph("Narrative", heading),
        Paragraph(escape(case.sar_narrative).replace("\n", "<br/>") or "<i>No narrative written yet.</i>", body),
        Paragraph("Alerts", heading),
        _table(
            [["Alert", "Rule", "Typology", "Window (UTC)", "Score", "Reason"]]
            + [
                [
                    alert.pk,
                    escape(alert.rule),
                    escape(alert.typology),
                    f"{alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%Y-%m-%d %H:%M}",
                    f"{alert.score:.2f}",
                    escape(alert.reason),
                ]
                for alert in alerts
            ],
            styles,
            widths=[14 * mm, 28 * mm, 26 * mm, 36 * mm, 12 * mm, 66 * mm],
        ),
        Paragraph("Triggering bookings", heading),
    ]
    if evidence:
        story.append(
            _table(
                [["Alert", "Booked (UTC)", "Booking", "Direction", "Kind", "Counterparty", "Amount"]]
                + [
                    [
                        item.alert.pk,
                        f"{item.booking.booked_at:%Y-%m-%d %H:%M}",
                        escape(f"{item.booking.source}:{item.booking.external_id}"),
                        item.booking.get_direction_display(),
                        escape(item.booking.kind),
                        escape(item.booking.counterparty or "cash"),
                        f"{item.booking.amount:,.2f}",
                    ]
                    for item in evidence
                ],
                styles,
            )
        )
    else:
        story.append(Paragraph("The alerts name no stored booking.", body))
    story += [
        Spacer(1, 6),
        Paragraph(f"Exported by {escape(exported_by.get_username())} from FinAI.", body),
    ]

    def draft_mark(canvas: Any, document: Any) -> None:
        if draft:
            canvas.saveState()
            canvas.setFont("Helvetica-Bold", 9)
            canvas.drawRightString(A4[0] - 14 * mm, A4[1] - 8 * mm, f"DRAFT · case {case.pk} · not a filed report")
            canvas.restoreState()

    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{label} {case.pk}",
        author="FinAI",
        invariant=1,
    ).build(story, onFirstPage=draft_mark, onLaterPages=draft_mark)
    _exported(case, exported_by, file_format="pdf", rows=len(evidence))
    return buffer.getvalue()
