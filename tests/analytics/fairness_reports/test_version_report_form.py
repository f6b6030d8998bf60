"""The version-report form starts on the champion of the default product and offers no empty choice."""

from __future__ import annotations

import pytest
from django.test import override_settings

from analytics.fairness_reports.forms import VersionReportForm
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@override_settings(DEFAULT_PRODUCT="consumer_loan")
def test_the_form_starts_on_the_default_products_champion_without_an_empty_choice():
    ModelVersionFactory(status="champion", product="credit_card")
    champion = ModelVersionFactory(status="champion", product="consumer_loan")
    ModelVersionFactory(status="candidate")

    form = VersionReportForm()
    values = [str(value) for value, _ in form.fields["version"].choices]

    assert form["version"].value() == champion.pk
    assert "" not in values
    assert f'<option value="{champion.pk}" selected>' in str(form["version"])


def test_without_a_champion_the_form_starts_on_the_newest_trained_version():
    ModelVersionFactory(status="candidate")
    newest = ModelVersionFactory(status="candidate")
    ModelVersionFactory(status="training")

    assert VersionReportForm()["version"].value() == newest.pk


def test_the_choices_name_each_versions_product():
    version = ModelVersionFactory(status="candidate", family="gbm", product="credit_card")

    assert (VersionReportForm().fields["version"].choices.choice(version))[1] == (
        f"v{version.pk} · credit_card · gbm · Candidate"
    )
