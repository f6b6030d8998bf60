"""Synthetic bank transactions with planted behaviour groups: the one generator of them.

Real transaction data carries no segment labels, so a clustering method can only be checked against
a known answer on data where the answer was planted. Five behaviours a lender would want told apart:

- regular_salary: one salary credit late each month, rent early each month and card payments that
  spend nearly all of it, so the balance saws up and down around a slowly rising level;
- irregular_income: credits of very uneven size on random days (gig or informal work) and modest
  spending, so the balance climbs in uneven steps;
- high_spending: a monthly salary and many large debits that run the balance down;
- seasonal: income only in three summer months, modest spending all year;
- dormant: a deposit in the first week and two small withdrawals soon after, then nothing.

Clustering's tests and benchmarks use `synthetic_transactions_generate` (equal groups, one
calendar); the lending population draws its applicants' bank histories with
`behaviour_transactions_generate` (its own mix, each account's window before its application). Both
read the definitions below, so a segment means the same behaviour wherever it was planted. Amounts
are on the scale of the Berka accounts (Czech koruna) that segmentations are trained on.

Generated vectorised per group (no loop over accounts) and seeded: a million rows take under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finai.errors import ApplicationError

GROUPS: tuple[str, ...] = ("regular_salary", "irregular_income", "high_spending", "seasonal", "dormant")
SEASON_MONTHS = (5, 6, 7)  # June to August, counted from January
OPENING_BALANCE_MEDIAN = 20_000
OPERATIONS = {  # how a bank books each category of event
    "salary": "credit transfer",
    "rent": "standing order",
    "income": "credit transfer",
    "spending": "card payment",
    "deposit": "cash deposit",
    "withdrawal": "cash withdrawal",
}


@dataclass(frozen=True)
class SyntheticTransactions:
    """Transactions (account_id, date, signed amount, balance, kind, operation, category) and each account's group."""

    transactions: pd.DataFrame
    groups: pd.Series

    def labels(self, account_ids: np.ndarray) -> np.ndarray:
        """Group codes (index into GROUPS) for accounts in the given order, to score a clustering against."""
        codes = self.groups.map({name: code for code, name in enumerate(GROUPS)})
        return codes.loc[np.asarray(account_ids)].to_numpy()


@dataclass(frozen=True)
class _Windows:
    """Each account's history: `months` calendar months from its own first month, as day offsets."""

    first_day: np.ndarray  # (accounts,) days since 1970-01-01
    month_offsets: np.ndarray  # (accounts, months) days from first_day to each month's first day
    month_lengths: np.ndarray  # (accounts, months)
    calendar_months: np.ndarray  # (accounts, months) 0 for January

    @classmethod
    def of(cls, first_months: np.ndarray, months: int) -> _Windows:
        month_starts = first_months[:, None] + np.arange(months + 1)
        month_days = month_starts.astype("datetime64[D]").astype(np.int64)
        return cls(
            first_day=month_days[:, 0],
            month_offsets=month_days[:, :-1] - month_days[:, :1],
            month_lengths=np.diff(month_days, axis=1),
            calendar_months=month_starts[:, :-1].astype(np.int64) % 12,
        )

    @property
    def accounts(self) -> int:
        return len(self.first_day)

    @property
    def days(self) -> np.ndarray:
        return self.month_offsets[:, -1] + self.month_lengths[:, -1]


def synthetic_transactions_generate(
    *, accounts_per_group: int = 20, months: int = 12, start: str = "2023-01", seed: int = 0
) -> SyntheticTransactions:
    """Generate `accounts_per_group` accounts of each behaviour over `months` calendar months from `start`."""
    problems = {"accounts_per_group": f"{accounts_per_group} is not >= 1"} if accounts_per_group < 1 else {}
    problems |= _problems(months=months, behaviours=np.asarray(GROUPS))
    if problems:
        raise ApplicationError("Cannot generate synthetic transactions.", details=problems)
    rng = np.random.default_rng(seed)
    total_accounts = accounts_per_group * len(GROUPS)
    account_ids = rng.permutation(total_accounts) + 1
    behaviours = np.repeat(GROUPS, accounts_per_group)
    first_months = np.full(total_accounts, np.datetime64(start, "M"))
    table = behaviour_transactions_generate(rng=rng, behaviours=behaviours, first_months=first_months, months=months)
    table.insert(0, "account_id", account_ids[table.pop("account").to_numpy()])

    table = table.sort_values(["account_id", "date"], kind="stable", ignore_index=True)
    opening = pd.Series(opening_balances_draw(rng, total_accounts), index=np.arange(1, 1 + total_accounts))
    table["balance"] = (
        table.groupby("account_id")["amount"].cumsum() + opening.loc[table["account_id"]].to_numpy()
    ).round(2)
    table = table.sort_values(["date", "account_id"], kind="stable", ignore_index=True)
    table = table[["account_id", "date", "amount", "balance", "kind", "operation", "category"]]
    groups = pd.Series(dict(zip(account_ids.tolist(), behaviours.tolist(), strict=True)), name="group").sort_index()
    return SyntheticTransactions(transactions=table, groups=groups)


def behaviour_transactions_generate(
    *, rng: np.random.Generator, behaviours: np.ndarray, first_months: np.ndarray, months: int
) -> pd.DataFrame:
    """Transactions of accounts with the given behaviours, each over `months` calendar months from its first month.

    Accounts are numbered by position in `behaviours`; rows come group by group (in GROUPS order),
    unsorted, amounts signed and rounded to the cent, with no balance: callers order and book them.
    """
    behaviours = np.asarray(behaviours)
    problems = _problems(months=months, behaviours=behaviours)
    if problems:
        raise ApplicationError("Cannot generate behaviour transactions.", details=problems)
    first_months = np.asarray(first_months, dtype="datetime64[M]")
    builders = {
        "regular_salary": _regular_salary,
        "irregular_income": _irregular_income,
        "high_spending": _high_spending,
        "seasonal": _seasonal,
        "dormant": _dormant,
    }
    parts = []
    for name in GROUPS:
        members = np.flatnonzero(behaviours == name)
        windows = _Windows.of(first_months[members], months)
        local, day, amount, category = builders[name](rng, windows)
        date = (windows.first_day[local] + day).astype("datetime64[D]")
        parts.append(pd.DataFrame({"account": members[local], "date": date, "amount": amount, "category": category}))
    table = pd.concat(parts, ignore_index=True)
    table["amount"] = table["amount"].round(2)
    table["kind"] = np.where(table["amount"] >= 0, "credit", "debit")
    table["category"] = pd.Categorical.from_codes(table["category"], categories=list(OPERATIONS))
    table["operation"] = table["category"].map(OPERATIONS).astype("category")
    return table[["account", "date", "amount", "kind", "operation", "category"]]


def opening_balances_draw(rng: np.random.Generator, accounts: int) -> np.ndarray:
    """Each account's balance before its first transaction, alike for every behaviour."""
    return rng.lognormal(np.log(OPENING_BALANCE_MEDIAN), 0.5, accounts).round(2)


def _problems(*, months: int, behaviours: np.ndarray) -> dict[str, str]:
    problems = {}
    if months < 1:
        problems["months"] = f"{months} is not >= 1"
    unknown = sorted(set(behaviours.tolist()) - set(GROUPS))
    if unknown:
        problems["behaviours"] = f"{unknown} are not among {list(GROUPS)}"
    return problems


_CATEGORY_CODES = {category: code for code, category in enumerate(OPERATIONS)}
Events = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # account, day in its window, amount, category


def _monthly(rng: np.random.Generator, windows: _Windows, day_of_month: int) -> tuple[np.ndarray, np.ndarray]:
    """One event per account per month on about the given day (a day either side)."""
    local = np.repeat(np.arange(windows.accounts), windows.month_offsets.shape[1])
    day_in_month = np.minimum(day_of_month + rng.integers(-1, 2, local.size), windows.month_lengths.ravel() - 1)
    return local, windows.month_offsets.ravel() + day_in_month.clip(0)


def _random_days(
    rng: np.random.Generator, rate_per_month: float, windows: _Windows, *, active: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A Poisson number of events per account, on random days of its active months (all by default)."""
    if active is None:
        active = np.ones(windows.month_offsets.shape, dtype=bool)
    active_months = active.sum(axis=1)
    counts = rng.poisson(rate_per_month * active_months)
    local = np.repeat(np.arange(windows.accounts), counts)
    _, active_month = np.nonzero(active)  # by account, then month
    first_active = np.cumsum(active_months) - active_months
    month = active_month[first_active[local] + rng.integers(0, active_months[local])]
    day_in_month = (rng.random(local.size) * windows.month_lengths[local, month]).astype(np.int64)
    return local, windows.month_offsets[local, month] + day_in_month


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, size)


def _join(*parts: tuple[str, np.ndarray, np.ndarray, np.ndarray]) -> Events:
    """Concatenate (category, account, day, amount) parts into one set of events, categories as codes."""
    local, day, amount = (np.concatenate(column) for column in zip(*(part[1:] for part in parts), strict=True))
    category = np.concatenate([np.full(len(part[1]), _CATEGORY_CODES[part[0]], dtype=np.int8) for part in parts])
    return local, day, amount, category


def _regular_salary(rng: np.random.Generator, windows: _Windows) -> Events:
    salary = rng.normal(30_000, 5_000, windows.accounts).clip(10_000)
    pay_local, pay_day = _monthly(rng, windows, 24)
    rent_local, rent_day = _monthly(rng, windows, 1)
    card_local, card_day = _random_days(rng, 10, windows)
    return _join(
        ("salary", pay_local, pay_day, salary[pay_local] * rng.normal(1, 0.01, pay_local.size)),
        ("rent", rent_local, rent_day, -0.35 * salary[rent_local]),
        ("spending", card_local, card_day, -_lognormal(rng, 0.057 * salary[card_local], 0.3, card_local.size)),
    )


def _irregular_income(rng: np.random.Generator, windows: _Windows) -> Events:
    income_local, income_day = _random_days(rng, 4, windows)
    spend_local, spend_day = _random_days(rng, 4, windows)
    return _join(
        ("income", income_local, income_day, _lognormal(rng, 6_000, 0.9, income_local.size)),
        ("spending", spend_local, spend_day, -_lognormal(rng, 1_500, 0.6, spend_local.size)),
    )


def _high_spending(rng: np.random.Generator, windows: _Windows) -> Events:
    salary = rng.normal(40_000, 6_000, windows.accounts).clip(15_000)
    pay_local, pay_day = _monthly(rng, windows, 24)
    spend_local, spend_day = _random_days(rng, 22, windows)
    return _join(
        ("salary", pay_local, pay_day, salary[pay_local] * rng.normal(1, 0.01, pay_local.size)),
        ("spending", spend_local, spend_day, -_lognormal(rng, 0.06 * salary[spend_local], 0.5, spend_local.size)),
    )


def _seasonal(rng: np.random.Generator, windows: _Windows) -> Events:
    season = np.isin(windows.calendar_months, SEASON_MONTHS)
    income_local, income_day = _random_days(rng, 4, windows, active=season)
    spend_local, spend_day = _random_days(rng, 3, windows)
    return _join(
        ("income", income_local, income_day, _lognormal(rng, 15_000, 0.3, income_local.size)),
        ("spending", spend_local, spend_day, -_lognormal(rng, 3_000, 0.5, spend_local.size)),
    )


def _dormant(rng: np.random.Generator, windows: _Windows) -> Events:
    deposit_local = np.arange(windows.accounts)
    deposit_day = rng.integers(0, 7, windows.accounts)
    spend_local = np.repeat(deposit_local, 2)
    spend_day = np.repeat(deposit_day, 2) + rng.integers(1, 50, spend_local.size)
    spend_day = np.minimum(spend_day, windows.days[spend_local] - 1)
    return _join(
        ("deposit", deposit_local, deposit_day, _lognormal(rng, 2_000, 0.3, windows.accounts)),
        ("withdrawal", spend_local, spend_day, -_lognormal(rng, 300, 0.3, spend_local.size)),
    )
