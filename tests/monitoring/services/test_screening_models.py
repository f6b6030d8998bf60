"""Screening models through the registry: trained on stored bookings, measured on held-out accounts, promoted
with four eyes (and the written exception for a gate with nothing to measure), scoring live runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from django.urls import reverse

from analytics.engine.screening.synthetic import synthetic_book
from analytics.models import ModelVersion
from analytics.services.registry import promotion_approve, promotion_request
from finai.errors import ApplicationError
from monitoring.models import ScreeningAlert
from monitoring.services.scenarios import active_versions, screening_scenarios_ensure
from monitoring.services.screening import (
    account_labels_store,
    screened_transactions_store,
    screening_run_execute,
    screening_run_request,
)
from monitoring.services.screening_models import (
    ANOMALY,
    SCREENING_PRODUCT,
    SUPERVISED,
    screening_model_train,
    screening_model_train_request,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled_book(db: Any) -> Any:
    book = synthetic_book(accounts=400, days=150, planted_per_typology=6, seed=5)
    table = book.transactions.assign(transaction_id=[f"s{row}" for row in range(len(book.transactions))])
    screened_transactions_store(transactions=table, source="synthetic")
    labels = pd.DataFrame({"account": sorted(set(table["account"]))})
    labels["suspicious"] = labels["account"].isin(set(book.truth["account"]))
    account_labels_store(labels=labels, source="synthetic")
    return book


def test_a_supervised_model_is_trained_measured_and_stored_with_its_lineage(
    labelled_book: Any, model_manager: Any
) -> None:
    version = screening_model_train_request(
        family=SUPERVISED, label_source="synthetic", requested_by=model_manager, queue=False
    )
    version = screening_model_train(version_id=version.pk)
    assert version.status == ModelVersion.Status.CANDIDATE, version.failure
    assert version.product == SCREENING_PRODUCT
    assert len(version.artifact_sha256) == 64
    lineage = version.params["training_data"]
    assert lineage["bookings"] == len(labelled_book.transactions)
    assert lineage["train_accounts"] + lineage["test_accounts"] == 400
    assert 0.0 < version.metrics["pr_auc"] <= 1.0
    assert version.metrics["positives"] >= 1
    assert "alert_threshold" in version.metrics


def test_a_supervised_model_needs_labels_and_every_problem_is_named(model_manager: Any, loan_officer: Any) -> None:
    with pytest.raises(ApplicationError) as raised:
        screening_model_train_request(family="magic", label_source="nowhere", requested_by=model_manager)
    assert set(raised.value.details) == {"family", "bookings"}
    with pytest.raises(ApplicationError) as unlabelled:
        screening_model_train_request(family=SUPERVISED, label_source="nowhere", requested_by=model_manager)
    assert "label_source" in unlabelled.value.details


def test_the_promoted_champion_scores_a_live_run_and_each_alert_names_its_reasons(
    labelled_book: Any, model_manager: Any, second_model_manager: Any, compliance_officer: Any
) -> None:
    version = screening_model_train(
        version_id=screening_model_train_request(
            family=ANOMALY, label_source="synthetic", requested_by=model_manager, queue=False
        ).pk
    )
    with pytest.raises(ApplicationError) as gated:
        promotion_request(version=version, requested_by=model_manager)
    assert "fairness" in gated.value.details
    request = promotion_request(
        version=version,
        requested_by=model_manager,
        exception_justification="Screening reads bookings only; no protected attribute is an input.",
    )
    promotion_approve(request=request, approved_by=second_model_manager, accept_exception=True)

    screening_scenarios_ensure()
    frame = labelled_book.transactions
    start = frame["booked_at"].max().to_pydatetime().replace(tzinfo=dt.UTC) - dt.timedelta(days=30)
    run = screening_run_request(
        kind="live",
        period_start=start,
        period_end=start + dt.timedelta(days=31),
        versions=active_versions(),
        requested_by=compliance_officer,
        queue=False,
    )
    run = screening_run_execute(run_id=run.pk)
    assert run.results["model"]["version"] == version.pk
    model_alerts = ScreeningAlert.objects.filter(rule=f"model v{version.pk}")
    assert model_alerts.count() == run.results["model"]["alerts_recorded"] > 0
    for alert in model_alerts:
        assert alert.source == ScreeningAlert.Source.ANOMALY
        assert alert.score >= 1.0
        assert "above" in alert.reason or "below" in alert.reason
        assert alert.case.account == alert.account


def test_the_registry_page_of_a_screening_model_shows_its_screening_figures_not_credit_ones(
    labelled_book: Any, model_manager: Any, client: Any
) -> None:
    version = screening_model_train(
        version_id=screening_model_train_request(
            family=SUPERVISED, label_source="synthetic", requested_by=model_manager, queue=False
        ).pk
    )
    client.force_login(model_manager)
    page = client.get(reverse("analytics:version_detail", kwargs={"pk": version.pk})).content.decode()
    assert "PR-AUC" in page
    assert "Recall at a 5% alert rate" in page
    assert "Run as challenger" not in page
    assert "Less discriminatory alternatives" not in page
    assert "Gini" not in page


def test_the_models_page_trains_a_screening_model_on_a_worker_and_lists_its_figures(
    labelled_book: Any,
    model_manager: Any,
    compliance_officer: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(compliance_officer)
    page = client.get(reverse("monitoring:screening_models"))
    assert "No screening model has been trained yet" in page.content.decode()
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            reverse("monitoring:screening_models"),
            {"family": SUPERVISED, "label_source": "synthetic", "seed": 0},
        )
    assert response.status_code == 302
    [version] = ModelVersion.objects.filter(product=SCREENING_PRODUCT)
    assert version.trained_by == compliance_officer
    assert len(queued) == 1
    screening_model_train(version_id=version.pk)  # what the queued task does on a worker
    listed = client.get(reverse("monitoring:screening_models")).content.decode()
    assert f"v{version.pk}" in listed
    assert "PR-AUC" in listed
    assert reverse("analytics:version_detail", kwargs={"pk": version.pk}) not in listed  # compliance: no registry link
    client.force_login(model_manager)
    assert (
        reverse("analytics:version_detail", kwargs={"pk": version.pk})
        in client.get(reverse("monitoring:screening_models")).content.decode()
    )


def test_the_models_page_names_an_unknown_label_source(labelled_book: Any, model_manager: Any, client: Any) -> None:
    client.force_login(model_manager)
    response = client.post(reverse("monitoring:screening_models"), {"family": SUPERVISED, "label_source": "nowhere"})
    assert response.status_code == 400
    assert "label_source" in response.context["form"].errors
    assert not ModelVersion.objects.filter(product=SCREENING_PRODUCT).exists()
