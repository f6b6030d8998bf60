"""Tiny hand-built cases for each detector: just under and at the bar, window edges, what must not fire."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.engine.screening.scenarios import scenario_from_dict
from analytics.engine.screening.typologies import Alert, ledger_from_rows, screen_ledger, screen_transactions
from tests.analytics.engine.screening.conftest import booking, table


def alerts_for(frame: pd.DataFrame, typology: str, **parameters: Any) -> list[Alert]:
    scenario = scenario_from_dict({"name": typology, "typology": typology, "parameters": parameters})
    return list(screen_transactions(transactions=frame, scenarios=[scenario]).alerts)


def cash(account: str, amount: float, day: float) -> dict[str, Any]:
    return booking(account, amount, day=day, kind="cash", counterparty=None)


def transfer(source: str, target: str, amount: float, day: float) -> list[dict[str, Any]]:
    return [
        booking(source, amount, day=day, direction="out", counterparty=target),
        booking(target, amount, day=day, direction="in", counterparty=source),
    ]


# --- structuring -----------------------------------------------------------------------------------


def test_structuring_fires_on_three_deposits_just_under_the_threshold_within_the_window() -> None:
    frame = table(cash("a", 9_500, 0), cash("a", 9_999.99, 3), cash("a", 9_000, 7))
    [alert] = alerts_for(frame, "structuring")
    assert (alert.account, alert.rule, alert.transaction_ids) == ("a", "structuring", ("t1", "t2", "t3"))
    assert alert.window_end - alert.window_start == pd.Timedelta(days=7)
    assert "3 cash deposits" in alert.reason


def test_structuring_ignores_a_deposit_at_the_threshold() -> None:
    frame = table(cash("a", 9_500, 0), cash("a", 9_600, 1), cash("a", 10_000, 2))
    assert alerts_for(frame, "structuring") == []


def test_structuring_ignores_deposits_spread_just_beyond_the_window() -> None:
    frame = table(cash("a", 9_500, 0), cash("a", 9_600, 3), cash("a", 9_700, 7.01))
    assert alerts_for(frame, "structuring") == []


def test_structuring_ignores_transfers_in_the_band() -> None:
    frame = table(*[booking("a", 9_500, day=day) for day in range(3)])
    assert alerts_for(frame, "structuring") == []


# --- pass-through ----------------------------------------------------------------------------------


def test_pass_through_fires_when_most_of_an_inflow_leaves_within_48_hours() -> None:
    frame = table(
        booking("a", 20_000, day=0),
        booking("a", 9_000, day=1, direction="out", counterparty="X2"),
        booking("a", 8_000, day=2, direction="out", counterparty="X3"),
    )
    [alert] = alerts_for(frame, "pass_through")
    assert alert.transaction_ids == ("t1", "t2", "t3")
    assert alert.score == 0.85 / 0.8


def test_pass_through_ignores_an_outflow_just_after_48_hours() -> None:
    frame = table(
        booking("a", 20_000, day=0),
        booking("a", 9_000, day=1, direction="out"),
        booking("a", 8_000, day=2.01, direction="out"),
    )
    assert alerts_for(frame, "pass_through") == []


def test_pass_through_ignores_inflows_below_the_minimum() -> None:
    frame = table(booking("a", 4_000, day=0), booking("a", 4_000, day=1, direction="out"))
    assert alerts_for(frame, "pass_through") == []


# --- fan-in and fan-out ----------------------------------------------------------------------------


def test_fan_in_counts_distinct_senders_not_payments() -> None:
    repeated = [booking("a", 500, day=day / 10, counterparty="X1") for day in range(10)]
    assert alerts_for(table(*repeated), "fan_in", minimum_counterparties=3) == []


def test_fan_in_fires_at_exactly_k_distinct_senders_within_the_window() -> None:
    frame = table(*[booking("a", 500, day=day, counterparty=f"S{day}") for day in range(4)])
    [alert] = alerts_for(frame, "fan_in", minimum_counterparties=4, window_days=3)
    assert alert.transaction_ids == ("t1", "t2", "t3", "t4")
    assert alerts_for(frame, "fan_in", minimum_counterparties=4, window_days=2.99) == []


def test_fan_in_counts_a_sender_again_once_its_earlier_payment_left_the_window() -> None:
    frame = table(
        booking("a", 500, day=0, counterparty="S1"),
        booking("a", 500, day=5, counterparty="S1"),
        booking("a", 500, day=6, counterparty="S2"),
    )
    [alert] = alerts_for(frame, "fan_in", minimum_counterparties=2, window_days=3)
    assert alert.transaction_ids == ("t2", "t3")


def test_fan_out_fires_on_distinct_recipients() -> None:
    frame = table(*[booking("a", 500, day=0.1 * n, direction="out", counterparty=f"R{n}") for n in range(8)])
    [alert] = alerts_for(frame, "fan_out")
    assert "8 distinct recipients" in alert.reason
    assert alerts_for(frame, "fan_in") == []


# --- cycles ----------------------------------------------------------------------------------------


def test_a_three_hop_cycle_is_found_on_every_account_it_passes() -> None:
    frame = table(*transfer("a", "b", 10_000, 0), *transfer("b", "c", 9_800, 1), *transfer("c", "a", 9_600, 2))
    alerts = alerts_for(frame, "cycle")
    assert [alert.account for alert in alerts] == ["a", "b", "c"]
    assert alerts[0].transaction_ids == ("t1", "t3", "t5")
    assert "a -> b -> c -> a" in alerts[0].reason


def test_a_chain_that_does_not_return_is_not_a_cycle() -> None:
    frame = table(*transfer("a", "b", 10_000, 0), *transfer("b", "c", 9_800, 1), *transfer("c", "d", 9_600, 2))
    assert alerts_for(frame, "cycle") == []


def test_a_cycle_whose_hops_run_backwards_in_time_is_not_a_cycle() -> None:
    frame = table(*transfer("a", "b", 10_000, 2), *transfer("b", "c", 9_800, 1), *transfer("c", "a", 9_600, 0))
    assert alerts_for(frame, "cycle") == []


def test_a_cycle_longer_than_the_window_or_the_hop_limit_is_not_found() -> None:
    frame = table(*transfer("a", "b", 10_000, 0), *transfer("b", "c", 9_800, 1), *transfer("c", "a", 9_600, 2))
    assert alerts_for(frame, "cycle", window_days=1.9) == []
    assert alerts_for(frame, "cycle", minimum_hops=2, maximum_hops=2) == []


def test_a_cycle_whose_amounts_change_beyond_the_tolerance_is_not_found() -> None:
    frame = table(*transfer("a", "b", 10_000, 0), *transfer("b", "c", 5_000, 1), *transfer("c", "a", 4_900, 2))
    assert alerts_for(frame, "cycle") == []


# --- dormancy, velocity, round amounts -------------------------------------------------------------


def test_dormant_reactivation_fires_after_the_silence_not_before() -> None:
    woken = [booking("a", 100, day=0), booking("a", 6_000, day=90)]
    too_soon = [booking("b", 100, day=0), booking("b", 6_000, day=89)]
    frame = table(*woken, *too_soon)
    [alert] = alerts_for(frame, "dormant_reactivation")
    assert (alert.account, alert.transaction_ids) == ("a", ("t2",))


def test_dormant_reactivation_ignores_an_account_that_wakes_with_little() -> None:
    frame = table(booking("a", 100, day=0), booking("a", 4_999, day=100))
    assert alerts_for(frame, "dormant_reactivation") == []


def test_velocity_spike_compares_a_window_with_the_accounts_own_baseline() -> None:
    quiet = [booking("a", 50, day=day, direction="out") for day in range(0, 70, 7)]
    burst = [booking("a", 50, day=70 + n / 10, direction="out") for n in range(25)]
    [alert] = alerts_for(table(*quiet, *burst), "velocity_spike")
    assert len(alert.transaction_ids) == 25


def test_velocity_spike_ignores_an_account_busy_all_along() -> None:
    busy = [booking("a", 50, day=n / 4, direction="out") for n in range(400)]
    assert alerts_for(table(*busy), "velocity_spike") == []


def test_round_amounts_fire_on_repeated_multiples_of_the_unit() -> None:
    frame = table(booking("a", 2_000, day=0), booking("a", 5_000, day=10), booking("a", 3_000, day=20))
    [alert] = alerts_for(frame, "round_amounts")
    assert alert.transaction_ids == ("t1", "t2", "t3")


def test_round_amounts_ignore_an_amount_with_cents() -> None:
    frame = table(booking("a", 2_000.5, day=0), booking("a", 5_000, day=10), booking("a", 3_000, day=20))
    assert alerts_for(frame, "round_amounts") == []


def test_an_alert_is_json_ready() -> None:
    frame = table(cash("a", 9_500, 0), cash("a", 9_600, 1), cash("a", 9_700, 2))
    [alert] = alerts_for(frame, "structuring")
    assert alert.as_dict()["window_start"] == "2025-03-01T00:00:00"
    assert alert.as_dict()["transaction_ids"] == ["t1", "t2", "t3"]


# --- screening a period ----------------------------------------------------------------------------


def test_a_period_alerts_only_windows_ending_in_it_and_two_periods_flag_what_one_run_flags(book: Any) -> None:
    """Split the book's time at a day: each half alerts only windows ending in it, and together the halves
    flag exactly the (rule, account) pairs the whole run flags, so a daily run misses and repeats nothing."""
    split = pd.Timestamp("2025-05-01")
    whole = screen_transactions(transactions=book.transactions)
    before = screen_transactions(transactions=book.transactions, screen_until=split.to_pydatetime())
    after = screen_transactions(transactions=book.transactions, screen_from=split.to_pydatetime())
    assert before.alerts
    assert after.alerts
    assert all(alert.window_end < split for alert in before.alerts)
    assert all(alert.window_end >= split for alert in after.alerts)
    pairs = {(alert.rule, alert.account) for alert in whole.alerts}
    assert {(alert.rule, alert.account) for alert in before.alerts + after.alerts} == pairs


def test_a_period_given_as_an_aware_time_is_read_in_utc() -> None:
    frame = table(cash("a", 9_500, 0), cash("a", 9_999.99, 3), cash("a", 9_000, 7))
    ends = pd.Timestamp("2025-03-08", tz="Europe/Prague")  # 2025-03-07 23:00 UTC: before the third deposit
    scenario = scenario_from_dict({"name": "structuring", "typology": "structuring"})
    kept = screen_transactions(transactions=frame, scenarios=[scenario], screen_from=ends.to_pydatetime())
    assert [alert.account for alert in kept.alerts] == ["a"]
    none = screen_transactions(transactions=frame, scenarios=[scenario], screen_until=ends.to_pydatetime())
    assert none.alerts == ()


def test_the_ledger_of_stored_rows_raises_exactly_the_alerts_of_the_checked_table(book: Any) -> None:
    """The fast path (rows read back from storage, no pandas) against the reference (the checked table)."""
    frame = book.transactions.assign(transaction_id=range(len(book.transactions)))
    split = pd.Timestamp("2025-04-01").to_pydatetime()
    reference = screen_transactions(transactions=frame, screen_from=split)
    rows = [
        (row.transaction_id, row.account, row.counterparty, row.amount, row.direction, row.kind, row.booked_at)
        for row in frame.sample(frac=1.0, random_state=3).itertuples()  # any order: the builder sorts
    ]
    fast = screen_ledger(ledger=ledger_from_rows(rows=rows, screen_from=split))
    assert fast.alerts == reference.alerts
    assert fast.transactions_screened == reference.transactions_screened
