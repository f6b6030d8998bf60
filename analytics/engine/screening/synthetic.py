"""A seeded generator of ordinary account behaviour with planted typologies and their known truth.

Detection rates mean nothing without truth, and real alert data have none (most alerts are never
confirmed either way). Here ordinary accounts receive a monthly salary, pay bills and card purchases,
withdraw cash and send each other transfers; a chosen few also carry one planted typology each, and
`truth` says which. Planted behaviour is drawn around the default scenarios' bars but not on them
(structuring deposits spread over the band under the threshold, pass-through keeping 85-98 %, cycles
losing a small fee per hop), so the tests measure detection, not a copy of the rule.

Everything is vectorised and seeded: the same arguments give the same table, row for row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.engine.screening.scenarios import TYPOLOGIES

START = pd.Timestamp("2025-01-01")
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class SyntheticBook:
    """Transactions in the screening contract, and the planted truth: one row per (account, typology)."""

    transactions: pd.DataFrame
    truth: pd.DataFrame

    def accounts_with(self, typology: str) -> set[str]:
        return set(self.truth.loc[self.truth["typology"] == typology, "account"])


class _Rows:
    """Collects booking columns from many vectorised draws, then builds one frame."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, *, account: Any, counterparty: Any, amount: Any, direction: Any, kind: Any, day: Any) -> None:
        size = np.broadcast(account, counterparty, amount, direction, kind, day).size
        self.parts.append(
            {
                "account": np.broadcast_to(np.asarray(account, dtype=object), size),
                "counterparty": np.broadcast_to(np.asarray(counterparty, dtype=object), size),
                "amount": np.broadcast_to(np.asarray(amount, dtype=float), size),
                "direction": np.broadcast_to(np.asarray(direction, dtype=object), size),
                "kind": np.broadcast_to(np.asarray(kind, dtype=object), size),
                "day": np.broadcast_to(np.asarray(day, dtype=float), size),
            }
        )

    def transfer(self, *, source: Any, target: Any, amount: Any, day: Any, kind: str = "transfer") -> None:
        """A transfer between two accounts of the book: booked out on one, in on the other."""
        self.add(account=source, counterparty=target, amount=amount, direction="out", kind=kind, day=day)
        self.add(account=target, counterparty=source, amount=amount, direction="in", kind=kind, day=day)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({key: np.concatenate([part[key] for part in self.parts]) for key in self.parts[0]})


def _cents(values: np.ndarray) -> np.ndarray:
    """Amounts with non-zero cents, so ordinary and planted sums are never accidentally round."""
    return np.floor(values) + np.clip(np.round(values % 1, 2), 0.01, 0.99)


def synthetic_book(
    *, accounts: int = 1_000, days: int = 240, planted_per_typology: int = 10, seed: int = 0
) -> SyntheticBook:
    """About 20 bookings per account per month, and `planted_per_typology` accounts per typology.

    Accounts are "A00000", "A00001", ...; outside parties are employers ("E..."), merchants ("M..."),
    and senders or recipients outside the bank ("X..."); cash has no counterparty.
    """
    generator = np.random.default_rng(seed)
    names = np.array([f"A{number:05d}" for number in range(accounts)], dtype=object)
    rows = _Rows()
    months = days // 30

    # Ordinary life: salary, bills and card purchases, cash, transfers to other customers.
    salary = _cents(np.exp(generator.normal(8.0, 0.3, accounts)))
    payday = generator.integers(0, 28, accounts)
    for month in range(months + 1):
        day = month * 30 + payday + generator.random(accounts) * 0.3 + 0.3
        inside = day < days
        rows.add(
            account=names[inside],
            counterparty=np.array([f"E{code % 150:03d}" for code in range(accounts)])[inside],
            amount=salary[inside],
            direction="in",
            kind="transfer",
            day=day[inside],
        )
    purchases = generator.poisson(12 * days / 30, accounts)
    owner = np.repeat(np.arange(accounts), purchases)
    rows.add(
        account=names[owner],
        counterparty=np.char.add("M", (generator.integers(0, 400, owner.size)).astype(str)),
        amount=_cents(np.exp(generator.normal(3.6, 0.9, owner.size))),
        direction="out",
        kind=generator.choice(np.array(["card", "transfer"]), owner.size, p=[0.8, 0.2]),
        day=generator.random(owner.size) * days,
    )
    withdrawals = generator.poisson(2 * days / 30, accounts)
    owner = np.repeat(np.arange(accounts), withdrawals)
    rows.add(
        account=names[owner],
        counterparty=None,
        amount=20.0 * generator.integers(1, 15, owner.size),
        direction="out",
        kind="cash",
        day=generator.random(owner.size) * days,
    )
    deposits = generator.poisson(0.3 * days / 30, accounts)
    owner = np.repeat(np.arange(accounts), deposits)
    rows.add(
        account=names[owner],
        counterparty=None,
        amount=_cents(np.exp(generator.normal(5.5, 0.8, owner.size))),
        direction="in",
        kind="cash",
        day=generator.random(owner.size) * days,
    )
    transfers = generator.poisson(2 * days / 30, accounts)
    source = np.repeat(np.arange(accounts), transfers)
    target = (source + generator.integers(1, accounts, source.size)) % accounts
    rows.transfer(
        source=names[source],
        target=names[target],
        amount=_cents(np.exp(generator.normal(4.5, 1.0, source.size))),
        day=generator.random(source.size) * days,
    )

    # Planted typologies, each on its own accounts.
    cycle_sizes = generator.integers(3, 5, planted_per_typology)  # 3 or 4 accounts per cycle
    needed = planted_per_typology * (len(TYPOLOGIES) - 1) + int(cycle_sizes.sum())
    chosen = names[generator.permutation(accounts)[:needed]]
    truth: list[tuple[str, str]] = []
    cursor = 0

    def take(count: int) -> np.ndarray:
        nonlocal cursor
        taken = chosen[cursor : cursor + count]
        cursor += count
        return taken

    external = iter(f"X{number:06d}" for number in range(10**6))
    late = 120.0  # planted behaviour after the baseline period, so velocity and dormancy have history

    for account in take(planted_per_typology):
        truth.append((account, "structuring"))
        count = int(generator.integers(4, 7))
        rows.add(
            account=account,
            counterparty=None,
            amount=_cents(generator.uniform(9_050, 9_990, count)),
            direction="in",
            kind="cash",
            day=late + generator.uniform(0, 6, count) + generator.integers(0, 60),
        )
    for account in take(planted_per_typology):
        truth.append((account, "pass_through"))
        for _ in range(int(generator.integers(2, 4))):
            inflow = _cents(generator.uniform(15_000, 60_000))
            day = float(generator.uniform(30, days - 5))
            rows.add(
                account=account, counterparty=next(external), amount=inflow, direction="in", kind="transfer", day=day
            )
            pieces = int(generator.integers(1, 4))
            kept = generator.uniform(0.85, 0.98) * inflow * generator.dirichlet(np.ones(pieces))
            rows.add(
                account=account,
                counterparty=np.array([next(external) for _ in range(pieces)]),
                amount=_cents(kept),
                direction="out",
                kind="transfer",
                day=day + generator.uniform(2, 40, pieces) / 24,
            )
    for typology, direction in (("fan_in", "in"), ("fan_out", "out")):
        for account in take(planted_per_typology):
            truth.append((account, typology))
            count = int(generator.integers(10, 16))
            rows.add(
                account=account,
                counterparty=np.array([next(external) for _ in range(count)]),
                amount=_cents(generator.uniform(300, 3_000, count)),
                direction=direction,
                kind="transfer",
                day=float(generator.uniform(20, days - 10)) + generator.uniform(0, 5, count),
            )
    for size in cycle_sizes:
        members = take(int(size))
        truth += [(account, "cycle") for account in members]
        amount = float(generator.uniform(8_000, 40_000))
        day = float(generator.uniform(10, days - 12))
        for hop in range(int(size)):
            rows.transfer(source=members[hop], target=members[(hop + 1) % size], amount=_cents(amount), day=day)
            amount *= generator.uniform(0.95, 0.99)
            day += generator.uniform(2.2, 3.3)  # slower than pass-through's 48 hours
    dormant = take(planted_per_typology)
    truth += [(account, "dormant_reactivation") for account in dormant]
    for account in dormant:
        for _ in range(int(generator.integers(1, 3))):
            rows.add(
                account=account,
                counterparty=next(external),
                amount=_cents(generator.uniform(6_000, 20_000)),
                direction="in",
                kind="transfer",
                day=days - generator.uniform(1, 5),
            )
    for account in take(planted_per_typology):
        truth.append((account, "velocity_spike"))
        count = int(generator.integers(35, 55))
        rows.add(
            account=account,
            counterparty=np.char.add("M", generator.integers(0, 400, count).astype(str)),
            amount=_cents(np.exp(generator.normal(3.6, 0.9, count))),
            direction="out",
            kind="card",
            day=late + float(generator.uniform(0, days - late - 5)) + generator.uniform(0, 4, count),
        )
    for account in take(planted_per_typology):
        truth.append((account, "round_amounts"))
        count = int(generator.integers(3, 6))
        rows.add(
            account=account,
            counterparty=np.array([next(external) for _ in range(count)]),
            amount=1_000.0 * generator.integers(2, 20, count),
            direction=generator.choice(["in", "out"], count),
            kind="transfer",
            day=float(generator.uniform(0, days - 25)) + generator.uniform(0, 20, count),
        )

    frame = rows.frame()
    # Dormant accounts fall silent from day 20 until their reactivation near the end: drop their
    # bookings (both sides of transfers would be ideal; the other side is an ordinary booking anyway).
    silent = frame["account"].isin(dormant) & (frame["day"] > 20) & (frame["day"] < days - 6)
    frame = frame.loc[~silent]
    frame = frame.sort_values("day", kind="stable").reset_index(drop=True)
    frame.insert(0, "transaction_id", np.arange(len(frame), dtype=np.int64) + 1)
    frame["booked_at"] = START + pd.to_timedelta(np.round(frame.pop("day").to_numpy() * 86_400), unit="s")
    frame["counterparty"] = frame["counterparty"].where(frame["counterparty"].notna(), None)
    return SyntheticBook(
        transactions=frame[["transaction_id", "account", "counterparty", "amount", "direction", "kind", "booked_at"]],
        truth=pd.DataFrame(truth, columns=["account", "typology"]),
    )
