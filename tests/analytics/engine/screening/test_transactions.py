from __future__ import annotations

import pandas as pd
import pytest

from analytics.engine.screening.transactions import MAX_ROW_PROBLEMS, transactions_validate
from finai.errors import ApplicationError
from tests.analytics.engine.screening.conftest import booking, table


def test_it_names_every_missing_column() -> None:
    with pytest.raises(ApplicationError) as raised:
        transactions_validate(transactions=pd.DataFrame({"account": ["a"], "amount": [1.0]}))
    assert raised.value.code == "invalid_transactions"
    assert set(raised.value.details) == {"transaction_id", "direction", "kind", "booked_at"}


def test_it_names_each_bad_cell_by_row_and_column_in_one_pass() -> None:
    frame = table(booking("a", 10.0, day=0), booking("a", -5.0, day=1), booking("b", 7.0, day=2, direction="sideways"))
    frame["booked_at"] = frame["booked_at"].astype(object)
    frame.loc[0, "booked_at"] = "not a date"
    frame.loc[2, "transaction_id"] = "t1"
    with pytest.raises(ApplicationError) as raised:
        transactions_validate(transactions=frame)
    assert raised.value.details == {
        "row 0: booked_at": "must be a date and time",
        "row 1: amount": "must be a positive number",
        "row 2: direction": "must be 'in' or 'out'",
        "row 2: transaction_id": "duplicate transaction_id",
    }


def test_it_caps_the_listed_row_problems_and_counts_the_rest() -> None:
    frame = table(*[booking("a", -1.0, day=day) for day in range(MAX_ROW_PROBLEMS + 5)])
    with pytest.raises(ApplicationError) as raised:
        transactions_validate(transactions=frame)
    assert len(raised.value.details) == MAX_ROW_PROBLEMS + 1
    assert raised.value.details["more"] == "5 further problems not listed"


def test_a_missing_counterparty_column_is_allowed_for_cash() -> None:
    frame = table(booking("a", 10.0, day=0, kind="cash")).drop(columns="counterparty")
    assert transactions_validate(transactions=frame)["counterparty"].isna().all()


def test_it_sorts_by_account_then_time() -> None:
    frame = table(booking("b", 1.0, day=0), booking("a", 2.0, day=5), booking("a", 3.0, day=1))
    assert transactions_validate(transactions=frame)["transaction_id"].tolist() == ["t3", "t2", "t1"]
