"""Starting a training names bad choices before touching any data."""

from __future__ import annotations

import pytest

from analytics.models import DataSnapshot
from finai.errors import ApplicationError
from lending.services.training import model_training_start

pytestmark = pytest.mark.django_db


def test_an_unknown_family_is_named_even_with_no_data_loaded(model_manager):
    with pytest.raises(ApplicationError) as caught:
        model_training_start(dataset="german_credit", family="forest", requested_by=model_manager)

    assert "family" in caught.value.details
    assert not DataSnapshot.objects.exists()


def test_group_thresholds_are_refused_with_the_ecoa_reason(model_manager):
    with pytest.raises(ApplicationError) as caught:
        model_training_start(
            dataset="german_credit", family="scorecard", mitigation="group_thresholds", requested_by=model_manager
        )

    assert "Equal Credit Opportunity Act" in caught.value.details["mitigation"]
