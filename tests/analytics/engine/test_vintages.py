"""Vintage curves on a hand-built book of twelve loans, as of 15 June 2024."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from analytics.engine.vintages import VintageCurve, vintage_curves
from finai.errors import ApplicationError

AS_OF = dt.date(2024, 6, 15)
D = dt.date

# funded_on, defaulted_on, model version; the comment gives the default's months on book.
BOOK = [
    (D(2024, 1, 3), D(2024, 1, 20), "v1"),  # same month as funding: counts from month 1
    (D(2024, 1, 31), D(2024, 2, 1), "v1"),  # next calendar month, one day later: month 1
    (D(2024, 1, 15), D(2024, 4, 10), "v1"),  # month 3
    (D(2024, 1, 10), None, "v1"),
    (D(2024, 1, 20), D(2024, 7, 1), "v2"),  # after the as-of date: not yet known
    (D(2024, 3, 1), D(2024, 5, 31), "v1"),  # month 2
    (D(2024, 3, 15), None, "v2"),
    (D(2024, 3, 31), None, "v2"),
    (D(2024, 3, 20), D(2024, 6, 15), "v2"),  # month 3: in the as-of month, which has not ended
    (D(2024, 5, 31), D(2024, 6, 2), "v2"),  # month 1: in the as-of month, which has not ended
    (D(2024, 6, 1), None, "v1"),
    (D(2024, 6, 15), None, "v2"),
]


def _book() -> pd.DataFrame:
    return pd.DataFrame(BOOK, columns=["funded_on", "defaulted_on", "model_version"])


def _by_cohort(curves: list[VintageCurve]) -> dict[str, VintageCurve]:
    return {curve.cohort: curve for curve in curves}


def test_cumulative_default_rates_match_the_hand_computed_book() -> None:
    curves = _by_cohort(vintage_curves(loans=_book(), as_of=AS_OF))
    rates = {cohort: [point.cumulative_default_rate for point in curve.points] for cohort, curve in curves.items()}
    assert rates == {
        "2024-01": [2 / 5, 2 / 5, 3 / 5, 3 / 5],
        "2024-03": [0.0, 1 / 4],
        "2024-05": [],
        "2024-06": [],
    }


def test_each_cohort_is_observed_for_the_calendar_months_ended_after_its_own_by_the_as_of_date() -> None:
    curves = vintage_curves(loans=_book(), as_of=AS_OF)
    assert [(curve.cohort, curve.loans, curve.months_observed) for curve in curves] == [
        ("2024-01", 5, 4),
        ("2024-03", 4, 2),
        ("2024-05", 1, 0),
        ("2024-06", 2, 0),
    ]


def test_points_past_a_cohorts_maturity_are_absent_not_zero() -> None:
    march = _by_cohort(vintage_curves(loans=_book(), as_of=AS_OF))["2024-03"]
    assert (march.rate_at(2), march.rate_at(3)) == (0.25, None)


def test_the_curve_stops_at_the_longest_months_on_book_asked_for() -> None:
    january = _by_cohort(vintage_curves(loans=_book(), as_of=AS_OF, max_months_on_book=2))["2024-01"]
    assert [point.months_on_book for point in january.points] == [1, 2]


def test_a_default_after_the_as_of_date_counts_once_that_date_has_passed() -> None:
    january = _by_cohort(vintage_curves(loans=_book(), as_of=D(2024, 8, 1)))["2024-01"]
    assert january.rate_at(6) == 4 / 5


def test_a_cohort_is_mature_once_observed_for_the_horizon() -> None:
    march = _by_cohort(vintage_curves(loans=_book(), as_of=AS_OF))["2024-03"]
    assert (march.is_mature(2), march.is_mature(3)) == (True, False)


def test_groups_get_separate_curves() -> None:
    curves = vintage_curves(loans=_book(), as_of=AS_OF, group_by="model_version")
    summary = {(curve.group, curve.cohort): (curve.loans, curve.rate_at(2)) for curve in curves}
    assert summary == {
        ("v1", "2024-01"): (4, 2 / 4),
        ("v1", "2024-03"): (1, 1.0),
        ("v1", "2024-06"): (1, None),
        ("v2", "2024-01"): (1, 0.0),
        ("v2", "2024-03"): (3, 0.0),
        ("v2", "2024-05"): (1, None),
        ("v2", "2024-06"): (1, None),
    }


def test_a_default_before_funding_is_refused_naming_the_row() -> None:
    book = _book()
    book.loc[6, "defaulted_on"] = D(2024, 2, 1)
    with pytest.raises(ApplicationError) as refused:
        vintage_curves(loans=book, as_of=AS_OF)
    assert list(refused.value.details) == ["row 6: defaulted_on"]


def test_a_funding_after_the_as_of_date_is_refused_naming_the_row() -> None:
    book = _book()
    book.loc[11, "funded_on"] = D(2024, 6, 16)
    with pytest.raises(ApplicationError) as refused:
        vintage_curves(loans=book, as_of=AS_OF)
    assert list(refused.value.details) == ["row 11: funded_on"]


def test_a_missing_funding_date_is_refused_naming_the_row() -> None:
    book = _book()
    book.loc[2, "funded_on"] = None
    with pytest.raises(ApplicationError) as refused:
        vintage_curves(loans=book, as_of=AS_OF)
    assert list(refused.value.details) == ["row 2: funded_on"]


def test_a_grouping_column_that_is_absent_is_refused_by_name() -> None:
    with pytest.raises(ApplicationError) as refused:
        vintage_curves(loans=_book(), as_of=AS_OF, group_by="score_band")
    assert list(refused.value.details) == ["score_band"]


def test_curves_are_json_ready() -> None:
    payload = [curve.as_dict() for curve in vintage_curves(loans=_book(), as_of=AS_OF, group_by="model_version")]
    assert json.loads(json.dumps(payload))[0]["points"][0] == {
        "months_on_book": 1,
        "defaults": 2,
        "cumulative_default_rate": 0.5,
    }
