"""Typology detectors: each typology a rule over per-account sliding windows, vectorised with numpy.

Why rules and not a model first: an examiner asks why an account was flagged, and "five cash deposits
between 9,000 and 10,000 within seven days" is an answer; each alert names its rule, its window, the
transactions that triggered it, a score (how far past the rule's bar, 1.0 = just at it) and a reason in
plain words. One alert per account and rule: the account's strongest window, since an investigator
works an account, not a window.

Speed (10^6 transactions in seconds): no Python loop runs per transaction. Rows are sorted by account
and time once; each (account, time) becomes one integer key `account_code * stride + seconds`, with a
stride wider than the data's time span plus the window, so a single `np.searchsorted` over all
accounts finds every row's window start without crossing into another account. Counts and sums over
windows are differences of cumulative sums. Distinct counterparties in a window (fan-in, fan-out) are
exact too: a booking counts towards the windows ending at times [max(t, t_previous + W + 1s), t + W],
where t_previous is the same account-counterparty pair's previous booking, so the distinct count at
any time is the number of such intervals covering it, two searchsorted calls over interval ends.
Cycles extend time-ordered paths hop by hop (k <= 6) over the account-to-account transfer graph; each
step finds a path's continuing edges by searchsorted on (source, time) keys, bounded by the window and
by the hop-to-hop amount tolerance, so paths never fan out over all of an account's history.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from analytics.engine.screening.scenarios import (
    CycleParameters,
    DormancyParameters,
    FanParameters,
    PassThroughParameters,
    RoundAmountParameters,
    Scenario,
    StructuringParameters,
    VelocityParameters,
    default_scenarios,
)
from analytics.engine.screening.transactions import transactions_validate

DAY = 86_400
HOUR = 3_600


@dataclass(frozen=True)
class Alert:
    """One account flagged by one rule, with the evidence an investigator opens first."""

    account: Any
    rule: str
    typology: str
    window_start: datetime
    window_end: datetime
    transaction_ids: tuple[Any, ...]
    score: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "rule": self.rule,
            "typology": self.typology,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "transaction_ids": list(self.transaction_ids),
            "score": self.score,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ScreeningResult:
    """All alerts of one screening run, and how long each rule took (for the benchmark and operators)."""

    alerts: tuple[Alert, ...]
    transactions_screened: int
    accounts_screened: int
    seconds_by_rule: dict[str, float] = field(default_factory=dict)

    def flagged_accounts(self, *, rule: str) -> set[Any]:
        return {alert.account for alert in self.alerts if alert.rule == rule}

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": [alert.as_dict() for alert in self.alerts],
            "transactions_screened": self.transactions_screened,
            "accounts_screened": self.accounts_screened,
            "seconds_by_rule": dict(self.seconds_by_rule),
        }


@dataclass(frozen=True)
class Ledger:
    """The validated table as arrays, rows sorted by account then time, built once for all rules."""

    transaction_ids: np.ndarray
    account_codes: np.ndarray
    accounts: np.ndarray
    counterparty_codes: np.ndarray  # -1 where missing
    counterparty_account_codes: np.ndarray  # the counterparty's account code, -1 if not an account here
    amounts: np.ndarray
    inbound: np.ndarray
    cash: np.ndarray
    seconds: np.ndarray
    # Only windows ending in [screen_from, screen_until) alert; the rows before are the windows' history.
    screen_from: int | None = None
    screen_until: int | None = None

    @property
    def first_second(self) -> int:
        return int(self.seconds.min()) if self.seconds.size else 0

    @property
    def span(self) -> int:
        return int(self.seconds.max()) - self.first_second if self.seconds.size else 0


def ledger_from_transactions(
    *, transactions: pd.DataFrame, screen_from: datetime | None = None, screen_until: datetime | None = None
) -> Ledger:
    """Arrays for the detectors from a transactions table (validated here).

    With `screen_from` / `screen_until`, only windows ending in that period raise alerts: a daily run (or
    one booking screened as it arrives) passes its period and the rows before it as history, so every
    window is judged once, in the period where it ends.
    """
    frame = transactions_validate(transactions=transactions)
    account_codes, accounts = pd.factorize(frame["account"], sort=False)
    counterparty = frame["counterparty"]
    counterparty_codes, _ = pd.factorize(counterparty, sort=False, use_na_sentinel=True)
    counterparty_account_codes = pd.Index(accounts).get_indexer(counterparty.where(counterparty.notna(), None))
    counterparty_account_codes = np.where(counterparty.notna().to_numpy(), counterparty_account_codes, -1)
    return Ledger(
        transaction_ids=frame["transaction_id"].to_numpy(),
        account_codes=account_codes.astype(np.int64),
        accounts=np.asarray(accounts, dtype=object),
        counterparty_codes=counterparty_codes.astype(np.int64),
        counterparty_account_codes=counterparty_account_codes.astype(np.int64),
        amounts=frame["amount"].to_numpy(dtype=float),
        inbound=(frame["direction"] == "in").to_numpy(),
        cash=(frame["kind"].str.lower() == "cash").to_numpy(),
        seconds=frame["booked_at"].to_numpy().astype("datetime64[s]").astype(np.int64),
        screen_from=_epoch_second(screen_from),
        screen_until=_epoch_second(screen_until),
    )


def ledger_from_rows(
    *, rows: Sequence[tuple[Any, ...]], screen_from: datetime | None = None, screen_until: datetime | None = None
) -> Ledger:
    """The ledger of rows read back from storage, whose constraints already hold them valid, without pandas.

    Rows are (transaction_id, account, counterparty or None, amount, direction, kind, booked_at). Checking
    and sorting a table costs milliseconds in pandas, which one booking screened as it arrives cannot spend;
    this builds the same arrays as `ledger_from_transactions` (a test holds the two to the same alerts).
    """
    ordered = sorted(rows, key=lambda row: (str(row[1]), _epoch_second(row[6])))
    accounts, account_codes = np.unique(np.array([str(row[1]) for row in ordered], dtype=object), return_inverse=True)
    counterparty = [row[2] if _present(row[2]) else None for row in ordered]
    known = {value: code for code, value in enumerate(dict.fromkeys(value for value in counterparty if value))}
    account_index = {value: code for code, value in enumerate(accounts)}
    return Ledger(
        transaction_ids=np.array([row[0] for row in ordered], dtype=object),
        account_codes=account_codes.astype(np.int64),
        accounts=accounts,
        counterparty_codes=np.array([known.get(value, -1) if value else -1 for value in counterparty], dtype=np.int64),
        counterparty_account_codes=np.array(
            [account_index.get(str(value), -1) if value else -1 for value in counterparty], dtype=np.int64
        ),
        amounts=np.array([float(row[3]) for row in ordered], dtype=float),
        inbound=np.array([row[4] == "in" for row in ordered], dtype=bool),
        cash=np.array([str(row[5]).lower() == "cash" for row in ordered], dtype=bool),
        seconds=np.array([_epoch_second(row[6]) for row in ordered], dtype=np.int64),
        screen_from=_epoch_second(screen_from),
        screen_until=_epoch_second(screen_until),
    )


def _present(value: Any) -> bool:
    """A counterparty is there unless None, NaN or empty (cash)."""
    return value is not None and value == value and value != ""


def _epoch_second(moment: datetime | None) -> int | None:
    """Whole seconds since the epoch of a naive UTC (or aware) datetime, as the ledger stores booking times."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


# --- shared window arithmetic ----------------------------------------------------------------------


def _keys(ledger: Ledger, rows: np.ndarray, *, pad: int) -> tuple[np.ndarray, int]:
    """Sortable (account, time) keys for `rows`, with a stride that leaves `pad` seconds between accounts."""
    stride = ledger.span + pad + 2
    keys = ledger.account_codes[rows] * stride + (ledger.seconds[rows] - ledger.first_second)
    return keys, stride


def _trailing_starts(keys: np.ndarray, *, window: int) -> np.ndarray:
    """For each row, the first row of its account within [t - window, t] (rows sorted by key)."""
    return np.searchsorted(keys, keys - window, side="left")


def _cumulative(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(values)))


def _strongest_per_account(
    ledger: Ledger, codes: np.ndarray, scores: np.ndarray, hits: np.ndarray, *, ends: np.ndarray
) -> np.ndarray:
    """Positions (into `codes`) of each account's highest-scoring hit whose window ends (`ends`, seconds)
    in the ledger's screening period, the earliest on ties."""
    if ledger.screen_from is not None:
        hits = hits & (ends >= ledger.screen_from)
    if ledger.screen_until is not None:
        hits = hits & (ends < ledger.screen_until)
    positions = np.flatnonzero(hits)
    if positions.size == 0:
        return positions
    order = np.lexsort((positions, -scores[positions], codes[positions]))
    ordered = positions[order]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = codes[ordered][1:] != codes[ordered][:-1]
    return ordered[first]


def _plain(value: Any) -> Any:
    """A Python value for a numpy scalar (AMLSim's integer accounts), so alerts are JSON-ready."""
    return value.item() if isinstance(value, np.generic) else value


def _timestamp(seconds: int) -> datetime:
    return pd.Timestamp(int(seconds), unit="s").to_pydatetime()


def _days(seconds: float) -> str:
    days = seconds / DAY
    return f"{days:g} day" + ("" if days == 1 else "s")


def _alert(
    ledger: Ledger,
    *,
    scenario: Scenario,
    account_code: int,
    start: int,
    end: int,
    rows: np.ndarray,
    score: float,
    reason: str,
) -> Alert:
    return Alert(
        account=_plain(ledger.accounts[account_code]),
        rule=scenario.name,
        typology=scenario.typology,
        window_start=_timestamp(start),
        window_end=_timestamp(end),
        transaction_ids=tuple(ledger.transaction_ids[rows].tolist()),
        score=round(float(score), 6),
        reason=reason,
    )


def _count_windows(
    ledger: Ledger, scenario: Scenario, rows: np.ndarray, *, window: int, minimum: int, describe: Callable[[int], str]
) -> list[Alert]:
    """Alerts where at least `minimum` of `rows` fall in one trailing window of one account."""
    if rows.size == 0:
        return []
    keys, _ = _keys(ledger, rows, pad=window)
    starts = _trailing_starts(keys, window=window)
    counts = np.arange(rows.size) - starts + 1
    codes = ledger.account_codes[rows]
    best = _strongest_per_account(ledger, codes, counts.astype(float), counts >= minimum, ends=ledger.seconds[rows])
    return [
        _alert(
            ledger,
            scenario=scenario,
            account_code=int(codes[end]),
            start=ledger.seconds[rows[starts[end]]],
            end=ledger.seconds[rows[end]],
            rows=rows[starts[end] : end + 1],
            score=counts[end] / minimum,
            reason=describe(int(counts[end])),
        )
        for end in best
    ]


# --- the detectors ---------------------------------------------------------------------------------


def detect_structuring(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """At least n cash deposits in [threshold x (1 - margin), threshold) within d days."""
    parameters: StructuringParameters = scenario.parameters
    lowest = parameters.threshold * (1 - parameters.margin)
    rows = np.flatnonzero(
        ledger.inbound & ledger.cash & (ledger.amounts >= lowest) & (ledger.amounts < parameters.threshold)
    )
    window = round(parameters.window_days * DAY)
    return _count_windows(
        ledger,
        scenario,
        rows,
        window=window,
        minimum=parameters.minimum_deposits,
        describe=lambda count: (
            f"{count} cash deposits between {lowest:,.2f} and {parameters.threshold:,.2f} within "
            f"{_days(window)} (rule: at least {parameters.minimum_deposits})"
        ),
    )


def detect_pass_through(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """An inflow of at least the minimum of which `share` to `maximum_share` leaves within the window."""
    parameters: PassThroughParameters = scenario.parameters
    window = round(parameters.window_hours * HOUR)
    inflows = np.flatnonzero(ledger.inbound & (ledger.amounts >= parameters.minimum_amount))
    outflows = np.flatnonzero(~ledger.inbound)
    if inflows.size == 0 or outflows.size == 0:
        return []
    inflow_keys, _ = _keys(ledger, inflows, pad=window)
    outflow_keys, _ = _keys(ledger, outflows, pad=window)
    cumulative = _cumulative(ledger.amounts[outflows])
    first = np.searchsorted(outflow_keys, inflow_keys, side="left")
    last = np.searchsorted(outflow_keys, inflow_keys + window, side="right")
    shares = (cumulative[last] - cumulative[first]) / ledger.amounts[inflows]
    codes = ledger.account_codes[inflows]
    alerts = []
    passed_on = (shares >= parameters.share) & (shares <= parameters.maximum_share) & (last > first)
    last_outflow = ledger.seconds[outflows[np.maximum(last - 1, 0)]]
    for position in _strongest_per_account(ledger, codes, shares, passed_on, ends=last_outflow):
        inflow, left = inflows[position], outflows[first[position] : last[position]]
        alerts.append(
            _alert(
                ledger,
                scenario=scenario,
                account_code=int(codes[position]),
                start=ledger.seconds[inflow],
                end=ledger.seconds[left[-1]],
                rows=np.concatenate(([inflow], left)),
                score=shares[position] / parameters.share,
                reason=(
                    f"{shares[position]:.0%} of an inflow of {ledger.amounts[inflow]:,.2f} left within "
                    f"{parameters.window_hours:g} hours in {left.size} payments (rule: at least {parameters.share:.0%})"
                ),
            )
        )
    return alerts


def _detect_fan(*, ledger: Ledger, scenario: Scenario, inbound: bool) -> list[Alert]:
    parameters: FanParameters = scenario.parameters
    window = round(parameters.window_days * DAY)
    rows = np.flatnonzero(
        (ledger.inbound == inbound) & (ledger.counterparty_codes >= 0) & (ledger.amounts >= parameters.minimum_amount)
    )
    if rows.size == 0:
        return []
    keys, stride = _keys(ledger, rows, pad=window + 1)
    codes, seconds = ledger.account_codes[rows], ledger.seconds[rows] - ledger.first_second
    pairs = codes * (int(ledger.counterparty_codes.max()) + 1) + ledger.counterparty_codes[rows]
    by_pair = np.lexsort((seconds, pairs))
    previous = np.full(rows.size, np.iinfo(np.int64).min // 4, dtype=np.int64)
    same_pair = pairs[by_pair][1:] == pairs[by_pair][:-1]
    previous[by_pair[1:][same_pair]] = seconds[by_pair][:-1][same_pair]
    opens = np.maximum(seconds, previous + window + 1)
    closes = seconds + window + 1  # exclusive
    valid = opens < closes
    open_keys = np.sort(codes[valid] * stride + opens[valid])
    close_keys = np.sort(codes[valid] * stride + closes[valid])
    distinct = np.searchsorted(open_keys, keys, side="right") - np.searchsorted(close_keys, keys, side="right")
    starts = _trailing_starts(keys, window=window)
    side = "senders" if inbound else "recipients"
    best = _strongest_per_account(
        ledger, codes, distinct.astype(float), distinct >= parameters.minimum_counterparties, ends=ledger.seconds[rows]
    )
    return [
        _alert(
            ledger,
            scenario=scenario,
            account_code=int(codes[end]),
            start=ledger.seconds[rows[starts[end]]],
            end=ledger.seconds[rows[end]],
            rows=rows[starts[end] : end + 1],
            score=distinct[end] / parameters.minimum_counterparties,
            reason=(
                f"{distinct[end]} distinct {side} within {_days(window)} "
                f"(rule: at least {parameters.minimum_counterparties})"
            ),
        )
        for end in best
    ]


def detect_fan_in(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """At least k distinct counterparties paying into an account within the window."""
    return _detect_fan(ledger=ledger, scenario=scenario, inbound=True)


def detect_fan_out(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """An account paying at least k distinct counterparties within the window."""
    return _detect_fan(ledger=ledger, scenario=scenario, inbound=False)


def detect_cycles(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """Money leaving an account and coming back to it through other accounts within k hops and T days.

    Edges are the outgoing transfers whose counterparty is an account of the table. A path's next hop
    leaves its last account no earlier than the path's last hop, within T days of its first, with an
    amount within `amount_tolerance` of the previous hop's; accounts are not revisited.
    """
    parameters: CycleParameters = scenario.parameters
    window = round(parameters.window_days * DAY)
    edges = np.flatnonzero(
        ~ledger.inbound
        & (ledger.counterparty_account_codes >= 0)
        & (ledger.amounts >= parameters.minimum_amount)
        & (ledger.counterparty_account_codes != ledger.account_codes)
    )
    if edges.size == 0:
        return []
    edge_keys, stride = _keys(ledger, edges, pad=window)  # sorted: rows are sorted by account, time
    sources, targets = ledger.account_codes[edges], ledger.counterparty_account_codes[edges]
    seconds, amounts = ledger.seconds[edges] - ledger.first_second, ledger.amounts[edges]

    path_edges = np.arange(edges.size)[:, None]  # positions into `edges`, one column per hop
    path_nodes = np.stack((sources, targets), axis=1)
    found: list[np.ndarray] = []
    for hops in range(2, parameters.maximum_hops + 1):
        last_edge = path_edges[:, -1]
        last_node = path_nodes[:, -1]
        begin = seconds[path_edges[:, 0]]
        low = np.searchsorted(edge_keys, last_node * stride + seconds[last_edge], side="left")
        high = np.searchsorted(edge_keys, last_node * stride + begin + window, side="right")
        counts = high - low
        path_of = np.repeat(np.arange(counts.size), counts)
        offsets = np.arange(path_of.size) - np.repeat(np.cumsum(counts) - counts, counts)
        following = low[path_of] + offsets
        previous_amount = amounts[last_edge[path_of]]
        keep = np.abs(amounts[following] - previous_amount) <= parameters.amount_tolerance * previous_amount
        path_of, following = path_of[keep], following[keep]
        nodes = path_nodes[path_of]
        next_node = targets[following]
        closes = next_node == nodes[:, 0]
        revisits = (nodes[:, 1:] == next_node[:, None]).any(axis=1)
        extended_edges = np.column_stack((path_edges[path_of], following))
        if hops >= parameters.minimum_hops:
            found.extend(extended_edges[closes])
        if hops == parameters.maximum_hops:
            break
        grow = ~closes & ~revisits
        path_edges = extended_edges[grow]
        path_nodes = np.column_stack((nodes[grow], next_node[grow]))
        if path_edges.shape[0] == 0:
            break

    if found:
        closing = ledger.seconds[edges[np.array([cycle[-1] for cycle in found])]]
        in_period = np.ones(len(found), dtype=bool)
        if ledger.screen_from is not None:
            in_period &= closing >= ledger.screen_from
        if ledger.screen_until is not None:
            in_period &= closing < ledger.screen_until
        found = [cycle for cycle, keep in zip(found, in_period, strict=True) if keep]
    alerted: dict[int, Alert] = {}
    for cycle in found:
        accounts = sources[cycle]
        rows = edges[cycle]
        retained = float(amounts[cycle].min() / amounts[cycle].max())
        route = " -> ".join(str(ledger.accounts[code]) for code in (*accounts, accounts[0]))
        for code in accounts:
            if int(code) in alerted:
                continue
            alerted[int(code)] = _alert(
                ledger,
                scenario=scenario,
                account_code=int(code),
                start=ledger.seconds[rows[0]],
                end=ledger.seconds[rows[-1]],
                rows=rows,
                score=retained,
                reason=(
                    f"money went round {cycle.size} accounts ({route}) within "
                    f"{_days(ledger.seconds[rows[-1]] - ledger.seconds[rows[0]])}, keeping {retained:.0%} of its amount"
                ),
            )
    return [alerted[code] for code in sorted(alerted)]


def detect_dormant_reactivation(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """No activity for at least D days, then at least the minimum moved within the activity window."""
    parameters: DormancyParameters = scenario.parameters
    dormant, activity = round(parameters.dormant_days * DAY), round(parameters.activity_window_days * DAY)
    rows = np.arange(ledger.seconds.size)
    if rows.size < 2:
        return []
    keys, _ = _keys(ledger, rows, pad=activity)
    gaps = np.zeros(rows.size, dtype=np.int64)
    same_account = ledger.account_codes[1:] == ledger.account_codes[:-1]
    gaps[1:] = np.where(same_account, ledger.seconds[1:] - ledger.seconds[:-1], 0)
    ends = np.searchsorted(keys, keys + activity, side="right")
    cumulative = _cumulative(ledger.amounts)
    moved = cumulative[ends] - cumulative[rows]
    hits = (gaps >= dormant) & (moved >= parameters.minimum_amount)
    codes = ledger.account_codes
    return [
        _alert(
            ledger,
            scenario=scenario,
            account_code=int(codes[row]),
            start=ledger.seconds[row],
            end=ledger.seconds[ends[row] - 1],
            rows=rows[row : ends[row]],
            score=moved[row] / parameters.minimum_amount if parameters.minimum_amount else 1.0,
            reason=(
                f"no activity for {_days(gaps[row])}, then {moved[row]:,.2f} moved within {_days(activity)} "
                f"(rule: {parameters.dormant_days:g} days dormant, at least {parameters.minimum_amount:,.2f})"
            ),
        )
        for row in _strongest_per_account(ledger, codes, gaps.astype(float), hits, ends=ledger.seconds[ends - 1])
    ]


def detect_velocity_spike(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """A window's count or amount at least `multiple` x the account's own rate over the preceding baseline.

    The baseline is the account's activity in the `baseline_days` before the window, scaled to the
    window's length, and only accounts observed for the whole baseline are judged (no look-ahead, and a
    new account is not its own spike).
    """
    parameters: VelocityParameters = scenario.parameters
    window, baseline = round(parameters.window_days * DAY), round(parameters.baseline_days * DAY)
    rows = np.arange(ledger.seconds.size)
    if rows.size == 0:
        return []
    keys, _ = _keys(ledger, rows, pad=window + baseline)
    starts = _trailing_starts(keys, window=window)
    baseline_starts = _trailing_starts(keys, window=window + baseline)
    values = np.ones(rows.size) if parameters.metric == "count" else ledger.amounts
    cumulative = _cumulative(values)
    in_window = cumulative[rows + 1] - cumulative[starts]
    before = cumulative[starts] - cumulative[baseline_starts]
    expected = np.maximum(before * window / baseline, parameters.minimum_baseline)
    account_first = np.searchsorted(ledger.account_codes, ledger.account_codes, side="left")
    observed = ledger.seconds[account_first] <= ledger.seconds - window - baseline
    ratios = in_window / expected
    hits = observed & (in_window >= parameters.minimum_in_window) & (ratios >= parameters.multiple)
    codes = ledger.account_codes
    unit = "transactions" if parameters.metric == "count" else "moved"
    return [
        _alert(
            ledger,
            scenario=scenario,
            account_code=int(codes[row]),
            start=ledger.seconds[starts[row]],
            end=ledger.seconds[row],
            rows=rows[starts[row] : row + 1],
            score=ratios[row] / parameters.multiple,
            reason=(
                f"{in_window[row]:,.0f} {unit} within {_days(window)}, {ratios[row]:.1f} x the account's "
                f"baseline of {expected[row]:,.1f} (rule: at least {parameters.multiple:g} x)"
            ),
        )
        for row in _strongest_per_account(ledger, codes, ratios, hits, ends=ledger.seconds)
    ]


def detect_round_amounts(*, ledger: Ledger, scenario: Scenario) -> list[Alert]:
    """At least n amounts that are exact multiples of the unit (and at least the minimum) within the window."""
    parameters: RoundAmountParameters = scenario.parameters
    multiples = np.round(ledger.amounts / parameters.unit)
    rows = np.flatnonzero(
        (np.abs(multiples * parameters.unit - ledger.amounts) < 0.005)
        & (ledger.amounts >= parameters.minimum_amount)
        & (multiples >= 1)
    )
    window = round(parameters.window_days * DAY)
    return _count_windows(
        ledger,
        scenario,
        rows,
        window=window,
        minimum=parameters.minimum_transactions,
        describe=lambda count: (
            f"{count} amounts that are whole multiples of {parameters.unit:,.2f} within {_days(window)} "
            f"(rule: at least {parameters.minimum_transactions})"
        ),
    )


DETECTORS: dict[str, Callable[..., list[Alert]]] = {
    "structuring": detect_structuring,
    "pass_through": detect_pass_through,
    "fan_in": detect_fan_in,
    "fan_out": detect_fan_out,
    "cycle": detect_cycles,
    "dormant_reactivation": detect_dormant_reactivation,
    "velocity_spike": detect_velocity_spike,
    "round_amounts": detect_round_amounts,
}


def screen_transactions(
    *,
    transactions: pd.DataFrame,
    scenarios: Iterable[Scenario] | None = None,
    screen_from: datetime | None = None,
    screen_until: datetime | None = None,
) -> ScreeningResult:
    """Every scenario (default: one per typology) over one transactions table; with a period, only the
    windows ending in it (the earlier rows are history)."""
    ledger = ledger_from_transactions(transactions=transactions, screen_from=screen_from, screen_until=screen_until)
    return screen_ledger(ledger=ledger, scenarios=scenarios)


def screen_ledger(*, ledger: Ledger, scenarios: Iterable[Scenario] | None = None) -> ScreeningResult:
    """Every scenario (default: one per typology) over a built ledger."""
    alerts: list[Alert] = []
    seconds_by_rule: dict[str, float] = {}
    for scenario in default_scenarios() if scenarios is None else scenarios:
        started = time.perf_counter()
        alerts += DETECTORS[scenario.typology](ledger=ledger, scenario=scenario)
        seconds_by_rule[scenario.name] = round(time.perf_counter() - started, 4)
    return ScreeningResult(
        alerts=tuple(alerts),
        transactions_screened=int(ledger.seconds.size),
        accounts_screened=int(ledger.accounts.size),
        seconds_by_rule=seconds_by_rule,
    )
