"""The officer's application list shows live work by default: historical rows imported to train on and generated
(synthetic) ones are one filter away, and the list says how many it leaves out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lending.models import LoanApplication
from tests.factories import LoanApplicationFactory

pytestmark = pytest.mark.django_db

Channel = LoanApplication.Channel


@pytest.fixture
def every_channel():
    LoanApplicationFactory(reference="portal-1", channel=Channel.PORTAL)
    LoanApplicationFactory(reference="api-1", channel=Channel.API)
    LoanApplicationFactory(reference="german_credit:1", channel=Channel.IMPORT)
    LoanApplicationFactory(reference="german_credit:2", channel=Channel.IMPORT)
    LoanApplicationFactory(reference="synthetic-1", channel=Channel.SYNTHETIC)


def references(response) -> list[str]:
    return sorted(application.reference for application in response.context["page"])


def test_the_list_starts_on_live_applications_and_counts_the_rows_it_leaves_out(officer_client, every_channel):
    response = officer_client.get(reverse("lending:application_list"))
    html = response.content.decode()

    assert references(response) == ["api-1", "portal-1"]
    assert response.context["source_counts"] == {"live": 2, "historical": 3, "all": 5}
    assert "Showing <strong>live applications</strong>" in html
    assert "3 historical and synthetic rows</a>" in html


def test_historical_and_synthetic_rows_are_one_filter_away(officer_client, every_channel):
    listing = officer_client.get(reverse("lending:application_list")).content.decode()
    assert 'href="?source=historical"' in listing

    response = officer_client.get(reverse("lending:application_list"), {"source": "historical"})

    assert references(response) == ["german_credit:1", "german_credit:2", "synthetic-1"]
    assert "Back to the 2 live applications" in response.content.decode()


def test_every_source_is_listed_on_request(officer_client, every_channel):
    response = officer_client.get(reverse("lending:application_list"), {"source": "all"})

    assert len(references(response)) == 5


def test_other_filters_keep_the_live_default_and_shape_the_counts(officer_client, every_channel):
    response = officer_client.get(reverse("lending:application_list"), {"q": "german_credit"})

    assert references(response) == []
    assert response.context["source_counts"] == {"live": 0, "historical": 2, "all": 2}
    assert 'href="?q=german_credit&amp;source=historical"' in response.content.decode()


def test_an_unknown_source_falls_back_to_live_applications(officer_client, every_channel):
    response = officer_client.get(reverse("lending:application_list"), {"source": "everything"})

    assert references(response) == ["api-1", "portal-1"]
