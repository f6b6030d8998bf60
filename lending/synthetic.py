"""A seeded synthetic lending population with a planted, known disparity.

Fairness tooling (adverse impact ratio, four-fifths rule, ...) must be checked against a known answer
at production scale; real data has neither the size nor a known truth. This engine draws applicants,
applications, historical decisions, repayment outcomes and bank-transaction histories whose marginals
and correlations follow a real reference data set (Statlog German Credit), and plants a chosen amount
of bias against one protected group. It is plain numpy/pandas: `lending.services.synthetic_load` loads
its result into the database.

How each part is drawn, and why:

- Credit features: a bootstrap of whole reference rows (the feature vector only), so every marginal
  and every correlation between features is the reference's. Numeric features with many distinct
  values (credit amount) get a small multiplicative jitter (5%, within the reference range) so the
  population is not 1,000 points repeated; discrete ones (terms of 12/24/36 months, 1-4 scales) keep
  their exact values, which jitter would smear.
- Protected attributes: a bootstrap of the protected columns from independently drawn reference
  rows. Their joint distribution (sex with marital status and age) is real, and they are independent
  of the credit features and so of credit risk: any disparity in decisions is the planted one.
- Default: a logistic regression of the reference's outcome on the credit features (never the
  protected ones), fitted once on the reference; each application defaults with its probability.
  On a bootstrap of the reference the mean probability equals the reference default rate (30%).
- Historical decisions: approve when the probability of default is at most the reference's 70th
  percentile (about 70% approved), except the planted disparity: each female applicant who passes
  the cut-off is approved with probability 1 - bias. Risk is independent of sex, so the expected
  adverse impact ratio (female approval rate over male approval rate) is exactly 1 - bias.
- Transaction histories: the twelve calendar months before the month of application, for the
  accounts of the first K applicants, each planted with one of the behaviours of `clustering.synthetic`
  (regular salary, irregular income, high spending, seasonal, dormant) in this book's shares. They are
  drawn by the generator clustering is tested on, so a segment found there means the same here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from analytics.engine.dataset_schema import DatasetSchema, schema_load
from clustering.synthetic import GROUPS, behaviour_transactions_generate, opening_balances_draw

REFERENCE_SCHEMA = "german_credit"
DISADVANTAGED_GROUP = ("sex", "female")
REFERENCE_GROUP = ("sex", "male")
APPROVAL_RATE = 0.70
DEFAULT_TRANSACTION_ACCOUNTS = 1000
CONTINUOUS_DISTINCT_VALUES = 100  # numeric features with more distinct values than this are jittered
NUMERIC_JITTER = 0.05
APPLICATION_PERIOD = (np.datetime64("2016-01-01T00:00:00", "s"), np.datetime64("2019-01-01T00:00:00", "s"))
HISTORY_MONTHS = 12
DAYS_PER_MONTH = 30.44
DEFAULT_DAYS_PAST_DUE = 90  # the Basel definition of default
MAX_SEED = 2**63 - 1  # keeps "synthetic-<seed>-<i>" references well within 100 characters
BEHAVIOUR_SHARES = {  # the lending book's mix of the planted behaviours
    "regular_salary": 0.35,
    "irregular_income": 0.20,
    "high_spending": 0.15,
    "seasonal": 0.15,
    "dormant": 0.15,
}


@dataclass(frozen=True)
class RiskModel:
    """Logistic regression of default on the credit features, fitted on the reference data.

    Held as a weight per categorical level and per standardised numeric, so scoring 10^6 rows is a
    few lookups rather than a one-hot matrix.
    """

    level_weights: dict[str, dict[str, float]]
    numeric_weights: dict[str, tuple[float, float, float]]  # column -> (center, scale, weight)
    intercept: float

    def probability_of_default(self, features: pd.DataFrame) -> np.ndarray:
        logits = np.full(len(features), self.intercept)
        for column, weights in self.level_weights.items():
            codes = pd.Categorical(features[column].astype(str), categories=list(weights)).codes
            if (codes < 0).any():
                raise ValueError(f"{column} has values the risk model was not fitted on")
            logits += np.fromiter(weights.values(), dtype=float)[codes]
        for column, (center, scale, weight) in self.numeric_weights.items():
            logits += weight * (features[column].to_numpy(dtype=float) - center) / scale
        return 1.0 / (1.0 + np.exp(-logits))


@dataclass(frozen=True)
class SyntheticPopulation:
    """Every generated table as a DataFrame, indexed by applicant number 0..N-1 (one application each).

    `applications` holds the credit features (never a protected attribute) and `submitted_at`;
    `protected` the ProtectedAttributes fields; `decisions` the risk model's probability of default
    and the historical approve/decline; `outcomes` the true default for every application and, for
    approved ones, the funded loan's repayment status. `accounts` and `transactions` are the bank
    histories of the first K applicants, with each account's planted behaviour group.
    """

    seed: int
    bias: float
    feature_columns: tuple[str, ...]
    applicants: pd.DataFrame
    protected: pd.DataFrame
    applications: pd.DataFrame
    decisions: pd.DataFrame
    outcomes: pd.DataFrame
    accounts: pd.DataFrame
    transactions: pd.DataFrame
    approval_cutoff: float
    disadvantaged_group: tuple[str, str] = DISADVANTAGED_GROUP
    reference_group: tuple[str, str] = REFERENCE_GROUP
    behaviours: tuple[str, ...] = GROUPS

    @property
    def planted_adverse_impact_ratio(self) -> float:
        """The expected approval rate of the disadvantaged group over the reference group's."""
        return 1.0 - self.bias

    @property
    def policy_version(self) -> str:
        return f"synthetic:bias={self.bias:g}"


def reference_load(schema: DatasetSchema | None = None) -> pd.DataFrame:
    """The reference data set named by the schema (German credit by default)."""
    schema = schema or schema_load(REFERENCE_SCHEMA)
    return pd.read_csv(schema.resolve_file(), sep=schema.delimiter)


def risk_model_fit(*, reference: pd.DataFrame, schema: DatasetSchema) -> RiskModel:
    """Fit default on the credit features only, so risk carries no protected attribute."""
    if schema.target is None or schema.positive_label is None:
        raise ValueError(f"schema {schema.name!r} has no target with a positive label to fit default on")
    levels = {
        spec.name: sorted(reference[spec.name].astype(str).unique())
        for spec in schema.features
        if spec.type == "categorical"
    }
    numeric = [spec.name for spec in schema.features if spec.type == "numeric"]
    center = {name: float(reference[name].mean()) for name in numeric}
    scale = {name: float(reference[name].std()) or 1.0 for name in numeric}
    blocks = [  # one-hot, first level dropped as the baseline
        pd.get_dummies(pd.Categorical(reference[name].astype(str), categories=names)).to_numpy(float)[:, 1:]
        for name, names in levels.items()
    ]
    blocks += [((reference[name].to_numpy(float) - center[name]) / scale[name])[:, None] for name in numeric]
    defaulted = (reference[schema.target.name].astype(str) == schema.positive_label).to_numpy()
    regression = LogisticRegression(C=1.0, max_iter=5000).fit(np.hstack(blocks), defaulted)
    weights = iter(regression.coef_[0])
    level_weights = {
        name: {names[0]: 0.0} | {level: float(next(weights)) for level in names[1:]} for name, names in levels.items()
    }
    numeric_weights = {name: (center[name], scale[name], float(next(weights))) for name in numeric}
    return RiskModel(level_weights, numeric_weights, float(regression.intercept_[0]))


def _features_sample(
    rng: np.random.Generator, reference: pd.DataFrame, schema: DatasetSchema, size: int
) -> pd.DataFrame:
    """Whole resampled feature vectors; continuous numerics jittered within the reference range."""
    rows = rng.integers(0, len(reference), size)
    sample = {}
    for spec in schema.features:
        values = reference[spec.name].to_numpy()[rows]
        if spec.type == "categorical":
            levels = sorted(reference[spec.name].astype(str).unique())
            sample[spec.name] = pd.Categorical(values.astype(str), categories=levels)
        elif reference[spec.name].nunique() > CONTINUOUS_DISTINCT_VALUES:
            low, high = reference[spec.name].min(), reference[spec.name].max()
            jittered = np.clip(values * rng.lognormal(0.0, NUMERIC_JITTER, size), low, high)
            integral = pd.api.types.is_integer_dtype(reference[spec.name])
            sample[spec.name] = np.rint(jittered).astype(np.int64) if integral else jittered
        else:
            sample[spec.name] = values
    return pd.DataFrame(sample)


def _protected_sample(
    rng: np.random.Generator, reference: pd.DataFrame, schema: DatasetSchema, size: int
) -> pd.DataFrame:
    """ProtectedAttributes fields of independently resampled reference rows.

    Each distinct reference value is mapped once by the schema (labels, split, age bands), exactly as
    the data-set loader maps it, then broadcast to the sampled rows.
    """
    rows = rng.integers(0, len(reference), size)
    columns: dict[str, pd.Categorical | np.ndarray] = {}
    for spec in schema.protected:
        levels, codes = np.unique(reference[spec.name].astype(str).to_numpy(), return_inverse=True)
        mapped = pd.DataFrame([spec.protected_values(spec.parse(level)) for level in levels])
        for name in mapped.columns:
            values = mapped[name].to_numpy()[codes[rows]]
            columns[name] = values if pd.api.types.is_numeric_dtype(mapped[name]) else pd.Categorical(values)
    return pd.DataFrame(columns)


def _decisions_draw(
    rng: np.random.Generator,
    probability_of_default: np.ndarray,
    cutoff: float,
    disadvantaged: np.ndarray,
    bias: float,
    submitted_at: np.ndarray,
) -> pd.DataFrame:
    """Approve at or below the cut-off, except the planted disparity.

    The disadvantaged group's applicants who pass are approved only with probability 1 - bias.
    """
    passed = probability_of_default <= cutoff
    kept = rng.random(len(passed)) < 1.0 - bias
    approved = passed & (~disadvantaged | kept)
    decided_at = submitted_at + rng.integers(60, 86_400, len(passed)).astype("timedelta64[s]")
    return pd.DataFrame(
        {
            "probability_of_default": probability_of_default,
            "passed_cutoff": passed,
            "approved": approved,
            "decided_at": decided_at,
        }
    )


def _outcomes_draw(
    rng: np.random.Generator,
    probability_of_default: np.ndarray,
    approved: np.ndarray,
    term_months: np.ndarray,
    decided_at: np.ndarray,
) -> pd.DataFrame:
    """True default for everyone; a funded loan and its final repayment status for approved ones."""
    size = len(approved)
    defaulted = rng.random(size) < probability_of_default
    funded_on = decided_at.astype("datetime64[D]") + rng.integers(0, 15, size).astype("timedelta64[D]")
    missed_month = rng.integers(1, np.maximum(term_months, 1) + 1)
    default_days = np.rint(missed_month * DAYS_PER_MONTH).astype(np.int64) + DEFAULT_DAYS_PAST_DUE
    maturity_days = np.rint(term_months * DAYS_PER_MONTH).astype(np.int64)
    as_of = funded_on + np.where(defaulted, default_days, maturity_days).astype("timedelta64[D]")
    not_funded = np.datetime64("NaT", "D")
    return pd.DataFrame(
        {
            "defaulted": defaulted,
            "funded_on": np.where(approved, funded_on, not_funded),
            "status": pd.Categorical(
                np.where(approved, np.where(defaulted, "defaulted", "paid"), None),
                categories=["paid", "defaulted"],
            ),
            "as_of": np.where(approved, as_of, not_funded),
            "days_past_due": np.where(approved & defaulted, DEFAULT_DAYS_PAST_DUE, 0),
        }
    )


def _transactions_draw(
    rng: np.random.Generator, count: int, submitted_at: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts of the first `count` applicants and the twelve calendar months before the month they applied."""
    shares = np.array([BEHAVIOUR_SHARES[name] for name in GROUPS])
    behaviour = np.asarray(GROUPS)[rng.choice(len(GROUPS), size=count, p=shares)]
    first_month = submitted_at[:count].astype("datetime64[M]") - np.timedelta64(HISTORY_MONTHS, "M")
    history_start = first_month.astype("datetime64[D]")
    accounts = pd.DataFrame(
        {
            "applicant": np.arange(count),
            "behaviour": pd.Categorical(behaviour, categories=list(GROUPS)),
            "opened_on": history_start - rng.integers(30, 3650, count).astype("timedelta64[D]"),
            "opening_balance_cents": np.rint(opening_balances_draw(rng, count) * 100).astype(np.int64),
        }
    )

    drawn = behaviour_transactions_generate(
        rng=rng, behaviours=behaviour, first_months=first_month, months=HISTORY_MONTHS
    )
    amount_cents = np.rint(drawn.pop("amount").to_numpy() * 100).astype(np.int64)
    order = np.lexsort((amount_cents < 0, drawn["date"].to_numpy(), drawn["account"].to_numpy()))
    transactions = drawn.assign(amount_cents=amount_cents, kind=drawn["kind"].astype("category")).iloc[order]
    transactions = transactions.rename(columns={"date": "booked_on"}).reset_index(drop=True)
    opening = accounts["opening_balance_cents"].to_numpy()[transactions["account"].to_numpy()]
    transactions["balance_cents"] = transactions.groupby("account")["amount_cents"].cumsum().to_numpy() + opening
    columns = ["account", "booked_on", "amount_cents", "kind", "operation", "category", "balance_cents"]
    return accounts, transactions[columns]


class SyntheticParametersError(ValueError):
    """Parameters the generator cannot use, each named with its problem."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))


def synthetic_parameters_check(
    *, applications: int, seed: int, bias: float, transaction_accounts: int | None
) -> dict[str, str]:
    """Every problem with the generator's parameters, by parameter name (empty when all are usable)."""
    problems = {}
    if applications < 1:
        problems["applications"] = f"must be at least 1 (got {applications})"
    if not 0 <= seed <= MAX_SEED:
        problems["seed"] = f"must be between 0 and {MAX_SEED} (got {seed})"
    if not 0.0 <= bias < 1.0:
        problems["bias"] = f"must be at least 0 and below 1 (got {bias})"
    if transaction_accounts is not None and not 0 <= transaction_accounts <= applications:
        problems["transaction_accounts"] = (
            f"must be between 0 and the number of applications, {applications} (got {transaction_accounts})"
        )
    return problems


def synthetic_population(
    *,
    applications: int,
    seed: int,
    bias: float,
    reference: pd.DataFrame,
    schema: DatasetSchema | None = None,
    transaction_accounts: int | None = None,
) -> SyntheticPopulation:
    """Draw N applicants with one application each, decisions with planted bias, outcomes and histories.

    Each part has its own random stream derived from the seed, so the same seed gives identical data,
    and changing the number of transaction accounts leaves the applications unchanged.
    """
    problems = synthetic_parameters_check(
        applications=applications, seed=seed, bias=bias, transaction_accounts=transaction_accounts
    )
    if problems:
        raise SyntheticParametersError(problems)
    schema = schema or schema_load(REFERENCE_SCHEMA)
    accounts_count = (
        min(applications, DEFAULT_TRANSACTION_ACCOUNTS) if transaction_accounts is None else transaction_accounts
    )
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(6)]
    features_rng, protected_rng, dates_rng, decision_rng, outcome_rng, transactions_rng = streams

    model = risk_model_fit(reference=reference, schema=schema)
    cutoff = float(np.quantile(model.probability_of_default(reference), APPROVAL_RATE))

    features = _features_sample(features_rng, reference, schema, applications)
    protected = _protected_sample(protected_rng, reference, schema, applications)
    period_seconds = int((APPLICATION_PERIOD[1] - APPLICATION_PERIOD[0]).astype(np.int64))
    submitted_at = APPLICATION_PERIOD[0] + dates_rng.integers(0, period_seconds, applications).astype("timedelta64[s]")
    probability_of_default = model.probability_of_default(features)
    group_column, group_value = DISADVANTAGED_GROUP
    disadvantaged = (protected[group_column].astype(str) == group_value).to_numpy()
    decisions = _decisions_draw(decision_rng, probability_of_default, cutoff, disadvantaged, bias, submitted_at)
    term_spec = schema.mapped_to("term_months")
    term_months = (
        features[term_spec.name].to_numpy(dtype=np.int64)
        if term_spec
        else np.full(applications, schema.default_term_months or 12)
    )
    outcomes = _outcomes_draw(
        outcome_rng,
        probability_of_default,
        decisions["approved"].to_numpy(),
        term_months,
        decisions["decided_at"].to_numpy(),
    )
    accounts, transactions = _transactions_draw(transactions_rng, accounts_count, submitted_at)

    return SyntheticPopulation(
        seed=seed,
        bias=bias,
        feature_columns=tuple(spec.name for spec in schema.features),
        applicants=pd.DataFrame({"reference": [f"synthetic-{seed}-{i}" for i in range(applications)]}),
        protected=protected,
        applications=features.assign(submitted_at=submitted_at),
        decisions=decisions,
        outcomes=outcomes,
        accounts=accounts,
        transactions=transactions,
        approval_cutoff=cutoff,
    )
