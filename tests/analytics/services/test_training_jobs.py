"""Training requests with a mitigation: validated up front, recorded in params, applied by the worker."""

from __future__ import annotations

import json

import pytest

from analytics.engine.drift import DriftReference, drift_compute
from analytics.engine.families import model_from_bytes
from analytics.models import ModelVersion
from analytics.services.training_jobs import model_version_train, model_version_train_request, snapshot_training_data
from finai.artifacts import artifact_load
from finai.errors import ApplicationError
from finai.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot(trained_version):
    return trained_version.snapshot


def test_a_reweighed_version_records_its_mitigation_and_trains_on_the_worker(snapshot, model_manager, trained_version):
    version = model_version_train_request(
        snapshot=snapshot,
        family="scorecard",
        requested_by=model_manager,
        mitigation="reweighing",
        params={"mitigation_attribute": "age_band", "mitigation_strength": 1.5},
    )

    assert version.mitigation == "reweighing"
    assert (version.params["mitigation_attribute"], version.params["mitigation_strength"]) == ("age_band", 1.5)
    assert version.params["regularisation"] == 1.0
    requested = AuditEvent.objects.filter(action="model.training_requested").last()
    assert requested.payload["mitigation"] == "reweighing"
    trained = model_version_train(version_id=version.pk)
    assert trained.status == ModelVersion.Status.CANDIDATE, trained.failure
    assert trained.metrics["holdout_rows"] == trained_version.metrics["holdout_rows"]
    assert trained.artifact_sha256 != trained_version.artifact_sha256


def test_an_exponentiated_gradient_version_trains_a_deterministic_scorecard(snapshot, model_manager):
    version = model_version_train_request(
        snapshot=snapshot,
        family="scorecard",
        requested_by=model_manager,
        mitigation="exponentiated_gradient",
        params={"mitigation_attribute": "age_band", "mitigation_constraint": "true_positive_rate_parity"},
    )
    trained = model_version_train(version_id=version.pk)

    assert trained.status == ModelVersion.Status.CANDIDATE, trained.failure
    assert trained.params["mitigation_constraint"] == "true_positive_rate_parity"
    assert 0.6 < trained.metrics["auc"] < 0.9


def test_group_thresholds_are_refused_before_anything_is_recorded(snapshot, model_manager):
    count = ModelVersion.objects.count()
    with pytest.raises(ApplicationError) as refused:
        model_version_train_request(
            snapshot=snapshot, family="scorecard", requested_by=model_manager, mitigation="group_thresholds"
        )

    assert "disparate treatment" in refused.value.details["mitigation"]
    assert ModelVersion.objects.count() == count


def test_a_mitigation_attribute_the_data_set_lacks_is_refused_before_a_version_is_recorded(snapshot, model_manager):
    recorded = ModelVersion.objects.count()
    with pytest.raises(ApplicationError) as refused:
        model_version_train_request(
            snapshot=snapshot,
            family="gbm",
            requested_by=model_manager,
            mitigation="reweighing",
            params={"mitigation_attribute": "race_ethnicity"},
        )

    assert refused.value.details["mitigation_attribute"].startswith("'race_ethnicity' is not one of ")
    assert "sex" in refused.value.details["mitigation_attribute"]
    assert ModelVersion.objects.count() == recorded


def test_mitigation_parameters_without_a_mitigation_are_not_recorded(snapshot, model_manager):
    version = model_version_train_request(
        snapshot=snapshot, family="gbm", requested_by=model_manager, params={"mitigation_attribute": "sex"}
    )

    assert version.mitigation == "none"
    assert "mitigation_attribute" not in version.params


def test_a_trained_version_stores_drift_bins_on_which_its_own_training_data_show_no_drift(trained_version):
    reference = DriftReference.from_dict(trained_version.drift_reference)
    data = snapshot_training_data(snapshot=trained_version.snapshot)
    model = model_from_bytes(artifact_load(path=trained_version.artifact_path, sha256=trained_version.artifact_sha256))
    report = drift_compute(
        reference=reference, features=data.features, scores=model.predict_proba_default(data.features)
    )

    assert set(reference.features) == set(data.spec.names)
    assert reference.rows == trained_version.snapshot.row_count
    assert len(json.dumps(trained_version.drift_reference)) < 200_000
    assert all(drift.psi == pytest.approx(0.0, abs=1e-12) for drift in report.features.values())
    assert report.score.psi == pytest.approx(0.0, abs=1e-12)
    assert report.score.ks_statistic == pytest.approx(0.0, abs=1e-12)
