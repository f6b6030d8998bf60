"""Fair-lending pages: stored reports (page, CSV, PDF, progress while a worker audits), bring-your-own-decisions
uploads, a version's report, and the search for less discriminatory alternatives. Compliance staff read and
request reports; model managers start searches, which compliance staff may also follow. No page computes an
audit: requests queue it on the `analytics` workers and the report page shows its progress."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils.text import slugify

from analytics.fairness_reports.charts import (
    IntervalRow,
    PlanePoint,
    domain_of,
    interval_chart,
    plane_chart,
)
from analytics.fairness_reports.forms import DecisionsUploadForm, LdaSearchForm, VersionReportForm
from analytics.fairness_reports.pdf import fairness_report_pdf
from analytics.fairness_reports.selectors import (
    CSV_COLUMNS,
    AttributeSection,
    Figure,
    SearchRow,
    fairness_report_csv_rows,
    fairness_report_list,
    fairness_report_view,
    lda_search_rows,
)
from analytics.fairness_reports.services import (
    decisions_file_fairness_report_request,
    model_version_fairness_report_request,
)
from analytics.models import FairnessReport, LdaSearch, ModelVersion
from analytics.services.lda_searches import lda_search_request
from finai.charts import Series, line_chart
from finai.errors import ApplicationError
from finai.exports import csv_lines
from finai.progress import job_progress_response
from finai.roles import COMPLIANCE_ROLES, MANAGER_ROLES, REVIEWER_ROLES, role_required, user_has_role

PAGE_SIZE = 25
SERIES_CLASSES = ("series-1", "series-2", "series-3", "series-4", "series-5", "series-6")


@role_required(*COMPLIANCE_ROLES)
def report_list(request: HttpRequest) -> HttpResponse:
    """Stored reports, newest first, and the three ways to run one."""
    kind = request.GET.get("kind", "") if request.GET.get("kind") in FairnessReport.Kind.values else ""
    page = Paginator(fairness_report_list(kind=kind or None), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "analytics/fairness_report_list.html",
        {
            "page": page,
            "kinds": FairnessReport.Kind.choices,
            "kind": kind,
            "query": urlencode({"kind": kind}) if kind else "",
            "version_form": VersionReportForm(),
        },
    )


def _dot(flagged: bool, small: bool) -> str:
    return "dot-muted" if small else ("dot-alert" if flagged else "dot")


def _interval_rows(section: AttributeSection, metric: str, *, threshold: float | None = None) -> list[IntervalRow]:
    rows = []
    for group in section.groups:
        figure: Figure | None = getattr(group, metric)
        if figure is None:
            continue
        flagged = threshold is not None and figure.value is not None and figure.value < threshold
        rows.append(IntervalRow(group.label, figure.value, figure.low, figure.high, _dot(flagged, group.small)))
    return rows


def _attribute_charts(section: AttributeSection, threshold: float) -> dict[str, Any]:
    """Approval rates, ratios against the four-fifths line, score and outcome differences, calibration."""
    name = section.name.replace("_", " ")
    charts: dict[str, Any] = {
        "approval": interval_chart(
            title=f"Approval rate by {name}",
            description="Each group's approval rate with its bootstrap interval.",
            rows=_interval_rows(section, "approval_rate"),
            domain=(0.0, 1.0),
        ),
    }
    ratios = _interval_rows(section, "adverse_impact_ratio", threshold=threshold)
    charts["ratio"] = interval_chart(
        title=f"Adverse impact ratio by {name} (reference {section.reference_group})",
        description=f"Approval rate over the reference group's, with intervals; the line is the four-fifths rule "
        f"at {threshold:g}.",
        rows=ratios,
        domain=(0.0, max(1.2, domain_of(ratios)[1])),
        reference=threshold,
    )
    if section.has_scores:
        rows = _interval_rows(section, "standardized_mean_difference")
        charts["smd"] = interval_chart(
            title=f"Standardized mean difference of scores by {name}",
            description="Difference in mean score from the reference group, in pooled standard deviations.",
            rows=rows,
            domain=domain_of(rows, include=(0.0,)),
            reference=0.0,
            reference_label="0",
            digits=2,
        )
    if section.has_outcomes:
        for key, metric, label in (
            ("equal_opportunity", "equal_opportunity_difference", "Equal-opportunity difference"),
            ("average_odds", "average_odds_difference", "Average-odds difference"),
        ):
            rows = _interval_rows(section, metric)
            charts[key] = interval_chart(
                title=f"{label} by {name}",
                description=f"{label} from the reference group, with intervals; 0 is parity.",
                rows=rows,
                domain=domain_of(rows, include=(0.0,)),
                reference=0.0,
                reference_label="0",
            )
    if section.has_calibration:
        series = [
            Series(group.label, group.calibration, css, markers=True)
            for group, css in zip(section.groups, SERIES_CLASSES, strict=False)
            if group.calibration and not group.small
        ]
        charts["calibration"] = line_chart(
            title=f"Calibration by {name}",
            description="Observed against mean predicted default rate per band, per group; the diagonal is perfect "
            "calibration, and both axes share one scale.",
            series=series,
            x_label="Mean predicted default rate",
            y_label="Observed default rate",
        )
    return charts


@role_required(*COMPLIANCE_ROLES)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A finished report's figures and charts; while a worker audits it, its progress."""
    report = get_object_or_404(FairnessReport.objects.select_related("model_version", "created_by"), pk=pk)
    if report.status != FairnessReport.Status.DONE:
        return render(request, "analytics/fairness_report_pending.html", {"report": report})
    view = fairness_report_view(report)
    sections = [(section, _attribute_charts(section, view.threshold)) for section in view.single_attributes]
    return render(
        request,
        "analytics/fairness_report_detail.html",
        {"view": view, "report": report, "sections": sections, "contents": _contents(view)},
    )


@dataclass(frozen=True)
class ContentsEntry:
    anchor: str
    title: str
    note: str = ""


def _contents(view: Any) -> list[ContentsEntry]:
    """The report's sections in page order, each protected attribute with the groups that need a look: a long
    report is read by jumping to the attribute in question."""
    entries = [ContentsEntry("summary", "Summary")]
    for section in view.single_attributes:
        below = sum(1 for group in section.groups if group.below_threshold)
        note = f"{below} group{pluralize(below)} below four-fifths" if below else ""
        entries.append(ContentsEntry(f"attribute-{slugify(section.name)}", section.name.replace("_", " "), note))
    if view.adjusted:
        entries.append(ContentsEntry("adjusted", "Regression-adjusted disparity"))
    if view.intersections:
        pairs = len(view.intersections)
        entries.append(ContentsEntry("intersections", "Intersections", f"{pairs} pair{pluralize(pairs)}"))
    entries.append(ContentsEntry("definitions", "Definitions"))
    return entries


@role_required(*COMPLIANCE_ROLES)
def report_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the report page while a worker audits."""
    report = get_object_or_404(FairnessReport, pk=pk)
    return job_progress_response(report)


def _finished(request: HttpRequest, report: FairnessReport) -> HttpResponse | None:
    """Downloads exist only for a finished report: otherwise back to its page, which says why."""
    if report.status == FairnessReport.Status.DONE:
        return None
    messages.error(request, f"Report {report.pk} is {report.get_status_display().lower()}: nothing to download.")
    return redirect("analytics:fairness_report_detail", pk=report.pk)


@role_required(*COMPLIANCE_ROLES)
def report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One row per group and metric with its interval, for the examiner's own analysis."""
    report = get_object_or_404(FairnessReport, pk=pk)
    if (refused := _finished(request, report)) is not None:
        return refused
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="fairness-report-{report.pk}.csv"'
    # Group labels come from uploaded files: neutralised, so a label such as `=cmd|...` opens as text, not a formula.
    response.writelines(csv_lines(CSV_COLUMNS, fairness_report_csv_rows(fairness_report_view(report))))
    return response


@role_required(*COMPLIANCE_ROLES)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(FairnessReport.objects.select_related("model_version"), pk=pk)
    if (refused := _finished(request, report)) is not None:
        return refused
    response = HttpResponse(fairness_report_pdf(fairness_report_view(report)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="fairness-report-{report.pk}.pdf"'
    return response


def _saved(upload: UploadedFile) -> tuple[Path, bool]:
    """A path to the upload's bytes (Django keeps large uploads on disk already); True when it is ours to delete."""
    if hasattr(upload, "temporary_file_path"):
        return Path(upload.temporary_file_path()), False
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return Path(handle.name), True


@role_required(*COMPLIANCE_ROLES)
def report_upload(request: HttpRequest) -> HttpResponse:
    """Bring your own decisions: check an uploaded file through a dataset schema and queue its audit."""
    form = DecisionsUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        path, ours = _saved(form.cleaned_data["file"])
        try:
            report = decisions_file_fairness_report_request(
                path=path,
                schema_name=form.cleaned_data["schema"],
                schema=form.cleaned_data["schema_file"],
                controls=form.cleaned_data["controls"],
                source_name=Path(form.cleaned_data["file"].name).name,
                requested_by=request.user,
            )
        except ApplicationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Report {report.pk} was queued on the analytics workers.")
            return redirect("analytics:fairness_report_detail", pk=report.pk)
        finally:
            if ours:
                path.unlink(missing_ok=True)
    return render(request, "analytics/fairness_report_upload.html", {"form": form}, status=400 if form.errors else 200)


@role_required(*COMPLIANCE_ROLES)
def version_report(request: HttpRequest) -> HttpResponse:
    """Queue the full report of a version's holdout decisions."""
    if request.method != "POST":
        return redirect("analytics:fairness_report_list")
    form = VersionReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a trained model version to report on.")
        return redirect("analytics:fairness_report_list")
    try:
        report = model_version_fairness_report_request(version=form.cleaned_data["version"], requested_by=request.user)
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect("analytics:fairness_report_list")
    messages.success(request, f"Report {report.pk} was queued on the analytics workers.")
    return redirect("analytics:fairness_report_detail", pk=report.pk)


@role_required(*MANAGER_ROLES)
def search_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a search for less discriminatory alternatives to this version."""
    version = get_object_or_404(ModelVersion, pk=pk)
    if request.method != "POST":
        return redirect("analytics:version_detail", pk=pk)
    form = LdaSearchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The AUC tolerance must be a number from 0 to 0.2.")
        return redirect("analytics:version_detail", pk=pk)
    try:
        search = lda_search_request(
            base_version=version, requested_by=request.user, tolerance=form.cleaned_data["tolerance"]
        )
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect("analytics:version_detail", pk=pk)
    messages.success(request, f"Search {search.pk} was queued on the training workers.")
    return redirect("analytics:lda_search_detail", pk=search.pk)


def _plane(rows: list[SearchRow], threshold: float) -> Any:
    measured = [row for row in rows if row.auc is not None and row.lowest is not None and row.lowest.value is not None]
    if not measured:
        return None

    def point(row: SearchRow) -> PlanePoint:
        css = "dot-base" if row.is_base else ("dot-flagged" if row.less_discriminatory else "dot")
        label = "base" if row.is_base else f"v{row.version_id}"
        return PlanePoint(f"{label} {row.name}", row.auc, row.lowest.value, row.lowest.low, row.lowest.high, css)

    return plane_chart(
        title="Accuracy against fairness",
        description="Each model's holdout AUC against its lowest adverse impact ratio (with its interval); the "
        "dashed line joins the Pareto frontier; the base is dark, flagged alternatives green.",
        points=[point(row) for row in measured],
        frontier=[point(row) for row in measured if row.pareto],
        x_label="AUC on the holdout",
        y_label="Lowest adverse impact ratio",
        threshold=threshold,
    )


@role_required(*REVIEWER_ROLES)
def search_detail(request: HttpRequest, pk: int) -> HttpResponse:
    search = get_object_or_404(LdaSearch.objects.select_related("base_version", "requested_by"), pk=pk)
    rows = lda_search_rows(search)
    return render(
        request,
        "analytics/lda_search_detail.html",
        {
            "search": search,
            "rows": rows,
            "chart": _plane(rows, settings.FAIRNESS_AIR_THRESHOLD),
            "tolerance": search.parameters.get("tolerance"),
            "threshold": settings.FAIRNESS_AIR_THRESHOLD,
            "may_open_versions": user_has_role(request.user, *MANAGER_ROLES),
        },
    )


@role_required(*REVIEWER_ROLES)
def search_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the search page while the search runs."""
    search = get_object_or_404(LdaSearch, pk=pk)
    return job_progress_response(search)
