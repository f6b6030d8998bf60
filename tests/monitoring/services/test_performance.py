"""Performance from repayment outcomes drawn from known probabilities: realised figures for mature cohorts
(checked against scikit-learn), label-free estimates for the rest, vintages, and the alerts they raise."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from lending.models import Loan
from monitoring.models import Alert, CohortPerformance
from monitoring.services.performance import PerformanceDefinition, performance_run, version_loans
from tests.monitoring.drift_stream import stream_champion, stream_loans_fund

FIRST_MONTH = dt.date(2024, 1, 1)
AS_OF = dt.date(2025, 3, 1)  # January 2024 to February 2024 are mature (12 months), the rest are not


@pytest.fixture
def champion(settings):
    settings.MONITORING_BOOTSTRAP_SAMPLES = 300
    version = stream_champion()
    version.metrics = {"auc": 0.70}
    version.save(update_fields=["metrics"])
    return version


def _fund(version, *, months: int = 4, rows: int = 2500, truth=None) -> None:
    kwargs = {"truth": truth} if truth else {}
    stream_loans_fund(
        version=version, first=FIRST_MONTH, months=months, rows_per_month=rows, rng=np.random.default_rng(4), **kwargs
    )


@pytest.mark.django_db
def test_mature_cohorts_get_realised_figures_equal_to_scikit_learn_and_immature_ones_only_estimates(champion):
    _fund(champion)

    performance_run(as_of=AS_OF)

    cohorts = list(CohortPerformance.objects.order_by("cohort"))
    assert [(f"{c.cohort:%Y-%m}", c.mature) for c in cohorts] == [
        ("2024-01", True),
        ("2024-02", True),
        ("2024-03", False),
        ("2024-04", False),
    ]
    frame = version_loans(version=champion, definition=PerformanceDefinition.for_version(champion), as_of=AS_OF)
    january = frame[frame["funded_on"].dt.month == 1]
    expected = roc_auc_score(january["defaulted"], january["probability_of_default"])
    assert cohorts[0].realised["auc"]["value"] == pytest.approx(expected, abs=1e-12)
    assert cohorts[0].realised["auc"]["low"] < expected < cohorts[0].realised["auc"]["high"]
    assert cohorts[2].realised == {}
    assert cohorts[2].estimated["expected_auc"] > 0.5
    assert cohorts[0].default_definition["horizon_months"] == 12


@pytest.mark.django_db
def test_the_label_free_estimate_is_within_002_of_the_realised_auc_on_a_calibrated_cohort(champion):
    _fund(champion, months=1, rows=6000)

    [cohort] = performance_run(as_of=AS_OF)[0]

    assert abs(cohort.estimate_error) < 0.02


@pytest.mark.django_db
def test_the_realised_auc_interval_covers_the_true_auc_of_the_generating_probabilities(champion):
    _fund(champion, months=1, rows=5000)
    [cohort] = performance_run(as_of=AS_OF)[0]
    frame = version_loans(version=champion, definition=PerformanceDefinition.for_version(champion), as_of=AS_OF)
    pds = frame["probability_of_default"].to_numpy()
    # The true AUC of these loans: the probability that a defaulter outranks a non-defaulter when each loan
    # defaults with its own PD (the PDs are the truth here), over every ordered pair of distinct loans.
    order = np.argsort(pds)
    ranked = pds[order]
    below_non_default = np.concatenate([[0.0], np.cumsum(1 - ranked)[:-1]])
    true_auc = float(np.sum(ranked * below_non_default) / (pds.sum() * (1 - pds).sum() - np.sum(pds * (1 - pds))))

    interval = cohort.realised["auc"]
    assert interval["low"] <= true_auc <= interval["high"]


@pytest.mark.django_db
def test_a_planted_miscalibration_in_one_band_raises_that_bands_alert_only(champion):
    edges = [edge for edge in champion.drift_reference["score"]["edges"] if 0 < edge < 1]
    low, high = edges[4], edges[5]  # the sixth training decile

    def truth(probabilities: np.ndarray) -> np.ndarray:
        planted = (probabilities > low) & (probabilities <= high)
        return np.where(planted, np.minimum(probabilities * 2.5, 1.0), probabilities)

    _fund(champion, months=1, rows=8000, truth=truth)

    performance_run(as_of=AS_OF)

    alerts = list(Alert.objects.filter(rule=Alert.Rule.CALIBRATION_BAND).values_list("subject", flat=True))
    assert alerts == [f"consumer_loan v{champion.pk} calibration band 6"]


@pytest.mark.django_db
def test_a_realised_auc_below_the_holdout_by_more_than_the_margin_raises_an_auc_drop(champion):
    champion.metrics = {"auc": 0.95}
    champion.save(update_fields=["metrics"])
    _fund(champion, months=1, rows=1000)

    performance_run(as_of=AS_OF)

    [alert] = Alert.objects.filter(rule=Alert.Rule.AUC_DROP)
    assert alert.latest["kind"] == "realised"
    assert alert.latest["default_definition"]["days_past_due"] == 90


@pytest.mark.django_db
def test_outcomes_after_the_as_of_date_are_not_yet_known(champion):
    _fund(champion, months=1, rows=500)
    definition = PerformanceDefinition.for_version(champion)

    early = version_loans(version=champion, definition=definition, as_of=dt.date(2024, 2, 10))
    late = version_loans(version=champion, definition=definition, as_of=AS_OF)

    assert early["defaulted"].sum() < late["defaulted"].sum()
    assert len(early) == len(late) == Loan.objects.count()


@pytest.mark.django_db
def test_vintage_curves_rise_with_months_on_book_and_stop_at_maturity(champion):
    _fund(champion, months=4, rows=300)

    performance_run(as_of=dt.date(2024, 9, 15))

    january = CohortPerformance.objects.get(cohort=dt.date(2024, 1, 1))
    april = CohortPerformance.objects.get(cohort=dt.date(2024, 4, 1))
    rates = [point["cumulative_default_rate"] for point in january.vintage["all"]]
    assert rates == sorted(rates)
    assert len(january.vintage["all"]) == january.months_observed == 7  # February to August have ended
    assert len(april.vintage["all"]) == 4
    assert set(january.vintage["bands"]) <= {"1", "2", "3", "4", "5"}


@pytest.mark.django_db
def test_a_withdrawn_loan_counts_neither_as_repaid_nor_as_defaulted(champion):
    _fund(champion, months=1, rows=300)
    definition = PerformanceDefinition.for_version(champion)
    before = version_loans(version=champion, definition=definition, as_of=AS_OF)
    withdrawn = Loan.objects.filter(outcomes__isnull=True).first() or Loan.objects.first()
    Loan.objects.filter(pk=withdrawn.pk).update(
        status=Loan.Status.WITHDRAWN, ended_on=withdrawn.funded_on, end_note="The applicant withdrew."
    )

    after = version_loans(version=champion, definition=definition, as_of=AS_OF)

    assert len(after) == len(before) - 1
    assert withdrawn.pk not in set(after["loan"])
