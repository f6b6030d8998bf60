"""Hand-built bookings for the tiny detector cases, and one seeded synthetic book shared by the suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from analytics.engine.screening.synthetic import SyntheticBook, synthetic_book

START = pd.Timestamp("2025-03-01")


def booking(
    account: str,
    amount: float,
    *,
    day: float,
    direction: str = "in",
    kind: str = "transfer",
    counterparty: str | None = "X1",
) -> dict[str, Any]:
    return {
        "account": account,
        "counterparty": counterparty,
        "amount": amount,
        "direction": direction,
        "kind": kind,
        "booked_at": START + pd.Timedelta(days=day),
    }


def table(*bookings: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(bookings))
    frame.insert(0, "transaction_id", [f"t{number}" for number in range(1, len(frame) + 1)])
    return frame


@pytest.fixture(scope="session")
def book() -> SyntheticBook:
    return synthetic_book(accounts=1_500, days=240, planted_per_typology=12, seed=7)


@pytest.fixture
def make_table() -> Callable[..., pd.DataFrame]:
    return table
