from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.engine.screening.amlsim import START, AmlsimData
from analytics.engine.screening.evaluation import (
    amlsim_patterns,
    detection_metrics,
    pattern_split,
    recall_at_alert_rate,
    screening_metrics,
)


def amlsim_like(transfers: list[tuple[int, int, float]], laundering: set[int], accounts: int) -> AmlsimData:
    """A tiny AMLSim book: each (source, target, amount) booked out and in on day one."""
    frame = pd.DataFrame(transfers, columns=["source", "target", "amount"])
    legs = [
        pd.DataFrame(
            {
                "transaction_id": [f"{row}-{direction}" for row in range(len(frame))],
                "account": frame[own],
                "counterparty": frame[other],
                "amount": frame["amount"],
                "direction": direction,
                "kind": "transfer",
                "booked_at": START,
            }
        )
        for own, other, direction in (("source", "target", "out"), ("target", "source", "in"))
    ]
    labels = pd.DataFrame({"account": range(accounts), "laundering": [a in laundering for a in range(accounts)]})
    return AmlsimData(transactions=pd.concat(legs, ignore_index=True), labels=labels)


@pytest.fixture
def two_patterns() -> AmlsimData:
    """Fan-in 1, 2, 3 -> 4 (varying small amounts); cycle 5 -> 6 -> 7 -> 5 (one amount); 8 laundering, idle.

    The laundering accounts also pay each other ordinary amounts (1 -> 5), which joins the two patterns
    into one component over all their transfers, as in AMLSim's sample; 0 and 9 are ordinary.
    """
    transfers = [
        (1, 4, 3.1), (1, 4, 3.7), (2, 4, 4.2), (3, 4, 2.9),
        (5, 6, 15.5), (6, 7, 15.5), (7, 5, 15.5), (6, 7, 15.5),
        (1, 5, 250.0), (0, 9, 120.0), (9, 8, 300.0), (8, 0, 410.0), (4, 0, 180.0),
    ]  # fmt: skip
    return amlsim_like(transfers, laundering={1, 2, 3, 4, 5, 6, 7, 8}, accounts=10)


def test_it_recovers_each_pattern_and_its_typology(two_patterns: AmlsimData) -> None:
    patterns = amlsim_patterns(data=two_patterns)
    assert patterns.accounts_of("fan_in") == {1, 2, 3, 4}
    assert patterns.accounts_of("cycle") == {5, 6, 7}
    assert patterns.accounts_of("unobserved") == {8}
    assert patterns.summary["components_over_all_transfers_among_them"] == 2  # {1..7} and {8}
    assert (patterns.summary["fan_in_patterns"], patterns.summary["cycle_patterns"]) == (1, 1)
    assert patterns.summary["closed_cycles"] == 1
    groups = patterns.groups
    assert groups[[1, 2, 3]].eq(groups[4]).all()
    assert groups[[5, 6]].eq(groups[7]).all()
    assert len({groups[4], groups[7], groups[8]}) == 3


def test_an_open_chain_of_one_amount_is_a_cycle_not_yet_closed() -> None:
    data = amlsim_like([(1, 2, 12.0), (2, 3, 12.0), (0, 4, 200.0)], laundering={1, 2, 3}, accounts=5)
    patterns = amlsim_patterns(data=data)
    assert patterns.accounts_of("cycle") == {1, 2, 3}
    assert (patterns.summary["cycle_patterns"], patterns.summary["closed_cycles"]) == (1, 0)


def test_the_split_never_separates_a_group() -> None:
    generator = np.random.default_rng(2)
    laundering_accounts = np.arange(300)
    groups = pd.Series(generator.integers(0, 60, laundering_accounts.size), index=laundering_accounts)
    labels = pd.DataFrame({"account": np.arange(3_000), "laundering": np.arange(3_000) < 300})
    train, test = pattern_split(labels=labels, groups=groups, test_share=0.3, seed=4)
    assert train.intersection(test).empty
    assert train.union(test).size == 3_000
    sides = pd.Series(groups.index.isin(test), index=groups.index).groupby(groups).nunique()
    assert (sides == 1).all()
    assert 0.2 < np.isin(laundering_accounts, test).mean() < 0.4
    assert np.isin(np.arange(300, 3_000), test).mean() == pytest.approx(0.3, abs=0.001)


def test_recall_at_an_alert_rate_counts_positives_in_the_top_by_hand() -> None:
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.2, 0.6, 0.3, 0.5, 0.4, 0.05])
    positives = np.array([True, True, False, True, False, False, False, False, False, False])
    # The top 20 % (2 rows) are 0.9 (positive) and 0.8 (not): 1 of 3 positives.
    assert recall_at_alert_rate(positives=positives, scores=scores, alert_rate=0.2) == pytest.approx(1 / 3)
    # The top 40 % add 0.7 (positive) and 0.6: 2 of 3; 0.11 x 10 rounds up to 2 alerts.
    assert recall_at_alert_rate(positives=positives, scores=scores, alert_rate=0.4) == pytest.approx(2 / 3)
    assert recall_at_alert_rate(positives=positives, scores=scores, alert_rate=0.11) == pytest.approx(1 / 3)


def test_accounts_tied_at_the_budget_edge_share_the_remaining_alerts() -> None:
    scores = np.array([0.9, 0.0, 0.0, 0.0, 0.0])
    positives = np.array([False, True, False, False, False])
    # Two alerts: 0.9, then one of four tied zeros, a positive with chance 1/4, wherever it sits.
    assert recall_at_alert_rate(positives=positives, scores=scores, alert_rate=0.4) == pytest.approx(0.25)
    assert recall_at_alert_rate(positives=positives[::-1], scores=scores[::-1], alert_rate=0.4) == pytest.approx(0.25)


def test_pr_auc_is_average_precision_by_hand() -> None:
    scores = pd.Series([0.9, 0.8, 0.3, 0.2], index=list("abcd"))
    laundering = pd.Series([True, False, True, False], index=list("abcd"))
    metrics = detection_metrics(scores=scores, laundering=laundering, alert_rates=(0.25,))
    # Precision at each positive: 1/1 at "a", 2/3 at "c".
    assert metrics.pr_auc == pytest.approx((1 + 2 / 3) / 2)
    assert (metrics.positives, metrics.negatives, metrics.recall_at[0.25]) == (2, 2, 0.5)


def test_a_typology_is_measured_against_ordinary_accounts_only() -> None:
    labels = pd.DataFrame({"account": range(6), "laundering": [True, True, False, False, False, False]})
    scores = pd.Series([0.9, 0.1, 0.5, 0.4, 0.3, 0.2], index=range(6))
    results = screening_metrics(scores=scores, labels=labels, typology_accounts={"cycle": {0}, "fan_in": {1}})
    assert (results["overall"].positives, results["overall"].negatives) == (2, 4)
    assert (results["cycle"].positives, results["cycle"].negatives, results["cycle"].pr_auc) == (1, 4, 1.0)
    # Account 1 scores below all four ordinary accounts: precision 1/5 at its rank.
    assert results["fan_in"].pr_auc == pytest.approx(1 / 5)
