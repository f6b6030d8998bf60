"""Records every app's page tests show (a model version, a promotion, a decided application, a clustering run) and
signed-in clients for the personas of the root conftest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.models import DataSnapshot, ModelVersion, PromotionRequest
from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringRun, SegmentAssignment
from lending.models import LoanApplication, ProtectedAttributes
from tests.clustering.records import finished_run_record
from tests.factories import DecisionFactory, LoanApplicationFactory, PromotionRequestFactory


@pytest.fixture(autouse=True)
def audit_checkpoint_file(settings, tmp_path_factory) -> Path:
    """Each test's own file of exported chain heads: the database is emptied between tests, so a shared file
    would read as a rolled-back chain (finai/settings/test.py turns the file off outside the tests)."""
    path = tmp_path_factory.mktemp("audit") / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_FILE = str(path)
    return path


def calibration_bands() -> list[dict]:
    return [
        {
            "band": index + 1,
            "score_from": 400 + 20 * index,
            "score_to": 419 + 20 * index,
            "count": 30,
            "mean_probability_of_default": 0.6 - 0.05 * index,
            "observed_default_rate": 0.58 - 0.05 * index,
        }
        for index in range(10)
    ]


@pytest.fixture
def model_version(db, model_manager) -> ModelVersion:
    snapshot = DataSnapshot.objects.create(
        dataset="german_credit",
        content_hash="ab" * 32,
        row_count=1000,
        period_start=dt.datetime(1973, 1, 1, tzinfo=dt.UTC),
        period_end=dt.datetime(1975, 12, 31, tzinfo=dt.UTC),
    )
    return ModelVersion.objects.create(
        family="scorecard",
        status=ModelVersion.Status.CANDIDATE,
        snapshot=snapshot,
        params={"bins": 5},
        code_version="0123456789abcdef",
        trained_by=model_manager,
        progress=100,
        progress_message="done",
        metrics={
            "count": 300,
            "default_rate": 0.3,
            "auc": 0.781,
            "gini": 0.562,
            "ks": 0.44,
            "brier": 0.17,
            "log_loss": 0.51,
            "calibration": calibration_bands(),
            "roc": {"fpr": [0.0, 0.1, 0.3, 0.6, 1.0], "tpr": [0.0, 0.4, 0.7, 0.9, 1.0]},
        },
        fairness={
            "cutoff": 0.25,
            "reference_groups": {"sex": "male"},
            "groups": {
                "sex": {
                    "male": {"count": 200, "approved": 120, "approval_rate": 0.6, "adverse_impact_ratio": 1.0},
                    "female": {"count": 100, "approved": 42, "approval_rate": 0.42, "adverse_impact_ratio": 0.7},
                }
            },
        },
        explanations={"feature_importance": {"credit_amount": 0.5, "duration_in_month": 0.3, "job": 0.2}},
    )


@pytest.fixture
def promotion(model_version, model_manager) -> PromotionRequest:
    return PromotionRequestFactory(version=model_version, requested_by=model_manager)


@pytest.fixture
def decided_application(loan_officer, model_version) -> LoanApplication:
    application = LoanApplicationFactory(
        submitted_by=loan_officer, reference="app-decided-0001", applicant__full_name="Dora Declined"
    )
    ProtectedAttributes.objects.create(applicant=application.applicant, sex="female", age_band=">=25")
    DecisionFactory(application=application, model_version=model_version, outcome="decline")
    return application


@pytest.fixture
def clustering_run(db) -> ClusteringRun:
    """A finished run over three accounts, with their latent projections (no Berka rows behind them)."""
    run = finished_run_record(
        experiment_name="grid for the portal",
        config=ExperimentConfig(encoder="fc", pretext="mse", head="kmeans", k=2),
        silhouette_test=0.21,
        davies_bouldin_test=1.7,
        training_seconds=0.4,
        account_count=3,
        metrics={"silhouette_test": 0.21, "davies_bouldin_test": 1.7, "length": 12},
    )
    SegmentAssignment.objects.bulk_create(
        SegmentAssignment(
            run=run, account_reference=str(i), segment=i % 2, in_train=True, projection_x=i, projection_y=-i
        )
        for i in range(3)
    )
    return run


@pytest.fixture
def officer_client(client, loan_officer):
    client.force_login(loan_officer)
    return client


@pytest.fixture
def manager_client(client, model_manager):
    client.force_login(model_manager)
    return client


@pytest.fixture
def compliance_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client
