"""Fixed-length series per account, built from a transaction table in one sort.

The clustering networks need one row per account. Two shapes are offered:

- amount series, the protocol of Bester & Rosman (2024): each account's signed transaction amounts in
  time order, standardised per account, left-padded with zeros to a common length (the last
  `length` transactions are kept when an account has more);
- calendar series: net flow and balance per day or per week on a calendar shared by all accounts, so
  that a salary paid on the 25th lines up across accounts.

Both are vectorised: one stable sort by (account, date) and group offsets, never a pass over the table
per account, so 10^6 transactions take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from finai.errors import ApplicationError

Padding = Literal["left", "right"]
Frequency = Literal["daily", "weekly"]

# A standard deviation this small relative to the mean is rounding noise: the series is constant.
_CONSTANT_RELATIVE_STD = 1e-9
# 1970-01-01, day 0 of datetime64[D], was a Thursday; adding 3 makes Monday the first day of a week.
_MONDAY_OFFSET = 3


@dataclass(frozen=True)
class AmountSeries:
    """Standardised signed amounts, one row per account (accounts in ascending order)."""

    account_ids: np.ndarray
    values: np.ndarray
    lengths: np.ndarray

    @property
    def length(self) -> int:
        return int(self.values.shape[1])


@dataclass(frozen=True)
class CalendarSeries:
    """Net flow and end-of-period balance per account and period (accounts in ascending order)."""

    account_ids: np.ndarray
    period_starts: np.ndarray
    net_flow: np.ndarray
    balance: np.ndarray

    def stacked(self, *, standardise: bool = True) -> np.ndarray:
        """Channels (net flow, balance) as an (accounts, 2, periods) float32 array for the networks.

        Standardised per account and channel, as amount series are, so clusters reflect shape of
        behaviour rather than wealth.
        """
        channels = np.stack([self.net_flow, self.balance], axis=1)
        if standardise:
            channels = _standardise_rows(channels)
        return channels.astype(np.float32)


def amount_series_build(
    *,
    account_ids: npt.ArrayLike,
    dates: npt.ArrayLike,
    amounts: npt.ArrayLike,
    length: int | None = None,
    padding: Padding = "left",
) -> AmountSeries:
    """Build the reference protocol's series: signed amounts in time order, standardised, padded.

    `amounts` must already be signed (credits positive, debits negative). Transactions on the same
    date keep their input order. Each account is standardised over the transactions it keeps (the
    last `length`, or all when `length` is None, which sizes rows to the longest account); an account
    whose kept amounts are all equal becomes zeros rather than NaN.
    """
    accounts, days, values = _columns(account_ids=account_ids, dates=dates, values=amounts)
    if length is not None and length < 1:
        raise ApplicationError("Series length must be positive.", details={"length": f"{length} is not >= 1"})
    if padding not in ("left", "right"):
        raise ApplicationError("Unknown padding.", details={"padding": f"{padding!r} is not 'left' or 'right'"})
    if accounts.size == 0:
        width = length or 0
        return AmountSeries(
            account_ids=accounts, values=np.zeros((0, width), np.float32), lengths=np.zeros(0, np.int64)
        )

    order = np.lexsort((days, accounts))
    sorted_accounts = accounts[order]
    sorted_values = values[order]
    starts, counts = _group_offsets(sorted_accounts)
    width = int(counts.max()) if length is None else length

    group = np.repeat(np.arange(starts.size), counts)
    from_end = np.repeat(starts + counts, counts) - np.arange(sorted_accounts.size)  # 1 for the last row
    keep = from_end <= width
    kept_group, kept_from_end, kept_values = group[keep], from_end[keep], sorted_values[keep]
    kept_counts = np.minimum(counts, width)

    standardised = _standardise_groups(kept_values, kept_group, kept_counts)
    column = width - kept_from_end if padding == "left" else kept_counts[kept_group] - kept_from_end
    series = np.zeros((starts.size, width), dtype=np.float32)
    series[kept_group, column] = standardised
    return AmountSeries(account_ids=sorted_accounts[starts], values=series, lengths=kept_counts)


def calendar_series_build(
    *,
    account_ids: npt.ArrayLike,
    dates: npt.ArrayLike,
    amounts: npt.ArrayLike,
    balances: npt.ArrayLike | None = None,
    frequency: Frequency = "weekly",
    start: np.datetime64 | str | None = None,
    end: np.datetime64 | str | None = None,
) -> CalendarSeries:
    """Net flow and balance per period on one calendar, from `start` to `end` inclusive.

    The calendar defaults to the first and last transaction date; weeks start on Monday. With
    `balances` (the balance after each transaction, as bank statements give it) a period's balance is
    the one after its last transaction; without, it is the running sum of flows. Periods without
    transactions carry the previous balance forward; periods before an account's first transaction
    in the calendar hold the balance brought into it (the one after the last transaction before
    `start`, else the first statement balance less its amount), so a calendar that starts before
    an account's first transaction shows no artificial jump from zero.
    """
    accounts, days, values = _columns(account_ids=account_ids, dates=dates, values=amounts)
    if frequency not in ("daily", "weekly"):
        raise ApplicationError("Unknown frequency.", details={"frequency": f"{frequency!r} is not daily or weekly"})
    if balances is not None:
        balance_values = np.asarray(balances, dtype=np.float64)
        if balance_values.shape != values.shape:
            raise ApplicationError(
                "Columns differ in length.", details={"balances": f"{balance_values.size} values, not {values.size}"}
            )
    if accounts.size == 0:
        raise ApplicationError("No transactions to build series from.", details={"account_ids": "empty"})

    first_day = days.min() if start is None else _day_number(start)
    last_day = days.max() if end is None else _day_number(end)
    if last_day < first_day:
        raise ApplicationError("The calendar ends before it starts.", details={"end": "before start"})
    step = 7 if frequency == "weekly" else 1
    if step == 7:
        first_day -= (first_day + _MONDAY_OFFSET) % 7
    periods = int((last_day - first_day) // step) + 1

    order = np.lexsort((days, accounts))
    accounts, days, values = accounts[order], days[order], values[order]
    starts, counts = _group_offsets(accounts)
    group = np.repeat(np.arange(starts.size), counts)
    if balances is None:
        running = np.cumsum(values)
        # The running sum restarts at each account: remove the total of the accounts sorted before it.
        running -= np.repeat(np.concatenate(([0.0], running[starts[1:] - 1])), counts)
    else:
        running = balance_values[order]

    period = (days - first_day) // step
    inside = (period >= 0) & (period < periods)
    flat = group[inside] * periods + period[inside]
    net_flow = np.bincount(flat, weights=values[inside], minlength=starts.size * periods)
    net_flow = net_flow.reshape(starts.size, periods)

    opening = running[starts] - values[starts]  # the balance brought into each account's first transaction
    earlier = np.flatnonzero(period < 0)
    latest_earlier = earlier[np.append(group[earlier][1:] != group[earlier][:-1], True)] if earlier.size else earlier
    opening[group[latest_earlier]] = running[latest_earlier]
    balance = np.zeros(starts.size * periods)
    has_balance = np.zeros(starts.size * periods, dtype=bool)
    inside_rows = np.flatnonzero(inside)
    last_of_period = np.append(flat[1:] != flat[:-1], True)
    balance[flat[last_of_period]] = running[inside_rows[last_of_period]]
    has_balance[flat[last_of_period]] = True
    balance = _forward_fill(
        balance.reshape(starts.size, periods), has_balance.reshape(starts.size, periods), opening=opening
    )

    period_starts = np.datetime64(int(first_day), "D") + np.arange(periods) * step
    return CalendarSeries(account_ids=accounts[starts], period_starts=period_starts, net_flow=net_flow, balance=balance)


def _columns(
    *, account_ids: npt.ArrayLike, dates: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    accounts = np.asarray(account_ids)
    days = _day_numbers(dates)
    amounts = np.asarray(values, dtype=np.float64)
    sizes = {"account_ids": accounts.shape, "dates": days.shape, "amounts": amounts.shape}
    if len(set(sizes.values())) != 1 or accounts.ndim != 1:
        raise ApplicationError(
            "Transaction columns must be one-dimensional and of equal length.",
            details={name: f"shape {shape}" for name, shape in sizes.items()},
        )
    if not np.isfinite(amounts).all():
        raise ApplicationError(
            "Amounts must be finite numbers.", details={"amounts": f"{int((~np.isfinite(amounts)).sum())} not finite"}
        )
    return accounts, days, amounts


def _day_numbers(dates: npt.ArrayLike) -> np.ndarray:
    """Days since 1970-01-01 from datetime64 values (any unit) or integers that already are day numbers."""
    array = np.asarray(dates)
    if array.dtype.kind == "M":
        return array.astype("datetime64[D]").astype(np.int64)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "O" or array.dtype.kind == "U":
        return array.astype("datetime64[D]").astype(np.int64)
    raise ApplicationError("Dates must be datetime64 values or day numbers.", details={"dates": str(array.dtype)})


def _day_number(day: np.datetime64 | str) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def _group_offsets(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row and row count of each run of equal keys in a sorted array."""
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    counts = np.diff(np.append(starts, sorted_keys.size))
    return starts, counts


def _standardise_groups(values: np.ndarray, group: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """z-scores within each group (population standard deviation, as numpy's default and the reference)."""
    groups = counts.size
    mean = np.bincount(group, weights=values, minlength=groups) / counts
    deviation = values - mean[group]
    std = np.sqrt(np.bincount(group, weights=deviation**2, minlength=groups) / counts)
    constant = std <= _CONSTANT_RELATIVE_STD * (np.abs(mean) + 1.0)
    scale = np.where(constant, 1.0, std)
    return np.where(constant[group], 0.0, deviation / scale[group])


def _standardise_rows(array: np.ndarray) -> np.ndarray:
    """z-scores along the last axis; constant rows become zeros."""
    mean = array.mean(axis=-1, keepdims=True)
    std = array.std(axis=-1, keepdims=True)
    constant = std <= _CONSTANT_RELATIVE_STD * (np.abs(mean) + 1.0)
    return np.where(constant, 0.0, (array - mean) / np.where(constant, 1.0, std))


def _forward_fill(values: np.ndarray, present: np.ndarray, *, opening: np.ndarray) -> np.ndarray:
    """Carry the last present value of each row forward; before the first, use the row's opening value."""
    columns = np.arange(values.shape[1])
    last_present = np.maximum.accumulate(np.where(present, columns, -1), axis=1)
    filled = np.take_along_axis(values, np.maximum(last_present, 0), axis=1)
    return np.where(last_present >= 0, filled, opening[:, None])
