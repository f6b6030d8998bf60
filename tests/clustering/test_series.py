"""Series builders, checked against a plain per-account pandas computation on random transactions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clustering.series import amount_series_build, calendar_series_build
from finai.errors import ApplicationError


@pytest.fixture
def transactions() -> pd.DataFrame:
    """Random transactions with many same-day ties, a one-transaction account and a constant account."""
    rng = np.random.default_rng(7)
    rows = 3_000
    frame = pd.DataFrame(
        {
            "account_id": rng.integers(10, 90, rows),
            "date": np.datetime64("2023-01-01") + rng.integers(0, 120, rows).astype("timedelta64[D]"),
            "amount": rng.normal(0, 500, rows).round(2),
        }
    )
    extra = pd.DataFrame(
        {
            "account_id": [5, 7, 7, 7],
            "date": np.array(["2023-02-01", "2023-01-03", "2023-03-09", "2023-01-03"], dtype="datetime64[D]"),
            "amount": [120.0, -40.0, -40.0, -40.0],
        }
    )
    frame = pd.concat([frame, extra], ignore_index=True)
    return frame.sample(frac=1, random_state=3).reset_index(drop=True)


def naive_amount_series(frame: pd.DataFrame, *, length: int, padding: str) -> tuple[np.ndarray, np.ndarray]:
    """One account at a time: sort by date (stable), keep the last `length`, z-score, pad."""
    ids, rows = [], []
    for account_id, group in frame.groupby("account_id", sort=True):
        amounts = group.sort_values("date", kind="stable")["amount"].to_numpy()[-length:]
        std = amounts.std()
        scores = (amounts - amounts.mean()) / std if std > 1e-9 else np.zeros_like(amounts)
        row = np.zeros(length)
        if padding == "left":
            row[length - scores.size :] = scores
        else:
            row[: scores.size] = scores
        ids.append(account_id)
        rows.append(row)
    return np.array(ids), np.array(rows)


@pytest.mark.parametrize(("length", "padding"), [(20, "left"), (20, "right"), (80, "left"), (3, "right")])
def test_it_matches_a_per_account_computation(transactions, length, padding):
    built = amount_series_build(
        account_ids=transactions["account_id"],
        dates=transactions["date"],
        amounts=transactions["amount"],
        length=length,
        padding=padding,
    )
    expected_ids, expected = naive_amount_series(transactions, length=length, padding=padding)

    np.testing.assert_array_equal(built.account_ids, expected_ids)
    np.testing.assert_allclose(built.values, expected, atol=1e-5)
    assert built.values.dtype == np.float32


def test_it_sizes_rows_to_the_longest_account_when_no_length_is_given(transactions):
    built = amount_series_build(
        account_ids=transactions["account_id"], dates=transactions["date"], amounts=transactions["amount"]
    )
    longest = int(transactions.groupby("account_id").size().max())
    assert built.length == longest
    _, expected = naive_amount_series(transactions, length=longest, padding="left")
    np.testing.assert_allclose(built.values, expected, atol=1e-5)


def test_it_turns_a_constant_or_single_transaction_account_into_zeros_not_nan(transactions):
    built = amount_series_build(
        account_ids=transactions["account_id"], dates=transactions["date"], amounts=transactions["amount"], length=10
    )
    for account_id, kept in ((5, 1), (7, 3)):
        row = list(built.account_ids).index(account_id)
        assert built.lengths[row] == kept
        assert not built.values[row].any()


def test_it_keeps_the_input_order_of_same_day_transactions():
    built = amount_series_build(
        account_ids=[1, 1, 1, 1],
        dates=np.array(["2023-01-02", "2023-01-01", "2023-01-01", "2023-01-02"], dtype="datetime64[D]"),
        amounts=[40.0, 10.0, 20.0, 30.0],
        length=5,
    )
    raw = np.array([10.0, 20.0, 40.0, 30.0])  # 2 January: 40 came before 30 in the input
    np.testing.assert_allclose(built.values[0], np.r_[0.0, (raw - raw.mean()) / raw.std()], atol=1e-6)


def test_it_names_every_column_whose_length_differs():
    with pytest.raises(ApplicationError) as error:
        amount_series_build(
            account_ids=[1, 2], dates=np.array(["2023-01-01"], dtype="datetime64[D]"), amounts=[1.0, 2.0]
        )
    assert set(error.value.details) == {"account_ids", "dates", "amounts"}


def test_it_refuses_a_length_below_one(transactions):
    with pytest.raises(ApplicationError) as error:
        amount_series_build(
            account_ids=[1], dates=np.array(["2023-01-01"], dtype="datetime64[D]"), amounts=[1.0], length=0
        )
    assert "length" in error.value.details


def naive_calendar(
    frame: pd.DataFrame, *, period_starts: np.ndarray, step: int, with_balances: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One account and one period at a time, carrying the balance forward by hand."""
    flows, balances = [], []
    for _, group in frame.groupby("account_id", sort=True):
        group = group.sort_values("date", kind="stable")
        dates, amounts = group["date"].to_numpy(), group["amount"].to_numpy()
        running = group["balance"].to_numpy() if with_balances else np.cumsum(amounts)
        flow_row, balance_row, balance = [], [], running[0] - amounts[0]
        for start in period_starts:
            end = start + np.timedelta64(step, "D")
            flow_row.append(amounts[(dates >= start) & (dates < end)].sum())
            upto = np.flatnonzero(dates < end)
            if upto.size:
                balance = running[upto[-1]]
            balance_row.append(balance)
        flows.append(flow_row)
        balances.append(balance_row)
    return np.array(flows), np.array(balances)


@pytest.mark.parametrize(("frequency", "step", "with_balances"), [("weekly", 7, True), ("daily", 1, False)])
def test_calendar_series_match_a_per_account_computation(transactions, frequency, step, with_balances):
    transactions = transactions.assign(balance=lambda frame: 1_000 + frame["amount"].abs())
    built = calendar_series_build(
        account_ids=transactions["account_id"],
        dates=transactions["date"],
        amounts=transactions["amount"],
        balances=transactions["balance"] if with_balances else None,
        frequency=frequency,
    )
    flows, balances = naive_calendar(
        transactions, period_starts=built.period_starts, step=step, with_balances=with_balances
    )
    np.testing.assert_allclose(built.net_flow, flows, atol=1e-6)
    np.testing.assert_allclose(built.balance, balances, atol=1e-6)


def test_weeks_start_on_monday_and_cover_the_last_transaction(transactions):
    built = calendar_series_build(
        account_ids=transactions["account_id"], dates=transactions["date"], amounts=transactions["amount"]
    )
    assert pd.Timestamp(built.period_starts[0]).day_name() == "Monday"
    assert built.period_starts[-1] <= transactions["date"].max() < built.period_starts[-1] + np.timedelta64(7, "D")


def test_a_calendar_window_brings_the_earlier_balance_forward():
    built = calendar_series_build(
        account_ids=[1, 1, 1],
        dates=np.array(["2023-01-01", "2023-01-05", "2023-01-09"], dtype="datetime64[D]"),
        amounts=[100.0, -30.0, 5.0],
        frequency="daily",
        start="2023-01-07",
        end="2023-01-10",
    )
    np.testing.assert_allclose(built.balance[0], [70.0, 70.0, 75.0, 75.0])
    np.testing.assert_allclose(built.net_flow[0], [0.0, 0.0, 5.0, 0.0])


def test_periods_before_the_first_transaction_hold_the_balance_brought_in():
    built = calendar_series_build(
        account_ids=[1, 1],
        dates=np.array(["2023-01-03", "2023-01-05"], dtype="datetime64[D]"),
        amounts=[-20.0, 5.0],
        balances=[480.0, 485.0],
        frequency="daily",
        start="2023-01-01",
    )
    np.testing.assert_allclose(built.balance[0], [500.0, 500.0, 480.0, 480.0, 485.0])


def test_stacked_channels_are_standardised_per_account():
    built = calendar_series_build(
        account_ids=[1, 1, 2],
        dates=np.array(["2023-01-02", "2023-01-20", "2023-01-02"], dtype="datetime64[D]"),
        amounts=[100.0, -40.0, 10.0],
    )
    stacked = built.stacked()
    assert stacked.shape == (2, 2, built.period_starts.size)
    np.testing.assert_allclose(stacked[0].mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(stacked[0].std(axis=1), 1.0, atol=1e-5)
    assert not stacked[1, 1].any()  # account 2's balance never changes after its one deposit: constant, so zeros
