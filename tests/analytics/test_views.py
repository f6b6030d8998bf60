"""Model-management pages: the version page's evidence, training, comparison and the promotion workflow."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse
from sklearn.metrics import roc_auc_score

from analytics.engine.evaluation import calibration_table
from analytics.engine.policy import DEFAULT_POLICY
from analytics.models import ModelVersion, PromotionRequest
from analytics.selectors import roc_from_calibration

pytestmark = pytest.mark.django_db


def version_page(client, version):
    return client.get(reverse("analytics:version_detail", args=[version.pk]))


def test_the_version_page_shows_metrics_charts_fairness_importance_and_lineage(manager_client, model_version):
    response = version_page(manager_client, model_version)
    html = response.content.decode()

    assert "0.781" in html
    assert "0.562" in html
    assert html.count('<svg class="chart"') >= 4  # ROC, calibration, one fairness attribute, importance
    roc = response.context["roc"]
    assert roc == [(0.0, 0.0), (0.1, 0.4), (0.3, 0.7), (0.6, 0.9), (1.0, 1.0)]
    assert not response.context["roc_from_bands"]
    fairness = response.context["fairness"][0]
    female = next(group for group in fairness.groups if group.group == "female")
    assert female.below_threshold
    assert "below four-fifths" in html
    assert response.context["importance"][0] == ("credit_amount", 0.5)
    assert "german_credit" in html
    assert "1000" in html
    assert "1973-01-01" in html
    assert "0123456789abcd" in html  # code version
    assert "mark_manager" in html


def test_the_roc_curve_from_score_bands_has_the_area_of_the_banded_scores():
    """Cross-check: the curve rebuilt from the calibration table against scikit-learn on band-level scores."""
    generator = np.random.default_rng(7)
    probability = generator.uniform(0.01, 0.9, 600)
    target = (generator.uniform(size=600) < probability).astype(int)
    bands = calibration_table(target, probability, DEFAULT_POLICY)
    version = ModelVersion(metrics={"calibration": bands})

    points = roc_from_calibration(version)

    xs, ys = zip(*points, strict=True)
    trapezoid_area = float(np.trapezoid(ys, xs))
    scores = np.array([DEFAULT_POLICY.score(p) for p in probability])
    band_of_row = np.empty(len(scores), dtype=int)  # the rows of each band, split as calibration_table splits them
    for index, rows in enumerate(np.array_split(np.argsort(scores, kind="stable"), len(bands))):
        band_of_row[rows] = index
    assert points[0] == (0.0, 0.0)
    assert points[-1] == pytest.approx((1.0, 1.0))
    assert trapezoid_area == pytest.approx(roc_auc_score(target, -band_of_row), abs=1e-9)


def test_the_progress_endpoint_reports_training(manager_client, model_manager):
    version = ModelVersion.objects.create(
        family="gbm", trained_by=model_manager, progress=42, progress_message="fitting trees"
    )

    progress = manager_client.get(reverse("analytics:version_progress", args=[version.pk])).json()
    html = version_page(manager_client, version).content.decode()

    assert progress == {"status": "training", "progress": 42, "progress_message": "fitting trees", "failure": ""}
    assert 'value="42"' in html
    assert "fitting trees" in html
    assert reverse("analytics:version_progress", args=[version.pk]) in html


def test_a_promotion_is_requested_then_approved_by_a_second_manager(
    client, manager_client, model_version, second_model_manager
):
    manager_client.post(
        reverse("analytics:promotion_request", args=[model_version.pk]),
        {"exception_justification": "Female AIR 0.70 reviewed: small holdout."},
    )
    request = PromotionRequest.objects.get()
    own_page = version_page(manager_client, model_version)
    client.force_login(second_model_manager)
    without_exception = client.post(reverse("analytics:promotion_approve", args=[request.pk]), {"note": ""})
    model_version.refresh_from_db()
    status_after_refusal = model_version.status
    client.post(reverse("analytics:promotion_approve", args=[request.pk]), {"accept_exception": "on", "note": "ok"})

    assert not own_page.context["may_decide"]
    assert "Four eyes" in own_page.content.decode()
    assert status_after_refusal == "candidate"
    assert without_exception.status_code == 302
    model_version.refresh_from_db()
    assert model_version.status == "champion"
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", second_model_manager)


def test_a_failing_gate_without_an_exception_is_refused_with_its_reason(manager_client, model_version):
    response = manager_client.post(reverse("analytics:promotion_request", args=[model_version.pk]), {}, follow=True)

    assert not PromotionRequest.objects.exists()
    assert "adverse impact ratio below 0.8 for sex=female: 0.700" in response.content.decode()


def test_the_requester_cannot_approve_their_own_request(manager_client, promotion):
    response = manager_client.post(
        reverse("analytics:promotion_approve", args=[promotion.pk]), {"accept_exception": "on"}, follow=True
    )

    promotion.refresh_from_db()
    assert promotion.status == "pending"
    assert "Four eyes" in response.content.decode()


def test_a_second_manager_can_reject(client, promotion, second_model_manager):
    client.force_login(second_model_manager)

    client.post(reverse("analytics:promotion_reject", args=[promotion.pk]), {"note": "Fairness first."})

    promotion.refresh_from_db()
    assert (promotion.status, promotion.decision_note) == ("rejected", "Fairness first.")


def test_a_candidate_becomes_challenger_and_a_champion_rolls_back(manager_client, model_version, model_manager):
    previous = ModelVersion.objects.create(
        family="gbm", status="retired", trained_by=model_manager, metrics={"auc": 0.7}
    )
    champion = ModelVersion.objects.create(
        family="gbm", status="champion", trained_by=model_manager, previous_champion=previous, metrics={"auc": 0.8}
    )

    manager_client.post(reverse("analytics:set_challenger", args=[model_version.pk]))
    listing = manager_client.get(reverse("analytics:version_list")).content.decode()
    manager_client.post(reverse("analytics:rollback"), {"product": "consumer_loan", "reason": "Drift after release."})

    model_version.refresh_from_db()
    champion.refresh_from_db()
    previous.refresh_from_db()
    assert model_version.status == "challenger"
    assert f"Roll back to v{previous.pk}" in listing
    assert (champion.status, previous.status) == ("retired", "champion")


def test_the_comparison_puts_two_versions_side_by_side(manager_client, model_version, model_manager):
    other = ModelVersion.objects.create(
        family="gbm",
        status="candidate",
        trained_by=model_manager,
        metrics={"auc": 0.801, "gini": 0.602},
        fairness={"groups": {"sex": {"female": {"approval_rate": 0.5, "adverse_impact_ratio": 0.9, "count": 90}}}},
    )

    response = manager_client.get(reverse("analytics:version_compare"), {"a": model_version.pk, "b": other.pk})
    html = response.content.decode()

    assert [row[0].value for row in response.context["metric_rows"]][:2] == [0.781, 0.562]
    assert [row[1].value for row in response.context["metric_rows"]][:2] == [0.801, 0.602]
    sex = dict(response.context["fairness"])["sex"]
    female = next(row for row in sex if row.group == "female")
    assert (female.a.adverse_impact_ratio, female.b.adverse_impact_ratio) == (0.7, 0.9)
    assert f"v{model_version.pk} · scorecard" in html
    assert f"v{other.pk} · gbm" in html
