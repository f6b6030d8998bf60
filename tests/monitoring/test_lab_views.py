"""The policy lab's and the champion-against-challenger pages: requests, stored reports, who sees the groups,
and the backtest the second approver of a promotion reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import ModelVersion
from lending.models import Decision
from monitoring.models import Backtest, ChallengerComparison
from tests.factories import DecisionFactory, ModelVersionFactory
from tests.monitoring.lab_records import backtest_record, challenger_comparison_record, comparison_results

pytestmark = pytest.mark.django_db


@pytest.fixture
def past_decisions(model_version) -> list[Decision]:
    """Forty approvals and declines by the version, a month ago."""
    decided = timezone.now() - dt.timedelta(days=30)
    return [
        DecisionFactory(
            model_version=model_version,
            outcome="approve" if index % 2 else "decline",
            probability_of_default=0.1 if index % 2 else 0.7,
            decided_at=decided,
        )
        for index in range(40)
    ]


def _days_around(moment: dt.datetime) -> dict[str, str]:
    day = timezone.localtime(moment).date()
    return {"first_day": str(day - dt.timedelta(days=1)), "last_day": str(day + dt.timedelta(days=1))}


@pytest.fixture
def done_backtest(model_version, model_manager) -> Backtest:
    return backtest_record(
        candidate=None, requested_by=model_manager, status=Backtest.Status.DONE, results=comparison_results()
    )


def test_a_model_manager_requests_new_cut_offs_and_is_sent_to_the_backtest_page(manager_client, past_decisions):
    response = manager_client.post(
        reverse("monitoring:backtest_list"),
        {
            "product": "consumer_loan",
            "approve_below": "0.05",
            "decline_from": "0.5",
            **_days_around(past_decisions[0].decided_at),
        },
    )

    backtest = Backtest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring:backtest_detail", kwargs={"pk": backtest.pk})
    assert (backtest.approve_below, backtest.decline_from, backtest.policy_version) == (0.05, 0.5, "lab-0.05-0.5")


def test_each_bad_field_is_named_on_the_form(manager_client, past_decisions):
    today = timezone.localdate()

    response = manager_client.post(
        reverse("monitoring:backtest_list"),
        {
            "product": "consumer_loan",
            "approve_below": "0.6",
            "decline_from": "0.5",
            "first_day": str(today),
            "last_day": str(today),
        },
    )

    assert response.status_code == 400
    assert "must be in the past" in response.content.decode()
    assert not Backtest.objects.exists()


def test_a_period_without_decisions_is_named_on_the_form(manager_client, past_decisions):
    response = manager_client.post(
        reverse("monitoring:backtest_list"),
        {
            "product": "consumer_loan",
            "approve_below": "0.2",
            "decline_from": "0.5",
            "first_day": "2020-01-01",
            "last_day": "2020-01-31",
        },
    )

    assert response.status_code == 400
    assert "there is nothing to replay" in response.content.decode()


def test_compliance_reads_the_lab_but_cannot_request_a_backtest(client, compliance_officer, past_decisions):
    client.force_login(compliance_officer)

    page = client.get(reverse("monitoring:backtest_list"))
    refused = client.post(
        reverse("monitoring:backtest_list"),
        {
            "product": "consumer_loan",
            "approve_below": "0.2",
            "decline_from": "0.5",
            **_days_around(past_decisions[0].decided_at),
        },
    )

    assert page.status_code == 200
    assert 'id="backtest-form"' not in page.content.decode()
    assert refused.status_code == 403
    assert not Backtest.objects.exists()


def test_the_report_shows_approvals_swap_sets_their_bound_and_the_reject_inference_note(manager_client, done_backtest):
    response = manager_client.get(reverse("monitoring:backtest_detail", kwargs={"pk": done_backtest.pk}))

    page = response.content.decode()
    comparison = done_backtest.results["comparison"]
    assert response.status_code == 200
    swap_out = comparison["swap_out"]["performance"]
    assert 'id="swap_out"' in page
    assert f"{comparison['swap_out']['applications']:,}" in page
    assert f"bound: between {swap_out['bound_low']:.1%} and {swap_out['bound_high']:.1%}" in page
    assert comparison["coverage"]["note"] in page
    assert "data-print" in page
    assert "Officers overrode <strong>2</strong>" in page


def test_group_tables_are_shown_to_compliance_officers_only(client, compliance_officer, model_manager, done_backtest):
    url = reverse("monitoring:backtest_detail", kwargs={"pk": done_backtest.pk})
    pages = {}
    for user in (compliance_officer, model_manager):
        client.force_login(user)
        pages[user.username] = client.get(url).content.decode()

    assert 'id="groups-sex"' in pages[compliance_officer.username]
    assert 'id="groups-sex"' not in pages[model_manager.username]
    assert 'id="groups-withheld"' in pages[model_manager.username]


def test_a_running_backtest_shows_its_progress_and_the_json_it_is_polled_by(
    manager_client, model_version, model_manager
):
    backtest = backtest_record(
        candidate=model_version, requested_by=model_manager, progress=40, progress_message="Scoring"
    )

    page = manager_client.get(reverse("monitoring:backtest_detail", kwargs={"pk": backtest.pk}))
    polled = manager_client.get(reverse("monitoring:backtest_progress", kwargs={"pk": backtest.pk}))

    assert "data-job-progress-url" in page.content.decode()
    assert polled.json() == {"status": "running", "progress": 40, "progress_message": "Scoring", "failure": ""}


def test_a_manager_attaches_a_done_backtest_and_the_second_approver_sees_it(
    client, model_manager, second_model_manager, model_version, promotion
):
    backtest = backtest_record(
        candidate=model_version, requested_by=model_manager, status=Backtest.Status.DONE, results=comparison_results()
    )
    client.force_login(model_manager)

    report = client.get(reverse("monitoring:backtest_detail", kwargs={"pk": backtest.pk})).content.decode()
    client.post(reverse("monitoring:backtest_attach", kwargs={"pk": backtest.pk}))
    client.force_login(second_model_manager)
    version_page = client.get(reverse("analytics:version_detail", kwargs={"pk": model_version.pk})).content.decode()

    assert 'id="attach-form"' in report
    backtest.refresh_from_db()
    assert backtest.promotion_request == promotion
    assert reverse("monitoring:backtest_detail", kwargs={"pk": backtest.pk}) in version_page
    assert "Backtest attached" in version_page
    assert 'id="approve-form"' in version_page


def test_a_promotion_without_a_backtest_points_to_the_lab(client, second_model_manager, model_version, promotion):
    client.force_login(second_model_manager)

    page = client.get(reverse("analytics:version_detail", kwargs={"pk": model_version.pk})).content.decode()

    assert "No backtest is attached to this request" in page
    assert f"{reverse('monitoring:backtest_list')}?candidate={model_version.pk}" in page


@pytest.fixture
def pair(db) -> tuple[ModelVersion, ModelVersion]:
    return (
        ModelVersionFactory(status=ModelVersion.Status.CHAMPION),
        ModelVersionFactory(status=ModelVersion.Status.CHALLENGER),
    )


def test_a_comparison_of_a_period_without_shadow_decisions_is_refused_on_the_form(manager_client, pair):
    response = manager_client.post(
        reverse("monitoring:challenger_comparison_list"), {"first_day": "2020-01-01", "last_day": "2020-01-31"}
    )

    assert response.status_code == 400
    assert f"scored in shadow by v{pair[1].pk}" in response.content.decode()
    assert not ChallengerComparison.objects.exists()


def test_a_product_without_a_challenger_has_nothing_to_compare(manager_client, model_version):
    page = manager_client.get(reverse("monitoring:challenger_comparison_list")).content.decode()

    assert "no champion" in page


def test_a_stored_comparison_shows_both_sides_side_by_side(manager_client, pair, model_manager):
    comparison = challenger_comparison_record(
        champion=pair[0],
        challenger=pair[1],
        requested_by=model_manager,
        status=ChallengerComparison.Status.DONE,
        results=comparison_results(),
    )

    page = manager_client.get(reverse("monitoring:challenger_comparison_detail", kwargs={"pk": comparison.pk}))

    content = page.content.decode()
    assert page.status_code == 200
    assert 'id="approval-table"' in content
    assert 'id="transition-table"' in content
    assert comparison.results["comparison"]["coverage"]["note"] in content
