"""The Berka tables as clustering reads them: lending's declaration of the "berka" data set, its loans'
default flags, and segment profiles over it checked by hand."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from clustering.datasets import dataset_get
from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringRun, SegmentAssignment
from clustering.selectors import segment_profiles
from lending.models import BerkaAccount, BerkaLoan
from lending.selectors import BERKA_CLUSTERING_DATASET, berka_loan_frame, berka_transaction_frame
from tests.clustering.records import finished_run_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(berka_folder) -> None:
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())


@pytest.fixture
def run(imported) -> ClusteringRun:
    """A finished run over every imported account (all in segment 0), recorded without training."""
    run = finished_run_record(experiment_name="berka profiles", config=ExperimentConfig(k=2))
    SegmentAssignment.objects.bulk_create(
        SegmentAssignment(run=run, account_reference=str(account), segment=0, in_train=True)
        for account in berka_transaction_frame()["account_id"].unique()
    )
    return run


def test_the_berka_data_set_is_lendings_declaration():
    assert dataset_get("berka") is BERKA_CLUSTERING_DATASET


def test_a_loan_counts_as_defaulted_in_statuses_b_and_d(imported):
    account = BerkaAccount.objects.filter(loans__isnull=True).first()
    for number, status in enumerate("ABCD", start=1):
        BerkaLoan.objects.create(
            loan_id=900_000 + number,
            account=account,
            granted_on=dt.date(1997, 1, 1),
            amount=1000,
            duration_months=12,
            monthly_payment=100,
            status=status,
        )

    loans = berka_loan_frame([account.account_id])

    assert sorted(loans["defaulted"].tolist()) == [False, False, True, True]


def test_a_profile_matches_a_hand_computation_of_its_account(run):
    frame = berka_transaction_frame()
    with_loan = set(BerkaLoan.objects.values_list("account_id", flat=True))
    lone = next(a for a in frame["account_id"].unique() if a in with_loan)
    SegmentAssignment.objects.filter(run=run).update(segment=1)
    SegmentAssignment.objects.filter(run=run, account_reference=str(lone)).update(segment=0)

    profile = next(p for p in segment_profiles(run=run) if p.segment == 0)

    rows = frame[frame["account_id"] == lone]
    days = (pd.to_datetime(rows["date"]) - pd.to_datetime(frame["date"]).min()).dt.days.to_numpy()
    months = days / 30.44
    span = max(months.max() - months.min(), 1.0)
    assert profile.accounts == 1
    assert profile.inflow_per_month == pytest.approx(rows["amount"].clip(lower=0).sum() / span)
    assert profile.outflow_per_month == pytest.approx(-rows["amount"].clip(upper=0).sum() / span)
    assert profile.volatility == pytest.approx(np.std(rows["amount"].to_numpy()))
    expected_trend = np.polyfit(months, rows["balance"].to_numpy(), 1)[0] if len(set(days)) > 1 else 0.0
    assert profile.balance_trend_per_month == pytest.approx(expected_trend, rel=1e-6, abs=1e-6)
    loans = BerkaLoan.objects.filter(account_id=lone)
    assert profile.loans == loans.count()
    assert profile.defaulted_loans == loans.filter(status__in=["B", "D"]).count()
