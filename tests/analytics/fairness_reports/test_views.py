"""Fair-lending pages: reports (page, CSV, PDF, progress), uploads, version and window reports, segment-proxy
checks, alternative searches. Pages queue audits on the workers and never compute one; the tests then run the
queued audit as the worker would."""

from __future__ import annotations

import csv
import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analytics.fairness_reports.services import fairness_report_run
from analytics.models import FairnessReport, LdaSearch
from tests.analytics.engine.fairness.conftest import ROOT
from tests.analytics.fairness_reports.records import fairness_report_record, lda_search_record

pytestmark = pytest.mark.django_db

HMDA_CONTROLS = ["income", "debt_to_income_ratio", "loan_to_value_ratio", "loan_amount", "loan_purpose"]


@pytest.fixture
def report(compliance_officer) -> FairnessReport:
    return fairness_report_record(created_by=compliance_officer)


def hmda_upload(rows: int = 3000, *, broken_row: int | None = None) -> io.BytesIO:
    lines = (ROOT / "data" / "hmda_sample.csv").read_text().splitlines()[: rows + 1]
    if broken_row is not None:
        lines[broken_row] = "maybe" + lines[broken_row][1:]
    upload = io.BytesIO(("\n".join(lines) + "\n").encode())
    upload.name = "hmda_slice.csv"
    return upload


def test_the_report_page_charts_every_metric_with_intervals(compliance_client, report):
    response = compliance_client.get(reverse("analytics:fairness_report_detail", args=[report.pk]))
    html = response.content.decode()
    sections = response.context["sections"]

    assert response.status_code == 200
    assert [section.name for section, _ in sections] == ["sex", "age_band"]
    charts = sections[0][1]
    assert set(charts) == {"approval", "ratio", "smd", "equal_opportunity", "average_odds", "calibration"}
    assert 'class="threshold"' in charts["ratio"]  # the four-fifths line
    assert charts["approval"].count('class="whisker"') == 3 * 2  # two groups, a bar and two caps each
    female = next(g for g in sections[0][0].groups if g.label == "female")
    rate = female.approval_rate
    assert f'{rate.value:.1%}<span class="ci">{rate.low:.1%} to {rate.high:.1%}</span>' in html
    assert "Intersections" in html
    assert "Download PDF" in html


def test_the_csv_has_one_row_per_group_and_metric_with_its_interval(compliance_client, report):
    response = compliance_client.get(reverse("analytics:fairness_report_csv", args=[report.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert f"fairness-report-{report.pk}.csv" in response["Content-Disposition"]
    stored = next(a for a in report.results["report"]["attributes"] if a["name"] == "sex")
    female = next(g for g in stored["groups"] if g["label"] == "female")
    row = next(
        r for r in rows if (r["attribute"], r["group"], r["metric"]) == ("sex", "female", "adverse_impact_ratio")
    )
    assert float(row["value"]) == pytest.approx(female["adverse_impact_ratio"]["value"], abs=1e-12)
    assert [float(row["ci_low"]), float(row["ci_high"])] == pytest.approx(female["adverse_impact_ratio"]["ci"])
    metrics = {r["metric"] for r in rows if r["attribute"] == "sex" and r["group"] == "female"}
    assert {"approval_rate", "standardized_mean_difference", "equal_opportunity_difference"} <= metrics
    assert {"average_odds_difference", "calibration_difference"} <= metrics
    assert {r["attribute"] for r in rows} == {"sex", "age_band", "sex & age_band"}


def test_the_pdf_is_a_short_document_with_the_reports_tables(compliance_client, report):
    response = compliance_client.get(reverse("analytics:fairness_report_pdf", args=[report.pk]))
    content = response.content

    assert response["Content-Type"] == "application/pdf"
    assert content.startswith(b"%PDF")
    pages = int(re.search(rb"/Count (\d+)", content).group(1))
    assert 1 <= pages <= 2


def test_uploading_a_decisions_file_queues_its_audit_and_the_page_follows_it_to_the_report(
    compliance_client, django_capture_on_commit_callbacks
):
    upload = hmda_upload()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = compliance_client.post(
            reverse("analytics:fairness_report_upload"), {"file": upload, "schema": "hmda", "controls": HMDA_CONTROLS}
        )

    report = FairnessReport.objects.get()
    assert len(queued) == 1
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:fairness_report_detail", args=[report.pk])
    assert report.source_sha256 == hashlib.sha256(upload.getvalue()).hexdigest()
    assert report.title == "hmda_slice.csv (hmda)"
    assert (report.status, report.results) == ("running", {})
    pending = compliance_client.get(response["Location"]).content.decode()
    assert reverse("analytics:fairness_report_progress", args=[report.pk]) in pending
    assert '<progress class="progress" max="100" value="0"' in pending
    fairness_report_run(report_id=report.pk)
    page = compliance_client.get(response["Location"])
    assert len(page.context["view"].adjusted) == 3
    assert "Regression-adjusted disparity" in page.content.decode()


def test_a_file_with_a_bad_cell_is_refused_naming_the_cell(compliance_client):
    response = compliance_client.post(
        reverse("analytics:fairness_report_upload"), {"file": hmda_upload(20, broken_row=4), "schema": "hmda"}
    )

    assert response.status_code == 400
    assert any("row 4, approved" in error for error in response.context["form"].non_field_errors())
    assert not FairnessReport.objects.exists()


def test_the_upload_offers_only_schemas_of_decisions(compliance_client):
    response = compliance_client.post(
        reverse("analytics:fairness_report_upload"), {"file": hmda_upload(5), "schema": "german_credit"}
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"schema"}
    assert [name for name, _ in response.context["form"].fields["schema"].choices] == ["", "hmda"]


def test_a_decisions_file_is_audited_through_an_uploaded_schema_kept_with_the_report(compliance_client):
    text = (ROOT / "data" / "schemas" / "hmda.yaml").read_text().replace("name: hmda", "name: my_lar")
    schema_file = SimpleUploadedFile("my_lar.yaml", text.encode())

    response = compliance_client.post(
        reverse("analytics:fairness_report_upload"), {"file": hmda_upload(), "schema_file": schema_file}
    )

    report = FairnessReport.objects.get()
    assert response.status_code == 302
    assert (report.dataset, report.parameters["schema"]["name"]) == ("my_lar", "my_lar")
    fairness_report_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "done"
    assert report.title == "hmda_slice.csv (my_lar)"


def test_an_uploaded_schema_with_problems_is_refused_naming_each(compliance_client):
    schema_file = SimpleUploadedFile("bad.yaml", b"name: Bad Name\nkind: decisions\ncolumns: {}\n")

    response = compliance_client.post(
        reverse("analytics:fairness_report_upload"), {"file": hmda_upload(5), "schema_file": schema_file}
    )

    assert response.status_code == 400
    errors = response.context["form"].errors["schema_file"]
    assert any(error.startswith("name must be lower-case letters") for error in errors)
    assert "approve_label (the decision value that means approved) is required" in errors
    assert not FairnessReport.objects.exists()


def test_a_compliance_officer_queues_the_report_of_a_version_from_the_dashboard(
    compliance_client, trained_version, django_capture_on_commit_callbacks
):
    dashboard = compliance_client.get(reverse("monitoring:fairness_dashboard"), {"version": trained_version.pk})
    assert f"Full report for v{trained_version.pk}" in dashboard.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = compliance_client.post(reverse("analytics:fairness_version_report"), {"version": trained_version.pk})

    report = FairnessReport.objects.get()
    assert len(queued) == 1
    assert (report.kind, report.model_version, report.status) == ("model_version", trained_version, "running")
    assert response["Location"] == reverse("analytics:fairness_report_detail", args=[report.pk])
    fairness_report_run(report_id=report.pk)
    dashboard = compliance_client.get(reverse("monitoring:fairness_dashboard"))
    assert dashboard.context is not None
    html = dashboard.content.decode()
    assert f"#{report.pk} · v{trained_version.pk} scorecard holdout" in html
    assert "Lowest adverse impact ratio of each stored report" in html


def test_the_report_list_filters_by_kind(compliance_client, report):
    every = compliance_client.get(reverse("analytics:fairness_report_list"))
    windows = compliance_client.get(reverse("analytics:fairness_report_list"), {"kind": "window"})

    assert list(every.context["page"]) == [report]
    assert list(windows.context["page"]) == []


def test_a_model_manager_starts_a_search_from_the_version_page(manager_client, trained_version):
    page = manager_client.get(reverse("analytics:version_detail", args=[trained_version.pk]))
    assert "Search for alternatives" in page.content.decode()

    response = manager_client.post(
        reverse("analytics:lda_search_start", args=[trained_version.pk]), {"tolerance": "0.02"}
    )

    search = LdaSearch.objects.get()
    assert (search.base_version, search.status, search.parameters) == (trained_version, "queued", {"tolerance": 0.02})
    assert response["Location"] == reverse("analytics:lda_search_detail", args=[search.pk])
    detail = manager_client.get(response["Location"]).content.decode()
    assert reverse("analytics:lda_search_progress", args=[search.pk]) in detail
    progress = manager_client.get(reverse("analytics:lda_search_progress", args=[search.pk])).json()
    assert progress == {"status": "queued", "progress": 0, "progress_message": "queued", "failure": ""}


def test_a_bad_tolerance_starts_nothing(manager_client, trained_version):
    response = manager_client.post(
        reverse("analytics:lda_search_start", args=[trained_version.pk]), {"tolerance": "0.9"}, follow=True
    )

    assert not LdaSearch.objects.exists()
    assert "tolerance" in response.content.decode()


def test_the_search_page_charts_the_frontier_and_links_candidates_for_managers_only(
    manager_client, client, compliance_officer, model_version, model_manager
):
    search = lda_search_record(base_version=model_version, requested_by=model_manager)
    url = reverse("analytics:lda_search_detail", args=[search.pk])

    html = manager_client.get(url).content.decode()
    client.force_login(compliance_officer)
    compliance_html = client.get(url).content.decode()

    assert 'class="frontier"' in html
    assert 'class="dot-base"' in html
    assert 'class="dot-flagged"' in html
    assert "less discriminatory" in html
    assert reverse("analytics:version_detail", args=[model_version.pk]) in html
    assert reverse("analytics:version_detail", args=[model_version.pk]) not in compliance_html
    assert 'class="frontier"' in compliance_html


def test_the_progress_of_a_queued_report_is_polled_and_its_downloads_wait(compliance_client, compliance_officer):
    report = FairnessReport.objects.create(
        kind="file", title="queued.csv (hmda)", progress=30, progress_message="Computing", created_by=compliance_officer
    )

    progress = compliance_client.get(reverse("analytics:fairness_report_progress", args=[report.pk])).json()
    csv_response = compliance_client.get(reverse("analytics:fairness_report_csv", args=[report.pk]))

    assert progress == {"status": "running", "progress": 30, "progress_message": "Computing", "failure": ""}
    assert csv_response.status_code == 302
    assert csv_response["Location"] == reverse("analytics:fairness_report_detail", args=[report.pk])


def test_a_failed_report_page_says_why(compliance_client, compliance_officer):
    report = FairnessReport.objects.create(
        kind="file",
        status="failed",
        title="x.csv (hmda)",
        failure="The artifact is missing.",
        created_by=compliance_officer,
    )

    html = compliance_client.get(reverse("analytics:fairness_report_detail", args=[report.pk])).content.decode()

    assert "The audit failed" in html
    assert "The artifact is missing." in html
