"""The version list filters by product, status and family, pages by 25, and leaves out the unpromoted
alternatives that searches for less discriminatory models register, saying how many."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.models import LINEAGE_PARAM, ModelVersion
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def alternative_of(base: ModelVersion, **fields) -> ModelVersion:
    lineage = {"alternative_of": base.pk, "search": 1, "change": "mitigation", "name": "reweighing"}
    return ModelVersionFactory(params={"C": 1.0, LINEAGE_PARAM: lineage}, **fields)


def listed(response) -> list[int]:
    return sorted(version.pk for version in response.context["versions"])


@pytest.fixture
def registry():
    champion = ModelVersionFactory(status="champion", family="scorecard")
    gbm = ModelVersionFactory(status="candidate", family="gbm")
    cards = ModelVersionFactory(status="candidate", family="scorecard", product="credit_card")
    alternatives = [alternative_of(champion) for _ in range(3)]
    promoted = alternative_of(champion, status="challenger")
    return {"champion": champion, "gbm": gbm, "cards": cards, "alternatives": alternatives, "promoted": promoted}


def test_unpromoted_search_alternatives_are_left_out_and_counted(manager_client, registry):
    response = manager_client.get(reverse("analytics:version_list"))

    expected = [registry[name].pk for name in ("champion", "gbm", "cards", "promoted")]
    assert listed(response) == sorted(expected)
    assert response.context["alternatives_hidden"] == 3
    assert "3 search alternatives not shown" in response.content.decode()


def test_search_alternatives_are_listed_on_request(manager_client, registry):
    response = manager_client.get(reverse("analytics:version_list"), {"alternatives": "on"})

    assert len(listed(response)) == 7
    assert response.context["alternatives_hidden"] == 0
    assert f"alternative to v{registry['champion'].pk}" in response.content.decode()


def test_the_list_filters_by_product_status_and_family(manager_client, registry):
    def filtered(**query) -> list[int]:
        return listed(manager_client.get(reverse("analytics:version_list"), query))

    assert filtered(product="credit_card") == [registry["cards"].pk]
    assert filtered(family="gbm") == [registry["gbm"].pk]
    assert filtered(status="champion") == [registry["champion"].pk]
    assert filtered(product="consumer_loan", status="candidate") == [registry["gbm"].pk]


def test_each_filter_choice_says_how_many_versions_it_holds(manager_client, registry):
    form = manager_client.get(reverse("analytics:version_list")).context["form"]

    assert ("credit_card", "credit_card (1)") in form.fields["product"].choices
    assert ("candidate", "Candidate (5)") in form.fields["status"].choices
    assert ("gbm", "gbm (1)") in form.fields["family"].choices


def test_the_list_pages_by_25_and_keeps_its_filters_across_pages(manager_client):
    for _ in range(26):
        ModelVersionFactory(family="gbm")

    first = manager_client.get(reverse("analytics:version_list"), {"family": "gbm"})
    second = manager_client.get(reverse("analytics:version_list"), {"family": "gbm", "page": 2})

    assert (len(first.context["versions"]), len(second.context["versions"])) == (25, 1)
    assert "?family=gbm&amp;page=2" in first.content.decode()
