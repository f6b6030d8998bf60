"""German credit with a simple deterministic decision, and seeded synthetic decisions, for the fairness tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class Decisions:
    approved: np.ndarray
    defaulted: np.ndarray
    protected: pd.DataFrame
    scores: np.ndarray
    probability_of_default: np.ndarray

    @property
    def repaid(self) -> np.ndarray:
        return 1 - self.defaulted


@pytest.fixture(scope="session")
def german() -> Decisions:
    """Approve terms of at most 24 months; outcome = creditability; groups = sex and age under 25.

    The score and probability of default are a deterministic function of duration and amount, so
    score-based metrics have something to measure.
    """
    frame = pd.read_csv(ROOT / "data" / "german_credit.csv")
    duration = frame["duration_in_month"].to_numpy(dtype=float)
    amount = frame["credit_amount"].to_numpy(dtype=float)
    probability = 1 / (1 + np.exp(-(-2.0 + 0.04 * duration + 0.00005 * amount)))
    return Decisions(
        approved=(frame["duration_in_month"] <= 24).astype(int).to_numpy(),
        defaulted=(frame["creditability"] == "bad").astype(int).to_numpy(),
        protected=pd.DataFrame(
            {
                "sex": frame["personal_status_and_sex"].str.split(" : ").str[0],
                "age_band": np.where(frame["age_in_years"] < 25, "<25", ">=25"),
            }
        ),
        scores=600 - 80 * np.log(probability / (1 - probability)),
        probability_of_default=probability,
    )


def synthetic_decisions(
    rows: int, *, seed: int, approval_rates: dict[str, float], score_shift: float = 0.0
) -> Decisions:
    """Groups with planted approval rates, outcomes that depend on the decision, normal scores."""
    rng = np.random.default_rng(seed)
    labels = np.array(list(approval_rates))
    group = rng.integers(0, len(labels), rows)
    approved = (rng.random(rows) < np.array(list(approval_rates.values()))[group]).astype(int)
    probability = np.clip(0.1 + 0.15 * rng.random(rows) + 0.1 * (1 - approved), 0, 1)
    defaulted = (rng.random(rows) < probability).astype(int)
    scores = 600 + 50 * rng.standard_normal(rows) - 50 * score_shift * (group == 0)
    return Decisions(
        approved=approved,
        defaulted=defaulted,
        protected=pd.DataFrame({"group": labels[group], "region": rng.choice(["north", "south"], rows)}),
        scores=scores,
        probability_of_default=probability,
    )
