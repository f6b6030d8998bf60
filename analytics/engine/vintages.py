"""Vintage curves: the cumulative default rate of each funding-month cohort by months on book.

A book's default rate mixes young loans, which have had no time to default, with old ones; comparing
cohorts at the same age is how credit risk teams see whether newer lending (a new model version, a
looser cut-off) defaults faster than older lending. Each point is measured only where the whole cohort
has been observed that long, so a young cohort's curve stops early rather than looking good.

The rules, in calendar months (the day of the month is ignored, as in most vintage reporting):

- A loan's cohort is its funding month (`YYYY-MM`).
- A cohort is observed for `months_observed` = (year, month of `as_of`) - (year, month of the cohort) - 1
  whole months: the calendar months after the funding month that have ended by `as_of` (the month of
  `as_of` itself has not, so its defaults are not all known yet).
- A loan has defaulted by months on book m when its `defaulted_on` is on or before `as_of` and
  (year, month of the default) - (year, month of funding) ≤ m; a default in the funding month counts
  from month 1. Defaults after `as_of` are not yet known at `as_of` and do not count, so a report can be
  rebuilt as of a past date.
- The curve holds m = 1 ... min(months_observed, max_months_on_book); points past the cohort's maturity
  are absent, never zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from finai.errors import ApplicationError

DEFAULT_MAX_MONTHS_ON_BOOK = 36
FUNDED_ON = "funded_on"
DEFAULTED_ON = "defaulted_on"

CANNOT_BUILD = "Vintage curves cannot be built from these loans."
NOT_A_DATE = "is not a date"
MISSING_FUNDING_DATE = "is missing: every loan needs its funding date"
DEFAULT_BEFORE_FUNDING = "is before the loan's funding date ({funded_on})"
FUNDED_AFTER_AS_OF = "is after the as-of date ({as_of})"
MISSING_GROUP = "is missing: every loan needs a value of the grouping column"


@dataclass(frozen=True)
class VintagePoint:
    """A cohort's defaults and cumulative default rate by one number of months on book."""

    months_on_book: int
    defaults: int
    cumulative_default_rate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "months_on_book": self.months_on_book,
            "defaults": self.defaults,
            "cumulative_default_rate": self.cumulative_default_rate,
        }


@dataclass(frozen=True)
class VintageCurve:
    """One funding-month cohort (within one group, when grouped) and its cumulative default rates."""

    cohort: str
    group: str | None
    loans: int
    months_observed: int
    points: tuple[VintagePoint, ...]

    def is_mature(self, horizon_months: int) -> bool:
        """Whether the whole cohort has been observed for `horizon_months`."""
        return self.months_observed >= horizon_months

    def rate_at(self, months_on_book: int) -> float | None:
        """The cumulative default rate by `months_on_book`; None past the cohort's maturity."""
        for point in self.points:
            if point.months_on_book == months_on_book:
                return point.cumulative_default_rate
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "group": self.group,
            "loans": self.loans,
            "months_observed": self.months_observed,
            "points": [point.as_dict() for point in self.points],
        }


def vintage_curves(
    *,
    loans: pd.DataFrame,
    as_of: dt.date,
    max_months_on_book: int = DEFAULT_MAX_MONTHS_ON_BOOK,
    group_by: str | None = None,
) -> list[VintageCurve]:
    """The cumulative default curve of every funding-month cohort (per value of `group_by`, when given).

    `loans` has a `funded_on` date, a `defaulted_on` date (missing when the loan has not defaulted: the
    first date it met the default definition) and, when grouping, the `group_by` column (a model
    version, a score band). Curves come ordered by group, then cohort. Refused, naming the row: a missing
    or unreadable funding date, a default before funding, a funding after `as_of`, a missing group.
    """
    _check_arguments(loans, as_of=as_of, max_months_on_book=max_months_on_book, group_by=group_by)
    funded_on = _dates(loans, FUNDED_ON)
    defaulted_on = _dates(loans, DEFAULTED_ON)
    as_of_stamp = pd.Timestamp(as_of)

    problems: dict[str, str] = {}
    for row in _first(funded_on.isna()):
        problems[f"row {loans.index[row]}: {FUNDED_ON}"] = MISSING_FUNDING_DATE
    for row in _first(defaulted_on < funded_on):
        funded = funded_on.iloc[row].date().isoformat()
        problems[f"row {loans.index[row]}: {DEFAULTED_ON}"] = DEFAULT_BEFORE_FUNDING.format(funded_on=funded)
    for row in _first(funded_on > as_of_stamp):
        problems[f"row {loans.index[row]}: {FUNDED_ON}"] = FUNDED_AFTER_AS_OF.format(as_of=as_of.isoformat())
    groups: pd.Series | None = None
    if group_by is not None:
        groups = loans[group_by]
        for row in _first(groups.isna()):
            problems[f"row {loans.index[row]}: {group_by}"] = MISSING_GROUP
    if problems:
        raise ApplicationError(CANNOT_BUILD, details=problems, code="invalid_data")

    funded_month = _month_number(funded_on)
    default_month = _month_number(defaulted_on)
    known_default = (defaulted_on.notna() & (defaulted_on <= as_of_stamp)).to_numpy()
    months_to_default = np.where(known_default, default_month - funded_month, -1)  # -1: no default known
    as_of_month = as_of_stamp.year * 12 + as_of_stamp.month - 1

    frame = pd.DataFrame(
        {
            "group": groups.map(_group_label).to_numpy() if groups is not None else None,
            "cohort": funded_month,
            "months_to_default": months_to_default,
        }
    )
    curves = []
    keys = ["group", "cohort"] if groups is not None else ["cohort"]
    for key, cohort_loans in frame.groupby(keys, sort=True):
        group, cohort = key if groups is not None else (None, key[0])
        months_observed = max(as_of_month - int(cohort) - 1, 0)
        horizon = min(months_observed, max_months_on_book)
        defaulted = cohort_loans["months_to_default"].to_numpy()
        defaulted = defaulted[defaulted >= 0]
        # Loans defaulted by month m: those whose default month is at most m after funding (month 0 too).
        by_month = np.cumsum(np.bincount(np.minimum(defaulted, horizon + 1), minlength=horizon + 2))
        loans_in_cohort = len(cohort_loans)
        points = tuple(
            VintagePoint(
                months_on_book=months,
                defaults=int(by_month[months]),
                cumulative_default_rate=float(by_month[months]) / loans_in_cohort,
            )
            for months in range(1, horizon + 1)
        )
        curves.append(
            VintageCurve(
                cohort=_cohort_label(int(cohort)),
                group=group,
                loans=loans_in_cohort,
                months_observed=months_observed,
                points=points,
            )
        )
    return curves


def _check_arguments(loans: pd.DataFrame, *, as_of: dt.date, max_months_on_book: int, group_by: str | None) -> None:
    problems = {
        column: "is not a column of the loans"
        for column in (FUNDED_ON, DEFAULTED_ON, group_by)
        if column is not None and column not in loans.columns
    }
    if not isinstance(as_of, dt.date):
        problems["as_of"] = NOT_A_DATE
    if isinstance(max_months_on_book, bool) or not isinstance(max_months_on_book, int) or max_months_on_book < 1:
        problems["max_months_on_book"] = "must be a whole number of at least 1"
    if problems:
        raise ApplicationError(CANNOT_BUILD, details=problems, code="invalid_data")


def _dates(loans: pd.DataFrame, column: str) -> pd.Series:
    """A date column as day timestamps (NaT where missing); an unreadable value is refused, named."""
    values = loans[column]
    parsed = pd.to_datetime(values, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    for row in _first(parsed.isna() & values.notna()):
        raise ApplicationError(
            CANNOT_BUILD, details={f"row {loans.index[row]}: {column}": NOT_A_DATE}, code="invalid_data"
        )
    return parsed.dt.normalize()


def _first(rows: pd.Series) -> list[int]:
    """The position of the first True row, if any: one named row is enough to find a problem."""
    return np.flatnonzero(rows.to_numpy(dtype=bool))[:1].tolist()


def _month_number(dates: pd.Series) -> np.ndarray:
    """Months since year 0 (year · 12 + month - 1); 0 where the date is missing (never used there)."""
    years = dates.dt.year.fillna(0).to_numpy(dtype=np.int64)
    months = dates.dt.month.fillna(1).to_numpy(dtype=np.int64)
    return years * 12 + months - 1


def _cohort_label(month_number: int) -> str:
    year, month = divmod(month_number, 12)
    return f"{year:04d}-{month + 1:02d}"


def _group_label(value: Any) -> str:
    """A group as text: 1, 1.0 and "1" are the same group."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
