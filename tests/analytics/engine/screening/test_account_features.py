from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.engine.screening.account_features import FEATURES, account_features_compute
from tests.analytics.engine.screening.conftest import booking, table


def transfer(source: str, target: str, amount: float, *, day: float) -> list[dict]:
    """Both legs of a transfer between two accounts of the book."""
    return [
        booking(source, amount, day=day, direction="out", counterparty=target),
        booking(target, amount, day=day, direction="in", counterparty=source),
    ]


@pytest.fixture
def small_graph() -> pd.DataFrame:
    """A -> B -> C -> A (a three-hop cycle), A <-> D (reciprocal), E and F pay D (a small fan-in)."""
    legs = [
        *transfer("A", "B", 500.0, day=1),
        *transfer("B", "C", 480.0, day=2),
        *transfer("C", "A", 460.0, day=3),
        *transfer("A", "D", 120.0, day=4),
        *transfer("D", "A", 110.0, day=5),
        *transfer("E", "D", 90.0, day=6),
        *transfer("F", "D", 95.0, day=6.5),
    ]
    return table(*legs)


def test_it_describes_every_feature_it_computes(small_graph: pd.DataFrame) -> None:
    features = account_features_compute(transactions=small_graph)
    assert list(features.columns) == list(FEATURES)
    assert all(FEATURES[name].description for name in features.columns)


def test_it_counts_degrees_and_senders_of_a_hand_built_graph(small_graph: pd.DataFrame) -> None:
    features = account_features_compute(transactions=small_graph)
    assert features.loc[["A", "B", "C", "D", "E", "F"], "in_degree"].tolist() == [2, 1, 1, 3, 0, 0]
    assert features.loc[["A", "B", "C", "D", "E", "F"], "out_degree"].tolist() == [2, 1, 1, 1, 1, 1]
    assert features.loc["D", "distinct_senders"] == 3
    # D's senders A, E, F pay 2, 1 and 1 accounts of the book.
    assert features.loc["D", "senders_mean_out_degree"] == pytest.approx(4 / 3)


def test_it_counts_round_trips_of_two_and_three_hops(small_graph: pd.DataFrame) -> None:
    features = account_features_compute(transactions=small_graph)
    assert features.loc[["A", "B", "C", "D", "E"], "two_hop_returns"].tolist() == [1, 0, 0, 1, 0]
    assert features.loc[["A", "B", "C", "D", "E"], "three_hop_returns"].tolist() == [1, 1, 1, 0, 0]
    # A's closed four-hop walks: A-D-A-D-A, A-B-C-A is three hops, so only the back-and-forth one.
    assert features.loc["A", "four_hop_returns"] == 1
    assert features.loc["D", "reciprocity"] == pytest.approx(1 / 3)
    # B's counterparties A and C trade with each other: one triangle out of one pair.
    assert features.loc["B", "clustering"] == pytest.approx(1.0)


def test_it_measures_money_passed_on_within_48_hours() -> None:
    transactions = table(
        booking("P", 1_000.0, day=0, direction="in"),
        booking("P", 900.0, day=1, direction="out"),
        booking("P", 100.0, day=4, direction="out"),
    )
    assert account_features_compute(transactions=transactions).loc["P", "pass_through_ratio"] == pytest.approx(0.9)


def test_it_summarises_amounts_and_busy_days() -> None:
    transactions = table(
        booking("R", 200.0, day=0, direction="in"),
        booking("R", 300.0, day=0.2, direction="in"),
        booking("R", 55.5, day=3, direction="out"),
        booking("R", 55.5, day=9, direction="out"),
    )
    row = account_features_compute(transactions=transactions).loc["R"]
    amounts = np.array([200.0, 300.0, 55.5, 55.5])
    assert row["amount_mean"] == pytest.approx(amounts.mean())
    assert row["amount_std"] == pytest.approx(amounts.std())
    assert (row["amount_min"], row["amount_max"]) == (55.5, 300.0)
    assert row["round_amount_share"] == pytest.approx(0.5)
    assert row["distinct_amount_share"] == pytest.approx(0.5)
    assert row["in_out_amount_similarity"] == pytest.approx(55.5 / 250.0)
    assert (row["active_days"], row["busiest_day_count"], row["inflows_in_busiest_week"]) == (3, 2, 2)


def test_no_label_column_reaches_the_features(small_graph: pd.DataFrame) -> None:
    labelled = small_graph.assign(laundering=True, fraudStep=7, init_balance=1e6)
    assert account_features_compute(transactions=labelled).equals(account_features_compute(transactions=small_graph))
