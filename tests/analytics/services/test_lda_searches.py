"""The search for less discriminatory alternatives: candidates registered with lineage, the frontier stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from analytics.fairness_reports.services import version_holdout_audit
from analytics.models import LdaSearch, ModelVersion
from analytics.services.lda_searches import lda_search_request, lda_search_run
from finai.errors import ApplicationError
from finai.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_search_registers_measures_and_ranks_its_alternatives(trained_version, model_manager):
    """One search on German credit (it trains eight models, so its checks share one run)."""
    search = lda_search_request(base_version=trained_version, requested_by=model_manager, tolerance=0.02)
    search = lda_search_run(search_id=search.pk)
    results = search.results
    alternatives = list(search.alternatives.order_by("pk"))

    # Each alternative: a candidate from the same snapshot and seed, with its lineage.
    assert (search.status, search.progress, search.progress_message) == ("done", 100, "done")
    assert 6 <= len(alternatives) <= 8
    for version in alternatives:
        assert version.status == ModelVersion.Status.CANDIDATE
        assert (version.snapshot_id, version.seed) == (trained_version.snapshot_id, trained_version.seed)
        assert version.params["lineage"]["alternative_of"] == trained_version.pk
        assert version.params["lineage"]["search"] == search.pk
        assert version.trained_by == model_manager
    assert {v.mitigation for v in alternatives} == {"none", "reweighing", "exponentiated_gradient"}
    changes = {v.params["lineage"]["change"] for v in alternatives}
    assert {"regularisation", "coarsening", "dropped feature", "monotone constraints", "mitigation"} <= changes

    # Every model measured on the base's holdout: AUC as trained, lowest ratio as the engine audits it.
    assert (results["base"]["version_id"], results["base"]["auc"]) == (
        trained_version.pk,
        trained_version.metrics["auc"],
    )
    for entry in results["alternatives"]:
        version = ModelVersion.objects.get(pk=entry["version_id"])
        assert version.metrics["holdout_rows"] == trained_version.metrics["holdout_rows"]
        assert entry["auc"] == version.metrics["auc"]
        lowest = entry["lowest_ratio"]
        group = version_holdout_audit(version=version).report.attribute(lowest["attribute"]).group(lowest["group"])
        assert lowest["value"] == pytest.approx(group.adverse_impact_ratio_vs_most_favoured.value, abs=1e-12)
        assert lowest["ci"][0] <= lowest["value"] <= lowest["ci"][1]

    # The frontier and the flags, by their definitions.
    entries = [results["base"], *results["alternatives"]]
    points = [(e["auc"], e["lowest_ratio"]["value"]) for e in entries]
    for entry, (auc, ratio) in zip(entries, points, strict=True):
        assert entry["pareto"] is not any(a >= auc and r >= ratio and (a > auc or r > ratio) for a, r in points)
    for entry, (auc, ratio) in zip(entries[1:], points[1:], strict=True):
        assert entry["less_discriminatory"] is (ratio > points[0][1] and auc >= points[0][0] - 0.02)

    # Audited from request to result; a redelivered task changes nothing.
    finished = AuditEvent.objects.get(action="model.alternative_search_finished")
    assert AuditEvent.objects.get(action="model.alternative_search_requested").actor == model_manager
    assert finished.payload["alternatives"] == [e["version_id"] for e in results["alternatives"]]
    assert lda_search_run(search_id=search.pk).alternatives.count() == len(alternatives)
    assert AuditEvent.objects.filter(action="model.alternative_search_finished").count() == 1


def test_a_search_needs_a_trained_base_a_sane_tolerance_and_a_model_manager(trained_version, compliance_officer):
    trained_version.status = ModelVersion.Status.FAILED
    trained_version.save(update_fields=["status"])
    with pytest.raises(ApplicationError) as refused:
        lda_search_request(base_version=trained_version, requested_by=None, tolerance=0.5)
    assert set(refused.value.details) == {"version", "tolerance"}
    with pytest.raises(PermissionDenied):
        lda_search_request(base_version=trained_version, requested_by=compliance_officer)
    assert not LdaSearch.objects.exists()


def test_a_search_whose_base_cannot_be_loaded_fails_with_the_reason(trained_version, model_manager):
    search = lda_search_request(base_version=trained_version, requested_by=model_manager)
    ModelVersion.objects.filter(pk=trained_version.pk).update(artifact_sha256="0" * 64)

    failed = lda_search_run(search_id=search.pk)

    assert failed.status == LdaSearch.Status.FAILED
    assert "modified after it was stored" in failed.failure
    assert failed.finished_at is not None
