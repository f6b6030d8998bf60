from __future__ import annotations

from pathlib import Path

import pytest

from analytics.engine.screening.amlsim import amlsim_read
from analytics.engine.screening.transactions import transactions_validate
from finai.errors import ApplicationError


def test_it_books_each_transfer_on_both_accounts_and_keeps_the_labels_apart() -> None:
    data = amlsim_read()
    assert len(data.transactions) == 2 * 120_558
    assert set(data.transactions.columns) == {
        "transaction_id",
        "account",
        "counterparty",
        "amount",
        "direction",
        "kind",
        "booked_at",
    }
    assert len(transactions_validate(transactions=data.transactions)) == 2 * 120_558
    assert len(data.labels) == 20_000
    assert data.labels["laundering"].sum() > 1_700


def test_it_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ApplicationError) as raised:
        amlsim_read(directory=tmp_path)
    assert raised.value.details == {"nodes.csv": "file not found", "transactions.csv": "file not found"}
