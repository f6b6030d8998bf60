"""Comparing two versions: figures side by side only when measured on the same applications, else said plainly."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse

from analytics import selectors
from analytics.engine.evaluation import area_under_curve
from analytics.models import DataSnapshot, ModelVersion
from analytics.services.serving import scorer_for_version
from analytics.services.training_jobs import model_version_train, snapshot_training_data
from lending.services.training import model_training_start


def sibling(version: ModelVersion, **fields) -> ModelVersion:
    """Another version with `version`'s recorded figures but better, changed by `fields`."""
    defaults = {
        "family": "gbm",
        "status": ModelVersion.Status.CANDIDATE,
        "snapshot": version.snapshot,
        "seed": version.seed,
        "trained_by": version.trained_by,
        "metrics": {**version.metrics, "auc": 0.801, "gini": 0.602},
        "fairness": version.fairness,
    }
    return ModelVersion.objects.create(**{**defaults, **fields})


def compare(client, a: ModelVersion, b: ModelVersion):
    return client.get(reverse("analytics:version_compare"), {"a": a.pk, "b": b.pk})


def test_versions_that_held_out_the_same_rows_are_compared_with_their_differences(manager_client, model_version):
    other = sibling(model_version)

    response = compare(manager_client, model_version, other)
    html = response.content.decode()

    assert response.context["holdout"].common
    assert "Compared on the same holdout of 300 applications" in html
    assert f"v{other.pk} \N{MINUS SIGN} v{model_version.pk}" in html
    auc = next(row for row in response.context["metric_rows"] if row[0].key == "auc")
    assert auc[2] == pytest.approx(0.02)
    assert "+0.020" in html


def test_versions_trained_on_different_snapshots_are_said_not_to_be_comparable_and_no_difference_is_shown(
    manager_client, model_version
):
    later = DataSnapshot.objects.create(dataset="german_credit", content_hash="cd" * 32, row_count=1200)
    other = sibling(model_version, snapshot=later)

    response = compare(manager_client, model_version, other)
    html = response.content.decode()

    assert not response.context["holdout"].common
    assert "Not measured on the same applications" in html
    assert f"different snapshots of german_credit ({'ab' * 6} and {'cd' * 6})" in html
    assert f"v{other.pk} \N{MINUS SIGN} v{model_version.pk}" not in html
    assert all(difference is None for _, _, difference in response.context["metric_rows"])
    assert "Performance, each on its own holdout" in html


def test_a_version_without_a_snapshot_cannot_be_compared_on_common_rows(manager_client, model_version):
    other = sibling(model_version, snapshot=None)

    html = compare(manager_client, model_version, other).content.decode()

    assert f"v{other.pk} records no data snapshot, so its holdout cannot be rebuilt" in html


@pytest.fixture
def reseeded(trained_version, model_manager) -> ModelVersion:
    """The trained scorecard's twin on the same snapshot, held out with another seed."""
    version = model_training_start(dataset="german_credit", family="scorecard", requested_by=model_manager, seed=5)
    return model_version_train(version_id=version.pk)


def test_versions_split_with_different_seeds_are_rescored_on_the_rows_both_held_out(
    manager_client, trained_version, reseeded
):
    data = snapshot_training_data(snapshot=trained_version.snapshot)
    common = np.intersect1d(data.holdout_rows(seed=0), data.holdout_rows(seed=5))
    probability = scorer_for_version(trained_version).model.predict_proba_default(data.take(common).features)

    response = compare(manager_client, trained_version, reseeded)
    html = response.content.decode()

    holdout = response.context["holdout"]
    assert (holdout.common, holdout.rescored, holdout.rows) == (True, True, len(common))
    assert reseeded.snapshot_id == trained_version.snapshot_id
    first = {metric.key: metric.value for metric in response.context["pair"][0]["metrics"]}
    assert first["count"] == len(common)
    assert first["auc"] == pytest.approx(area_under_curve(data.target[common], probability))
    assert first["auc"] != pytest.approx(trained_version.metrics["auc"])  # not the figure on its own holdout
    assert f"Compared on a common holdout of {len(common)} applications" in html
    assert f"v{trained_version.pk} held out 30% with seed 0, v{reseeded.pk} 30% with seed 5" in html


def test_too_few_rows_held_out_by_both_are_not_called_a_common_holdout(
    manager_client, trained_version, reseeded, monkeypatch
):
    monkeypatch.setattr(selectors, "cache", LocMemCache("compare-test", {}))
    monkeypatch.setattr(selectors, "MIN_COMMON_HOLDOUT_ROWS", 10_000)

    response = compare(manager_client, trained_version, reseeded)

    assert not response.context["holdout"].common
    assert "applications were held out by both, too few to compare them on" in response.content.decode()
