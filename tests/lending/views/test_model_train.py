"""The training form (lending freezes the snapshot): family, data set, mitigation settings, refusals on their fields."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.models import ModelVersion
from finai.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_the_train_form_sends_mitigation_settings_as_params(manager_client, monkeypatch, model_version):
    started = []

    def start(**kwargs):
        started.append(kwargs)
        return model_version

    monkeypatch.setattr("lending.views.model_training_start", start)
    for mitigation in ("reweighing", "exponentiated_gradient"):
        manager_client.post(
            reverse("lending:model_train"),
            {
                "family": "scorecard",
                "dataset": "german_credit",
                "mitigation": mitigation,
                "mitigation_attribute": "age_band",
                "mitigation_strength": "2",
                "mitigation_constraint": "true_positive_rate_parity",
                "seed": "0",
            },
        )

    assert started[0]["params"] == {"mitigation_attribute": "age_band", "mitigation_strength": 2.0}
    assert started[1]["params"] == {
        "mitigation_attribute": "age_band",
        "mitigation_strength": 2.0,
        "mitigation_constraint": "true_positive_rate_parity",
    }
    assert started[0]["mitigation"] == "reweighing"


def test_the_train_form_puts_a_refused_mitigation_on_its_field(manager_client, trained_version):
    response = manager_client.post(
        reverse("lending:model_train"),
        {"family": "gbm", "dataset": "german_credit", "mitigation": "exponentiated_gradient", "seed": "0"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "mitigation": ["exponentiated_gradient trains the scorecard family, not gbm"]
    }


def test_the_train_form_starts_training_and_opens_the_version_page(manager_client, model_manager, monkeypatch):
    started = {}
    version = ModelVersion.objects.create(family="gbm", trained_by=model_manager)

    def start(**kwargs):
        started.update(kwargs)
        return version

    monkeypatch.setattr("lending.views.model_training_start", start)
    response = manager_client.post(
        reverse("lending:model_train"), {"family": "gbm", "dataset": "german_credit", "mitigation": "none", "seed": "3"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:version_detail", args=[version.pk])
    assert started == {
        "requested_by": model_manager,
        "family": "gbm",
        "dataset": "german_credit",
        "mitigation": "none",
        "seed": 3,
        "alternative_data": [],
    }


def test_the_train_form_names_the_fields_it_refuses(manager_client, monkeypatch):
    def refuse(**kwargs):
        raise ApplicationError("Adversarial debiasing trains a neural network.", details={"mitigation": "needs neural"})

    monkeypatch.setattr("lending.views.model_training_start", refuse)
    bad_choice = manager_client.post(reverse("lending:model_train"), {"family": "forest", "dataset": "x", "seed": "-1"})
    refused = manager_client.post(
        reverse("lending:model_train"),
        {"family": "gbm", "dataset": "german_credit", "mitigation": "adversarial", "seed": "0"},
    )

    assert set(bad_choice.context["form"].errors) == {"family", "dataset", "mitigation", "seed"}
    assert refused.context["form"].errors == {"mitigation": ["needs neural"]}
    assert refused.status_code == 400
