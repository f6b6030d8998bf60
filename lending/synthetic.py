"""A seeded synthetic lending population with a planted, known disparity, drawn from any outcomes data set.

Fairness tooling (adverse impact ratio, four-fifths rule, ...) must be checked against a known answer
at production scale; real data has neither the size nor a known truth. This engine draws applicants,
applications, historical decisions, repayment outcomes and bank-transaction histories whose marginals
and correlations follow a reference data set with repayment outcomes, read through its dataset schema
(German credit is the demo's; nothing here assumes it), and plants a chosen amount of bias against one
protected group, compared with another group of the same attribute. It is plain numpy/pandas:
`lending.services.synthetic_load` loads its result into the database.

How each part is drawn, and why:

- Credit features: a bootstrap of whole reference rows (the feature vector only), so every marginal
  and every correlation between features is the reference's. Numeric features with many distinct
  values (amounts, limits) get a small multiplicative jitter (5%, within the reference range) so the
  population is not the reference repeated; discrete ones (terms, 1-4 scales) keep their exact
  values, which jitter would smear.
- Protected attributes: a bootstrap of the protected columns from independently drawn reference
  rows, mapped by the schema as the data-set loader maps them (split, labels, age bands; a column
  without `maps_to` kept by its own name). Their joint distribution is real, and they are independent
  of the credit features and so of credit risk: any disparity in decisions is the planted one.
- Default: a logistic regression of the reference's outcome on the credit features (never the
  protected ones), fitted once on the reference; each application defaults with its probability.
  On a bootstrap of the reference the mean probability equals the reference default rate.
- Historical decisions: approve when the probability of default is at most the reference's 70th
  percentile (about 70% approved), except the planted disparity: each applicant of the disadvantaged
  group who passes the cut-off is approved with probability 1 - bias. Risk is independent of the
  protected attributes, and the reference group is another value of the same attribute (so no one is
  in both), so the expected adverse impact ratio (the disadvantaged group's approval rate over the
  reference group's) is exactly 1 - bias, whatever the data set.
- Outcomes: a default falls in a month of the loan's term (the schema's term feature, else its
  `default_term_months`; open-ended credit has none and is followed over the default definition's
  horizon, 12 months when it names none) and is recorded at the definition's days past due.
- Transaction histories: the twelve calendar months before the month of application, for the
  accounts of the first K applicants, each planted with one of the behaviours of `clustering.synthetic`
  (regular salary, irregular income, high spending, seasonal, dormant) in this book's shares. They are
  drawn by the generator clustering is tested on, so a segment found there means the same here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from analytics.engine.dataset_schema import DatasetSchema, SchemaError
from clustering.synthetic import GROUPS, behaviour_transactions_generate, opening_balances_draw

Group = tuple[str, str]  # (protected attribute, value): ("sex", "female"), ("education", "university")

# The groups planted when none are named, only where a data set records sex with these values.
DEFAULT_DISADVANTAGED_GROUP: Group = ("sex", "female")
DEFAULT_REFERENCE_GROUP: Group = ("sex", "male")
APPROVAL_RATE = 0.70
DEFAULT_TRANSACTION_ACCOUNTS = 1000
CONTINUOUS_DISTINCT_VALUES = 100  # numeric features with more distinct values than this are jittered
NUMERIC_JITTER = 0.05
APPLICATION_PERIOD = (np.datetime64("2016-01-01T00:00:00", "s"), np.datetime64("2019-01-01T00:00:00", "s"))
HISTORY_MONTHS = 12
DAYS_PER_MONTH = 30.44
OPEN_ENDED_HORIZON_MONTHS = 12  # open-ended credit is followed this long when its default definition names no horizon
MAX_SEED = 2**63 - 1  # keeps "synthetic-<seed>-<i>" references well within 100 characters
MAX_VALUES_NAMED = 12  # a refusal lists at most this many values (or problems with the reference file)
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
    `protected` the ProtectedAttributes fields the schema fills and, by their own names, its protected
    columns without a field (stored in `other`); `decisions` the risk model's probability of default
    and the historical approve/decline; `outcomes` the true default for every application and, for
    approved ones, the funded loan's repayment status. `accounts` and `transactions` are the bank
    histories of the first K applicants, with each account's planted behaviour group.
    """

    dataset: str
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
    disadvantaged_group: Group
    reference_group: Group
    behaviours: tuple[str, ...] = GROUPS

    @property
    def planted_adverse_impact_ratio(self) -> float:
        """The expected approval rate of the disadvantaged group over the reference group's."""
        return 1.0 - self.bias

    @property
    def policy_version(self) -> str:
        return f"synthetic:bias={self.bias:g}"


class SyntheticParametersError(ValueError):
    """Parameters the generator cannot use, each named with its problem."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))


def _cells_text(column: pd.Series) -> np.ndarray:
    """A column's cells as the text a schema parses; an empty cell (NaN to pandas) as ""."""
    return column.astype(object).where(column.notna(), "").astype(str).to_numpy()


def _value_text(value: object) -> str:
    """A protected value as a flag names it: 2 and 2.0 both read "2"; a missing value reads ""."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _levels_parse(reference: pd.DataFrame, schema: DatasetSchema, problems: list[str]) -> pd.DataFrame:
    """The feature columns as the data-set loader reads them: labels applied, numbers typed, every bad cell named.

    Each distinct cell is parsed once and broadcast, so a large reference parses in milliseconds.
    """
    parsed = reference.copy()
    for spec in schema.features:
        levels, codes = np.unique(_cells_text(reference[spec.name]), return_inverse=True)
        values: list[object] = []
        for level in levels:
            try:
                value = spec.parse(level)
            except ValueError as exc:
                problems.append(f"column {spec.name}: {exc}")
                value = None
            else:
                if value is None:
                    problems.append(
                        f"column {spec.name}: {int((codes == len(values)).sum())} rows have no value "
                        "(the generator resamples whole rows, so the reference must be complete)"
                    )
            values.append(value)
        if spec.type == "numeric":
            numbers = [value for value in values if value is not None]
            dtype = np.int64 if all(isinstance(value, int) for value in numbers) else float
            parsed[spec.name] = np.asarray([value if value is not None else 0 for value in values], dtype=dtype)[codes]
        else:
            parsed[spec.name] = np.asarray([str(value) for value in values], dtype=object)[codes]
    return parsed


def _protected_levels(
    reference: pd.DataFrame, schema: DatasetSchema, problems: list[str]
) -> list[tuple[np.ndarray, list[dict[str, object]]]]:
    """Per protected column: each row's level, and the fields each level fills (as the data-set loader maps it)."""
    found = []
    for spec in schema.protected:
        levels, codes = np.unique(_cells_text(reference[spec.name]), return_inverse=True)
        mapped: list[dict[str, object]] = []
        for level in levels:
            try:
                mapped.append(spec.protected_values(spec.parse(level)))
            except ValueError as exc:
                problems.append(f"column {spec.name}: {exc}")
                mapped.append({})
        found.append((codes, mapped))
    return found


def reference_load(schema: DatasetSchema, file: str | Path | None = None) -> pd.DataFrame:
    """The reference data set (the schema's `file` unless another is given), its features parsed by the schema.

    Protected columns are kept as written (they are mapped when drawn). Raises SyntheticParametersError
    naming `reference_file` with every problem: a file that cannot be read, a missing column, a bad or
    missing cell, an outcome that is neither of the schema's labels.
    """
    try:
        path = Path(file) if file is not None else schema.resolve_file()
    except SchemaError:
        raise SyntheticParametersError(
            {"reference_file": f"the schema {schema.name!r} names no data file; give the reference file"}
        ) from None
    try:
        reference = pd.read_csv(path, sep=schema.delimiter)
    except FileNotFoundError:
        raise SyntheticParametersError({"reference_file": f"no file at {path}"}) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SyntheticParametersError({"reference_file": f"{path} cannot be read as CSV: {exc}"}) from None
    missing = [spec.name for spec in schema.columns if spec.role != "ignored" and spec.name not in reference.columns]
    if missing:
        raise SyntheticParametersError({"reference_file": f"{path} lacks the columns {', '.join(missing)}"})
    problems: list[str] = []
    if schema.kind != "outcomes" or schema.target is None:
        problems.append(f"{schema.name} is not an outcomes data set: there is no repayment outcome to fit default on")
    else:
        outcomes = pd.Series(_cells_text(reference[schema.target.name]))
        unknown = ~outcomes.isin([schema.positive_label, schema.negative_label])
        if unknown.any():
            problems.append(
                f"column {schema.target.name}: {int(unknown.sum())} rows are neither {schema.positive_label!r} "
                f"(default) nor {schema.negative_label!r} (e.g. {outcomes[unknown].iloc[0]!r})"
            )
    parsed = _levels_parse(reference, schema, problems)
    _protected_levels(reference, schema, problems)
    if problems:
        named = list(dict.fromkeys(problems))
        more = f"; ... ({len(named)} problems in all)" if len(named) > MAX_VALUES_NAMED else ""
        raise SyntheticParametersError({"reference_file": "; ".join(named[:MAX_VALUES_NAMED]) + more})
    return parsed


def group_values(*, reference: pd.DataFrame, schema: DatasetSchema) -> dict[str, tuple[str, ...]]:
    """Every protected grouping's values that occur in the reference (what a planted group may name)."""
    found: dict[str, set[str]] = {}
    for _codes, mapped in _protected_levels(reference, schema, []):
        for fields in mapped:
            for name, value in fields.items():
                if text := _value_text(value):
                    found.setdefault(name, set()).add(text)
    return {name: tuple(sorted(values)) for name, values in found.items() if name in schema.group_attributes}


def group_parse(text: str) -> Group:
    """ATTRIBUTE=VALUE ("sex=female") as a group; ValueError saying the form when it is not."""
    attribute, equals, value = text.partition("=")
    if not equals or not attribute.strip() or not value.strip():
        raise ValueError(f"must be ATTRIBUTE=VALUE, e.g. sex=female (got {text!r})")
    return attribute.strip(), value.strip()


def group_text(group: Group) -> str:
    return f"{group[0]}={group[1]}"


def _values_named(values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:MAX_VALUES_NAMED])
    return shown + (f", ... ({len(values)} in all)" if len(values) > MAX_VALUES_NAMED else "")


def synthetic_groups_check(
    *,
    schema: DatasetSchema,
    values: dict[str, tuple[str, ...]] | None,
    disadvantaged_group: Group,
    reference_group: Group,
) -> dict[str, str]:
    """Every problem with the planted groups, by parameter name (values None: the reference is unknown).

    Both must be groups of one protected attribute the data set yields, with values its reference
    holds; and of the same attribute, with different values, so no applicant is in both and the
    planted ratio is exactly 1 - bias.
    """
    problems = {}
    attributes = ", ".join(schema.group_attributes) or "none"
    for name, (attribute, value) in (
        ("disadvantaged_group", disadvantaged_group),
        ("reference_group", reference_group),
    ):
        if attribute not in schema.group_attributes:
            problems[name] = f"{attribute!r} is not a protected attribute of {schema.name} (it has: {attributes})"
        elif values is not None and value not in values.get(attribute, ()):
            problems[name] = (
                f"{value!r} does not occur in the reference data's {attribute} "
                f"(its values: {_values_named(values.get(attribute, ())) or 'none'})"
            )
    if not problems and disadvantaged_group[0] != reference_group[0]:
        problems["reference_group"] = (
            f"must be a group of the disadvantaged group's attribute, {disadvantaged_group[0]} "
            "(groups of two attributes overlap, and the planted ratio would not be 1 - bias)"
        )
    elif not problems and disadvantaged_group == reference_group:
        problems["reference_group"] = "must be another value than the disadvantaged group's"
    return problems


def synthetic_groups_resolve(
    *,
    schema: DatasetSchema,
    values: dict[str, tuple[str, ...]] | None,
    disadvantaged_group: str | None,
    reference_group: str | None,
) -> tuple[Group, Group]:
    """The planted groups named as ATTRIBUTE=VALUE, checked; SyntheticParametersError names each bad one.

    A group left out is sex=female (disadvantaged) against sex=male only where the data set records
    sex with both values; elsewhere both must be named, since no grouping is right for every data set.
    """
    sexes = set((values or {}).get("sex", ()))
    sex_defaults = "sex" in schema.group_attributes and (values is None or {"female", "male"} <= sexes)
    attributes = ", ".join(schema.group_attributes) or "none"
    problems: dict[str, str] = {}
    parsed: dict[str, Group | None] = {}
    for name, text in (("disadvantaged_group", disadvantaged_group), ("reference_group", reference_group)):
        try:
            parsed[name] = group_parse(text) if text is not None else None
        except ValueError as exc:
            problems[name] = str(exc)
    disadvantaged = parsed.get("disadvantaged_group")
    if disadvantaged_group is None and "disadvantaged_group" not in problems:
        if sex_defaults and parsed.get("reference_group") in (None, DEFAULT_REFERENCE_GROUP):
            disadvantaged = DEFAULT_DISADVANTAGED_GROUP
        else:
            problems["disadvantaged_group"] = (
                f"is required for {schema.name}: give the group to plant the bias against as ATTRIBUTE=VALUE, "
                f"ATTRIBUTE one of: {attributes}"
            )
    reference = parsed.get("reference_group")
    if reference_group is None and "reference_group" not in problems:
        if sex_defaults and disadvantaged in (None, DEFAULT_DISADVANTAGED_GROUP):
            reference = DEFAULT_REFERENCE_GROUP
        else:
            problems["reference_group"] = (
                f"is required for {schema.name}: give the group the disadvantaged one is compared with as "
                "ATTRIBUTE=VALUE, another value of the same attribute"
            )
    if disadvantaged is not None and reference is not None:
        problems.update(
            synthetic_groups_check(
                schema=schema, values=values, disadvantaged_group=disadvantaged, reference_group=reference
            )
        )
    if problems or disadvantaged is None or reference is None:
        raise SyntheticParametersError(problems)
    return disadvantaged, reference


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
    """ProtectedAttributes fields, and the schema's own protected columns, of independently resampled rows.

    Each distinct reference value is mapped once by the schema (labels, split, age bands; a column
    without `maps_to` under its own name), exactly as the data-set loader maps it, then broadcast to
    the sampled rows. A value the loader would leave out (missing) is missing here.
    """
    rows = rng.integers(0, len(reference), size)
    columns: dict[str, pd.Categorical | pd.api.extensions.ExtensionArray] = {}
    for codes, mapped in _protected_levels(reference, schema, []):
        for name in dict.fromkeys(name for fields in mapped for name in fields):
            level_values = [fields.get(name) for fields in mapped]
            present = [value for value in level_values if value is not None]
            if present and all(isinstance(value, int | float) and not isinstance(value, bool) for value in present):
                integral = all(float(value).is_integer() for value in present)
                levels = pd.array(level_values, dtype="Int64" if integral else "Float64")
                columns[name] = levels.take(codes[rows])
            else:
                texts = np.asarray([_value_text(value) or None for value in level_values], dtype=object)
                columns[name] = pd.Categorical(texts[codes[rows]])
    return pd.DataFrame(columns)


def group_members(protected: pd.DataFrame, group: Group) -> np.ndarray:
    """Which applicants are in a group, comparing values as flags name them (2 and "2" alike)."""
    attribute, value = group
    if attribute not in protected.columns:
        return np.zeros(len(protected), dtype=bool)
    codes, uniques = pd.factorize(protected[attribute])
    matches = np.append(np.asarray([_value_text(unique) == value for unique in uniques], dtype=bool), False)
    return matches[codes]  # a missing value's code, -1, picks the appended False


def term_months_of(features: pd.DataFrame, schema: DatasetSchema) -> pd.api.extensions.ExtensionArray:
    """Each application's term: its term feature, else the schema's default term; missing for open-ended credit."""
    term_spec = schema.mapped_to("term_months")
    if term_spec is not None:
        return pd.array(features[term_spec.name].to_numpy(), dtype="Int64")
    return pd.array([schema.default_term_months] * len(features), dtype="Int64")


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
    months_followed: np.ndarray,
    decided_at: np.ndarray,
    days_past_due: int,
) -> pd.DataFrame:
    """True default for everyone; a funded loan and its final repayment status for approved ones.

    A default falls in a month of the months followed (the term, or the horizon of open-ended credit)
    and is recorded once `days_past_due` have passed, the schema's definition of default.
    """
    size = len(approved)
    defaulted = rng.random(size) < probability_of_default
    funded_on = decided_at.astype("datetime64[D]") + rng.integers(0, 15, size).astype("timedelta64[D]")
    missed_month = rng.integers(1, np.maximum(months_followed, 1) + 1)
    default_days = np.rint(missed_month * DAYS_PER_MONTH).astype(np.int64) + days_past_due
    maturity_days = np.rint(months_followed * DAYS_PER_MONTH).astype(np.int64)
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
            "days_past_due": np.where(approved & defaulted, days_past_due, 0),
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
    schema: DatasetSchema,
    disadvantaged_group: Group,
    reference_group: Group,
    transaction_accounts: int | None = None,
) -> SyntheticPopulation:
    """Draw N applicants with one application each, decisions with planted bias, outcomes and histories.

    `reference` is the schema's data set as `reference_load` reads it; the bias is planted against
    `disadvantaged_group` and measured against `reference_group` (see `synthetic_groups_check`).
    Each part has its own random stream derived from the seed, so the same seed gives identical data,
    and changing the number of transaction accounts leaves the applications unchanged.
    """
    problems = synthetic_parameters_check(
        applications=applications, seed=seed, bias=bias, transaction_accounts=transaction_accounts
    )
    problems |= synthetic_groups_check(
        schema=schema,
        values=group_values(reference=reference, schema=schema),
        disadvantaged_group=disadvantaged_group,
        reference_group=reference_group,
    )
    if problems:
        raise SyntheticParametersError(problems)
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
    disadvantaged = group_members(protected, disadvantaged_group)
    decisions = _decisions_draw(decision_rng, probability_of_default, cutoff, disadvantaged, bias, submitted_at)
    definition = schema.default_definition
    horizon = definition.horizon_months or OPEN_ENDED_HORIZON_MONTHS
    months_followed = term_months_of(features, schema).to_numpy(dtype=np.int64, na_value=horizon)
    outcomes = _outcomes_draw(
        outcome_rng,
        probability_of_default,
        decisions["approved"].to_numpy(),
        months_followed,
        decisions["decided_at"].to_numpy(),
        definition.days_past_due,
    )
    accounts, transactions = _transactions_draw(transactions_rng, accounts_count, submitted_at)

    return SyntheticPopulation(
        dataset=schema.name,
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
        disadvantaged_group=disadvantaged_group,
        reference_group=reference_group,
    )
