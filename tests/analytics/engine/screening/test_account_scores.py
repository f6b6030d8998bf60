from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from analytics.engine.screening.account_features import FEATURES, account_features_compute
from analytics.engine.screening.account_scores import account_anomaly_fit, account_classifier_fit
from analytics.engine.screening.synthetic import SyntheticBook
from finai.errors import ApplicationError


@pytest.fixture(scope="module")
def book_features(book: SyntheticBook) -> pd.DataFrame:
    return account_features_compute(transactions=book.transactions)


@pytest.fixture(scope="module")
def planted(book: SyntheticBook, book_features: pd.DataFrame) -> pd.Series:
    return pd.Series(book_features.index.isin(book.truth["account"]), index=book_features.index)


def test_the_anomaly_score_ranks_planted_fan_ins_and_pass_throughs_high(
    book: SyntheticBook, book_features: pd.DataFrame
) -> None:
    scores = account_anomaly_fit(features=book_features, seed=1).score(features=book_features, reasons=0)["score"]
    standing = scores.rank(pct=True)
    assert standing.reindex(list(book.accounts_with("fan_in"))).median() > 0.85
    assert standing.reindex(list(book.accounts_with("pass_through"))).min() > 0.9
    assert scores.between(0, 1).all()


def test_the_supervised_scorer_finds_planted_accounts_it_never_saw(
    book_features: pd.DataFrame, planted: pd.Series
) -> None:
    training = np.random.default_rng(0).random(len(book_features)) < 0.6
    scorer = account_classifier_fit(
        features=book_features[training], labels=planted[training], family="gradient_boosting"
    )
    held_out = scorer.score(features=book_features[~training], reasons=0)["score"]
    assert average_precision_score(planted[~training], held_out) > 0.9


def test_it_chooses_the_family_by_cross_validated_pr_auc(book_features: pd.DataFrame, planted: pd.Series) -> None:
    scorer = account_classifier_fit(features=book_features, labels=planted, seed=3)
    assert set(scorer.cross_validated_pr_auc) == {"gradient_boosting", "logistic"}
    assert scorer.family == max(scorer.cross_validated_pr_auc, key=scorer.cross_validated_pr_auc.get)


def test_fitted_scorers_survive_a_joblib_round_trip(book_features: pd.DataFrame, planted: pd.Series) -> None:
    for scorer in (
        account_anomaly_fit(features=book_features, trees=50),
        account_classifier_fit(features=book_features, labels=planted, family="logistic"),
    ):
        stored = io.BytesIO()
        joblib.dump(scorer, stored)  # as the model registry stores estimators
        restored = joblib.load(io.BytesIO(stored.getvalue()))
        pd.testing.assert_frame_equal(
            restored.score(features=book_features.head(50)), scorer.score(features=book_features.head(50))
        )


def _population(size: int = 200) -> pd.DataFrame:
    generator = np.random.default_rng(5)
    frame = pd.DataFrame(
        {name: generator.integers(1, 5, size).astype(float) for name in FEATURES},
        index=[f"A{number}" for number in range(size)],
    )
    frame.loc["A0", "in_degree"] = 40.0
    return frame


def test_the_anomaly_reason_names_the_extreme_feature_and_its_standing() -> None:
    features = _population()
    scored = account_anomaly_fit(features=features).score(features=features, reasons=1)
    assert scored.loc["A0", "reasons"] == ("accounts of the book that paid this account 40, above 99% of accounts",)


def test_the_supervised_reason_names_what_raised_the_score() -> None:
    features = _population()
    labels = pd.Series(features["in_degree"] >= 4, index=features.index)
    scored = account_classifier_fit(features=features, labels=labels, family="logistic").score(
        features=features, reasons=1
    )
    assert scored.loc["A0", "reasons"][0].startswith("accounts of the book that paid this account 40")


def test_it_refuses_labels_without_a_laundering_account(book_features: pd.DataFrame) -> None:
    with pytest.raises(ApplicationError):
        account_classifier_fit(features=book_features, labels=pd.Series(False, index=book_features.index))


def test_it_refuses_an_unknown_family(book_features: pd.DataFrame, planted: pd.Series) -> None:
    with pytest.raises(ApplicationError) as raised:
        account_classifier_fit(features=book_features, labels=planted, family="neural")
    assert "family" in raised.value.details
