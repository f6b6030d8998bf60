"""Fair-lending reports of a model version's holdout and of an uploaded decisions file: requested (checked at
once, queued), then audited as the worker audits them."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from sklearn.model_selection import train_test_split

from analytics.engine.families import model_from_bytes
from analytics.fairness_reports.services import (
    decisions_file_fairness_report_request,
    fairness_report_run,
    model_version_fairness_report_request,
)
from analytics.models import FairnessReport
from finai.artifacts import artifact_load
from finai.errors import ApplicationError
from finai.models import AuditEvent
from finai.services import audit_chain_verify
from tests.analytics.engine.fairness.conftest import ROOT

pytestmark = pytest.mark.django_db

HMDA_CONTROLS = ["income", "debt_to_income_ratio", "loan_to_value_ratio", "loan_amount", "loan_purpose"]


@pytest.fixture
def hmda_slice(tmp_path):
    """The first 3,000 rows of the HMDA sample, as a lender would upload them."""
    path = tmp_path / "hmda_3000.csv"
    lines = (ROOT / "data" / "hmda_sample.csv").read_text().splitlines()[:3001]
    path.write_text("\n".join(lines) + "\n")
    return path


def version_report(**kwargs) -> FairnessReport:
    """Requested as a page requests it, then run as the worker runs it."""
    return fairness_report_run(report_id=model_version_fairness_report_request(queue=False, **kwargs).pk)


def file_report(**kwargs) -> FairnessReport:
    return fairness_report_run(report_id=decisions_file_fairness_report_request(queue=False, **kwargs).pk)


def group(report: FairnessReport, attribute: str, label: str) -> dict:
    found = next(a for a in report.results["report"]["attributes"] if a["name"] == attribute)
    return next(g for g in found["groups"] if g["label"] == label)


def test_the_version_report_approval_rates_equal_a_recomputation_from_the_holdout(trained_version, compliance_officer):
    report = version_report(version=trained_version, requested_by=compliance_officer)

    # Independently: the snapshot file, sklearn's stratified split with the version's seed, the artifact.
    snapshot = trained_version.snapshot
    frame = pd.read_csv(io.BytesIO(artifact_load(path=snapshot.storage_path, sha256=snapshot.content_hash)))
    _, holdout_rows = train_test_split(
        np.arange(len(frame)), test_size=0.3, stratify=frame["target"], random_state=trained_version.seed
    )
    holdout = frame.iloc[np.sort(holdout_rows)]
    model = model_from_bytes(artifact_load(path=trained_version.artifact_path, sha256=trained_version.artifact_sha256))
    approved = model.predict_proba_default(holdout) < trained_version.metrics["policy"]["approve_below"]
    assert report.row_count == len(holdout) == trained_version.metrics["holdout_rows"]
    for sex in ("female", "male"):
        members = (holdout["protected:sex"] == sex).to_numpy()
        stored = group(report, "sex", sex)
        assert stored["applicants"] == members.sum()
        assert stored["approval_rate"]["value"] == pytest.approx(approved[members].mean(), abs=1e-12)
        assert stored["approval_rate"]["ci"][0] <= stored["approval_rate"]["value"] <= stored["approval_rate"]["ci"][1]
        # ... and the training evaluation's own summary of the same holdout agrees.
        assert trained_version.fairness["groups"]["sex"][sex]["approval_rate"] == pytest.approx(
            stored["approval_rate"]["value"], abs=1e-12
        )


def test_the_version_report_is_stored_with_outcome_metrics_and_audited(trained_version, compliance_officer):
    report = version_report(version=trained_version, requested_by=compliance_officer)

    assert report.kind == FairnessReport.Kind.MODEL_VERSION
    assert report.status == FairnessReport.Status.DONE
    assert report.model_version == trained_version
    assert report.dataset == "german_credit"
    assert report.parameters["config"]["four_fifths_threshold"] == 0.8
    assert report.parameters["config"]["min_group_size"] == 30
    female = group(report, "sex", "female")
    assert female["outcomes"]["equal_opportunity_difference"]["ci"][0] is not None
    assert female["calibration"]["bands"]
    names = {a["name"] for a in report.results["report"]["attributes"]}
    assert {"sex", "age_band", "sex & age_band"} <= names
    event = AuditEvent.objects.get(action="fairness.report_created")
    assert (event.actor, event.object_id) == (compliance_officer, str(report.pk))
    assert event.payload["model_version"] == trained_version.pk
    assert audit_chain_verify().intact


def test_a_version_that_is_not_trained_cannot_be_audited(trained_version):
    trained_version.status = "training"
    trained_version.save(update_fields=["status"])

    with pytest.raises(ApplicationError) as refused:
        model_version_fairness_report_request(version=trained_version)
    assert "model_version" in refused.value.details
    assert not FairnessReport.objects.exists()


def test_an_uploaded_hmda_file_is_audited_with_its_hash_and_adjusted_disparities(hmda_slice, compliance_officer):
    report = file_report(path=hmda_slice, schema_name="hmda", controls=HMDA_CONTROLS, requested_by=compliance_officer)

    raw = pd.read_csv(hmda_slice, dtype=str, keep_default_na=False)
    approved = raw["approved"] == "1"
    white, black = approved[raw["applicant_race-1"] == "5.0"], approved[raw["applicant_race-1"] == "3.0"]
    stored = group(report, "race_ethnicity", "Black or African American")
    assert (report.kind, report.dataset, report.row_count) == ("file", "hmda", 3000)
    assert report.source_sha256 == hashlib.sha256(hmda_slice.read_bytes()).hexdigest()
    assert stored["approval_rate"]["value"] == pytest.approx(black.mean(), abs=1e-12)
    assert stored["adverse_impact_ratio"]["value"] == pytest.approx(black.mean() / white.mean(), abs=1e-12)
    assert {a["attribute"] for a in report.results["adjusted"]} == {"race_ethnicity", "sex", "age_band"}
    race = next(a for a in report.results["adjusted"] if a["attribute"] == "race_ethnicity")
    assert [control["name"] for control in race["controls"]] == HMDA_CONTROLS
    assert report.parameters["controls"] == HMDA_CONTROLS
    assert AuditEvent.objects.get(action="fairness.report_created").payload["source_sha256"] == report.source_sha256


def test_controls_that_are_not_features_of_the_schema_are_named(hmda_slice):
    with pytest.raises(ApplicationError) as refused:
        decisions_file_fairness_report_request(path=hmda_slice, schema_name="hmda", controls=["income", "zodiac"])
    assert set(refused.value.details) == {"zodiac"}
    assert not FairnessReport.objects.exists()


@pytest.mark.parametrize(
    ("schema", "problem"), [("german_credit", "no decision column"), ("nonsense", "or one of: german_credit, hmda")]
)
def test_a_schema_without_decisions_or_unknown_is_refused_by_name(hmda_slice, schema, problem):
    with pytest.raises(ApplicationError) as refused:
        decisions_file_fairness_report_request(path=hmda_slice, schema_name=schema)
    assert problem in refused.value.details["schema"]


def test_a_bad_cell_refuses_the_whole_file_naming_its_row(tmp_path):
    path = tmp_path / "bad.csv"
    lines = (ROOT / "data" / "hmda_sample.csv").read_text().splitlines()[:6]
    lines[3] = "maybe" + lines[3][1:]
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(ApplicationError) as refused:
        decisions_file_fairness_report_request(path=path, schema_name="hmda")
    assert "row 3, approved" in refused.value.details
    assert not FairnessReport.objects.exists()


def test_only_compliance_staff_store_reports(hmda_slice, loan_officer, model_manager):
    for person in (loan_officer, model_manager):
        with pytest.raises(PermissionDenied):
            decisions_file_fairness_report_request(path=hmda_slice, schema_name="hmda", requested_by=person)
    assert not FairnessReport.objects.exists()


def test_a_request_stores_a_running_report_and_queues_its_audit_on_commit(
    trained_version, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        report = model_version_fairness_report_request(version=trained_version, requested_by=compliance_officer)

    assert len(queued) == 1
    assert (report.status, report.progress, report.results) == (FairnessReport.Status.RUNNING, 0, {})
    assert report.progress_message == "Queued on the analytics workers"
    assert AuditEvent.objects.get(action="fairness.report_requested").object_id == str(report.pk)
    assert not AuditEvent.objects.filter(action="fairness.report_created").exists()


def test_running_a_report_twice_audits_it_once(trained_version, compliance_officer):
    report = version_report(version=trained_version, requested_by=compliance_officer)

    again = fairness_report_run(report_id=report.pk)

    assert again.status == FairnessReport.Status.DONE
    assert AuditEvent.objects.filter(action="fairness.report_created").count() == 1


def test_a_file_changed_in_storage_fails_the_report_and_says_why(hmda_slice, compliance_officer):
    from django.core.files.storage import storages

    report = decisions_file_fairness_report_request(
        path=hmda_slice, schema_name="hmda", requested_by=compliance_officer, queue=False
    )
    with storages["artifacts"].open(report.source_path, "wb") as handle:
        handle.write(b"approved\n1\n")

    failed = fairness_report_run(report_id=report.pk)

    assert failed.status == FairnessReport.Status.FAILED
    assert "modified after it was stored" in failed.failure
    assert AuditEvent.objects.get(action="fairness.report_failed").object_id == str(report.pk)
