"""Synthetic transactions: seeded, and each planted group behaves as its name says, whether the accounts
share one calendar (clustering's tests) or each has its own window (the lending population's applicants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clustering.synthetic import (
    GROUPS,
    OPERATIONS,
    SEASON_MONTHS,
    behaviour_transactions_generate,
    synthetic_transactions_generate,
)
from finai.errors import ApplicationError


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_transactions_generate(accounts_per_group=15, months=12, start="2023-01", seed=4)


@pytest.fixture(scope="module")
def staggered() -> pd.DataFrame:
    """Two accounts of each behaviour whose year starts in each month of 2016 to 2018, with both per row."""
    first_months = np.repeat(np.arange(np.datetime64("2016-01"), np.datetime64("2019-01")), 2 * len(GROUPS))
    behaviours = np.tile(GROUPS, len(first_months) // len(GROUPS))
    table = behaviour_transactions_generate(
        rng=np.random.default_rng(0), behaviours=behaviours, first_months=first_months, months=12
    )
    return table.assign(behaviour=behaviours[table["account"]], first_month=first_months[table["account"]])


def of_group(synthetic, group: str) -> pd.DataFrame:
    accounts = synthetic.groups.index[synthetic.groups == group]
    return synthetic.transactions[synthetic.transactions["account_id"].isin(accounts)]


def test_the_same_seed_gives_the_same_transactions_and_another_seed_does_not(synthetic):
    again = synthetic_transactions_generate(accounts_per_group=15, months=12, start="2023-01", seed=4)
    other = synthetic_transactions_generate(accounts_per_group=15, months=12, start="2023-01", seed=5)
    pd.testing.assert_frame_equal(synthetic.transactions, again.transactions)
    pd.testing.assert_series_equal(synthetic.groups, again.groups)
    assert not synthetic.transactions["amount"].equals(other.transactions["amount"])


def test_every_group_has_its_accounts_and_every_account_transacts(synthetic):
    assert synthetic.groups.value_counts().to_dict() == dict.fromkeys(GROUPS, 15)
    assert set(synthetic.transactions["account_id"]) == set(synthetic.groups.index)
    np.testing.assert_array_equal(
        synthetic.labels(np.array([3, 1])), [GROUPS.index(synthetic.groups[a]) for a in (3, 1)]
    )


def test_balances_follow_the_signed_amounts_and_dates_stay_in_the_window(synthetic):
    table = synthetic.transactions.sort_values(["account_id", "date"], kind="stable")
    steps = table.groupby("account_id")["balance"].diff().dropna()
    np.testing.assert_allclose(steps, table.loc[steps.index, "amount"], atol=0.011)
    assert table["date"].min() >= np.datetime64("2023-01-01")
    assert table["date"].max() <= np.datetime64("2023-12-31")
    assert set(table["kind"]) == {"credit", "debit"}
    assert ((table["amount"] >= 0) == (table["kind"] == "credit")).all()


def test_regular_earners_are_paid_once_a_month_late_in_the_month(synthetic):
    credits = of_group(synthetic, "regular_salary").query("amount > 0")
    per_month = credits.groupby(["account_id", credits["date"].dt.month]).size()
    assert (per_month == 1).all()
    assert credits["date"].dt.day.between(24, 26).all()


def test_high_spenders_run_their_balance_down_and_regular_earners_do_not(synthetic):
    def yearly_net(group: str) -> pd.Series:
        return of_group(synthetic, group).groupby("account_id")["amount"].sum()

    assert (yearly_net("high_spending") < 0).all()
    assert (yearly_net("regular_salary") > 0).mean() > 0.5


def test_seasonal_income_arrives_only_in_summer(synthetic):
    credits = of_group(synthetic, "seasonal").query("amount > 0")
    assert set(credits["date"].dt.month - 1) <= set(SEASON_MONTHS)


def test_dormant_accounts_go_quiet_after_their_first_two_months(synthetic):
    dormant = of_group(synthetic, "dormant")
    assert dormant["date"].max() < np.datetime64("2023-03-01")
    assert dormant.groupby("account_id").size().max() <= 3


def test_accounts_with_their_own_windows_transact_only_inside_them(staggered):
    month, first_month = (staggered[column].to_numpy().astype("datetime64[M]") for column in ("date", "first_month"))
    months_in = (month - first_month).astype(int)

    assert staggered["account"].nunique() == 36 * 2 * len(GROUPS)
    assert months_in.min() == 0
    assert months_in.max() == 11


def test_salaried_accounts_are_paid_once_in_each_month_of_their_own_window(staggered):
    salaries = staggered[staggered["category"] == "salary"]
    per_month = salaries.groupby(["account", salaries["date"].dt.to_period("M")]).size()

    assert set(salaries["behaviour"]) == {"regular_salary", "high_spending"}
    assert (per_month == 1).all()
    assert (salaries.groupby("account").size() == 12).all()


def test_seasonal_income_arrives_only_in_summer_wherever_the_window_starts(staggered):
    income = staggered[(staggered["behaviour"] == "seasonal") & (staggered["amount"] > 0)]

    assert income["account"].nunique() == 36 * 2
    assert set(income["date"].dt.month - 1) <= set(SEASON_MONTHS)


def test_every_event_is_booked_with_the_operation_of_its_category(staggered):
    booked = set(zip(staggered["category"].astype(str), staggered["operation"].astype(str), strict=True))

    assert booked == set(OPERATIONS.items())
    assert ((staggered["amount"] >= 0) == (staggered["kind"] == "credit")).all()


def test_it_refuses_an_unknown_behaviour_by_name():
    with pytest.raises(ApplicationError) as error:
        behaviour_transactions_generate(
            rng=np.random.default_rng(0),
            behaviours=np.array(["dormant", "gambler"]),
            first_months=np.full(2, np.datetime64("2020-01")),
            months=0,
        )
    assert set(error.value.details) == {"behaviours", "months"}
    assert "gambler" in error.value.details["behaviours"]


def test_it_names_each_bad_argument():
    with pytest.raises(ApplicationError) as error:
        synthetic_transactions_generate(accounts_per_group=0, months=0)
    assert set(error.value.details) == {"accounts_per_group", "months"}
