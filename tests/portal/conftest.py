"""Portal fixtures: a sixth persona (administrator) and a small, complete set of records to show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import DataSnapshot, ModelVersion, PromotionRequest
from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringRun, SegmentAssignment
from finai.roles import Role
from lending.models import Applicant, Decision, LoanApplication, ProtectedAttributes
from tests.clustering.records import finished_run_record

POLICY_VERSION = "consumer-2025.1"  # analytics.engine.policy.DEFAULT_POLICY: approve < 0.25, decline >= 0.5


@pytest.fixture
def administrator(make_user):
    return make_user("ada_admin", Role.ADMIN)


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
    return PromotionRequest.objects.create(
        version=model_version, requested_by=model_manager, exception_justification="Fairness gate reviewed."
    )


def make_application(
    officer, *, reference: str, name: str = "Ann Example", status: str = LoanApplication.Status.SUBMITTED, **extra
) -> LoanApplication:
    applicant = Applicant.objects.create(reference=f"applicant-{reference}", full_name=name)
    return LoanApplication.objects.create(
        reference=reference,
        applicant=applicant,
        submitted_by=officer,
        amount=Decimal("2500.00"),
        term_months=24,
        purpose="car (new)",
        features={"credit_history": "critical account/ other credits existing (not at this bank)"},
        status=status,
        submitted_at=extra.pop("submitted_at", timezone.now()),
        **extra,
    )


def decide(application: LoanApplication, version: ModelVersion | None, outcome: str, **extra) -> Decision:
    application.status = LoanApplication.Status.DECIDED
    application.save(update_fields=["status"])
    probability = {"approve": 0.1, "refer": 0.35, "decline": 0.62}[outcome]
    return Decision.objects.create(
        application=application,
        model_version=version,
        outcome=outcome,
        probability_of_default=probability,
        score=extra.pop("score", 520),
        reasons=extra.pop(
            "reasons",
            []
            if outcome == "approve"
            else [
                {"code": "R06", "text": "Credit history shows a critical account", "feature": "credit_history"},
                {"code": "R10", "text": "Amount requested is too high", "feature": "credit_amount"},
            ],
        ),
        policy_version=POLICY_VERSION,
        decided_at=extra.pop("decided_at", timezone.now()),
        **extra,
    )


@pytest.fixture
def decided_application(loan_officer, model_version) -> LoanApplication:
    application = make_application(loan_officer, reference="app-decided-0001", name="Dora Declined")
    ProtectedAttributes.objects.create(applicant=application.applicant, sex="female", age_band=">=25")
    decide(application, model_version, "decline")
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
