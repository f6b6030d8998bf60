"""A stored fair-lending report as a one- or two-page PDF: what was audited, and the tables with intervals.

The PDF is what a compliance officer files or sends to an examiner, so it carries the record's identity
(id, source hash or model version or window, settings) next to the numbers. reportlab is imported only
when a PDF is drawn.
"""

from __future__ import annotations

import io
from typing import Any

from analytics.fairness_reports.selectors import MISSING, AttributeSection, Figure, ReportView

FLAG_COLOUR = "#f9e5e2"
HEADER_COLOUR = "#eef1f5"


def _figure(figure: Figure | None, digits: int = 3) -> str:
    return MISSING if figure is None else figure.as_text(digits)


def _source_lines(view: ReportView) -> list[str]:
    report = view.report
    lines = [f"Report {report.pk} · {report.get_kind_display()} · created {report.created_at:%Y-%m-%d %H:%M} UTC"]
    if report.model_version_id:
        lines.append(f"Model version v{report.model_version_id} · data set {report.dataset}")
    if report.source_sha256:
        lines.append(f"File SHA-256 {report.source_sha256} · schema {report.dataset}")
    if report.window_start:
        lines.append(f"Window {report.window_start:%Y-%m-%d} to {report.window_end:%Y-%m-%d} (end exclusive)")
    lines.append(
        f"{view.rows:,} decisions, {view.approved:,} approved. Intervals: {view.confidence:.0%} bootstrap, "
        f"{view.resamples:,} resamples. Four-fifths threshold {view.threshold:g}; groups under "
        f"{view.min_group_size} applicants are marked small."
    )
    return lines


def _attribute_table(section: AttributeSection, styles: Any) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    header = ["Group", "n", "Approval rate", "AIR vs reference", "AIR vs most favoured"]
    if section.has_scores:
        header.append("SMD")
    if section.has_outcomes:
        header += ["Equal opportunity", "Average odds"]
    small = styles["BodyText"].clone("cell", fontSize=7, leading=8.5)
    rows = [[Paragraph(f"<b>{text}</b>", small) for text in header]]
    flagged = []
    for index, group in enumerate(section.groups, start=1):
        label = group.label + (" (reference)" if group.is_reference else "") + (" (small)" if group.small else "")
        row = [
            label,
            f"{group.applicants:,}",
            group.approval_rate.as_percent(),
            _figure(group.adverse_impact_ratio),
            _figure(group.adverse_impact_ratio_vs_most_favoured),
        ]
        if section.has_scores:
            row.append(_figure(group.standardized_mean_difference, 2))
        if section.has_outcomes:
            row += [_figure(group.equal_opportunity_difference), _figure(group.average_odds_difference)]
        rows.append([Paragraph(str(cell), small) for cell in row])
        if group.below_threshold:
            flagged.append(index)
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_COLOUR)),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d1da")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [("BACKGROUND", (0, row), (-1, row), colors.HexColor(FLAG_COLOUR)) for row in flagged]
    table.setStyle(TableStyle(style))
    return table


def fairness_report_pdf(view: ReportView) -> bytes:
    """The report's single attributes and regression-adjusted disparities as tables, on A4."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("body", fontSize=8, leading=10)
    heading = styles["Heading3"].clone("heading", fontSize=10, spaceBefore=6, spaceAfter=3)
    story: list[Any] = [Paragraph(f"Fair-lending report: {view.report.title}", styles["Title"].clone("t", fontSize=15))]
    story += [Paragraph(line, body) for line in _source_lines(view)]
    for section in view.single_attributes:
        story.append(
            Paragraph(
                f"{section.name.replace('_', ' ').capitalize()} — reference {section.reference_group}, "
                f"most favoured {section.most_favoured_group}"
                + (f", {section.rows_not_known} not known" if section.rows_not_known else ""),
                heading,
            )
        )
        story.append(_attribute_table(section, styles))
    for adjusted in view.adjusted:
        story.append(
            Paragraph(
                f"{adjusted.attribute.replace('_', ' ').capitalize()}: difference in denial rate from "
                f"{adjusted.reference_group}, raw and adjusted for {', '.join(adjusted.controls)}",
                heading,
            )
        )
        rows = [["Group", "n", "Raw difference", "Adjusted difference", "Adjusted odds ratio", "p"]]
        rows += [
            [
                row.group,
                f"{row.applicants:,}",
                _figure(row.raw_difference),
                _figure(row.adjusted_difference),
                _figure(row.adjusted_odds_ratio, 2),
                MISSING if row.p_value is None else f"{row.p_value:.2g}",
            ]
            for row in adjusted.groups
        ]
        table = Table(rows, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 7),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_COLOUR)),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d1da")),
                ]
            )
        )
        story.append(table)
    if view.intersections:
        story.append(Spacer(1, 4))
        story.append(
            Paragraph(
                f"{len(view.intersections)} intersections of two attributes are in the CSV download and on the "
                "report page.",
                body,
            )
        )
    story.append(Spacer(1, 4))
    story.append(
        Paragraph(
            "AIR: adverse impact ratio, a group's approval rate over the reference (or most favoured) group's; "
            "shaded rows fall below the four-fifths threshold. SMD: standardized mean difference of scores. "
            "Equal opportunity and average odds: differences in approval rates among applicants who repaid, "
            "and the mean of that and the difference among those who defaulted.",
            body,
        )
    )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Fair-lending report {view.report.pk}",
        author="FinAI",
        invariant=1,
    )
    document.build(story)
    return buffer.getvalue()
