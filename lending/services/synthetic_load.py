"""Load a seeded synthetic lending population, drawn from any outcomes data set, into the system of record.

The data set is named, never assumed: its schema says which columns are features, which are protected
(and so which groups the bias may be planted against), where the amount and term come from, and what
a default is. Fairness tooling is checked against the disparity planted by `lending.synthetic` at
10^6 rows, so the load must take minutes, not hours: Postgres gets COPY in chunks, SQLite (demo
machines) executemany; never one save per row. Ids of rows that others point at are reserved up
front, so foreign keys line up across tables without reading anything back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, models, transaction

from analytics.engine.dataset_schema import DatasetSchema
from analytics.services.dataset_schemas import dataset_schema_get
from finai.bulk import frame_copy, frame_executemany
from finai.errors import ApplicationError
from finai.services import audit_event_record
from lending.models import (
    Applicant,
    BankAccount,
    Decision,
    Loan,
    LoanApplication,
    ProtectedAttributes,
    RepaymentOutcome,
    Transaction,
)
from lending.synthetic import (
    SyntheticParametersError,
    SyntheticPopulation,
    group_parse,
    group_text,
    group_values,
    reference_load,
    synthetic_groups_resolve,
    synthetic_parameters_check,
    synthetic_population,
    term_months_of,
)

SOURCE = "synthetic"
DEFAULT_BATCH_SIZE = 100_000


@dataclass(frozen=True)
class SyntheticDataLoad:
    """What one run stored, how long each half took, and the answer fairness tools should find."""

    dataset: str
    seed: int
    bias: float
    counts: dict[str, int]
    planted_adverse_impact_ratio: float
    disadvantaged_group: str
    reference_group: str
    policy_version: str
    generation_seconds: float
    load_seconds: float


def synthetic_reference_prefix(seed: int) -> str:
    """References of one seed's applicants, applications and accounts all start with this."""
    return f"{SOURCE}-{seed}-"


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _ids_reserve(model: type[models.Model], count: int) -> np.ndarray:
    """Ids for rows that other tables reference, taken before inserting them.

    Postgres draws them from the table's own sequence, so concurrent writers never collide. SQLite
    has one writer at a time (transactions take the write lock at BEGIN), so the next ids after the
    highest ever used are free.
    """
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    table = _table(model)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), count],
            )
            return np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64, count=count)
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
        highest = max(highest, cursor.fetchone()[0])
    return np.arange(highest + 1, highest + 1 + count, dtype=np.int64)


def _as_text(field: models.Field, values: np.ndarray) -> np.ndarray:
    """Dates as YYYY-MM-DD; timestamps (UTC) as Django stores them on each back-end."""
    if not isinstance(field, models.DateTimeField):
        return np.datetime_as_string(values.astype("datetime64[D]"), unit="D")
    stamps = np.char.replace(np.datetime_as_string(values.astype("datetime64[s]"), unit="s"), "T", " ")
    return np.char.add(stamps, "+00:00") if connection.vendor == "postgresql" else stamps


def _rows_insert(model: type[models.Model], frame: pd.DataFrame) -> int:
    """Append a frame whose columns are the table's column names; COPY on Postgres."""
    if frame.empty:
        return 0
    frame = frame.copy()
    fields = {field.column: field for field in model._meta.concrete_fields}
    for column in frame.columns:
        if frame[column].dtype.kind == "M":
            frame[column] = _as_text(fields[column], frame[column].to_numpy())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            frame_copy(cursor=cursor, table=_table(model), frame=frame)
        else:
            frame_executemany(cursor=cursor, table=_table(model), frame=frame)
    return len(frame)


def _other_json(protected: pd.DataFrame) -> np.ndarray:
    """The `other` mapping of each applicant: the schema's own protected columns, a missing value left out.

    As the data-set loader stores them; serialised once per distinct combination, not per row.
    """
    if protected.columns.empty:
        return np.full(len(protected), "{}", dtype=object)
    combination = protected.groupby(list(protected.columns), dropna=False, observed=True, sort=False).ngroup()
    first_rows = np.unique(combination.to_numpy(), return_index=True)[1]
    texts = []
    for row in protected.iloc[first_rows].itertuples(index=False):
        fields = {name: value for name, value in zip(protected.columns, row, strict=True) if not pd.isna(value)}
        texts.append(
            json.dumps(
                {name: value.item() if isinstance(value, np.generic) else value for name, value in fields.items()}
            )
        )
    return np.asarray(texts, dtype=object)[combination.to_numpy()]


def _features_json(features: pd.DataFrame) -> list[str]:
    """One JSON object per application, serialised by pandas in C (json.dumps per row is slower)."""
    lines = features.to_json(orient="records", lines=True).splitlines()
    if len(lines) != len(features):
        raise RuntimeError("feature serialisation produced the wrong number of rows")
    return lines


def _applications_load(
    population: SyntheticPopulation, start: int, stop: int, ids: dict[str, np.ndarray], schema: DatasetSchema
) -> dict[str, int]:
    """One batch of applicants with their protected attributes, applications, decisions and loans."""
    size = stop - start
    applicant_ids = ids["applicants"][start:stop]
    application_ids = ids["applications"][start:stop]
    references = population.applicants["reference"].iloc[start:stop].to_numpy()
    applications = population.applications.iloc[start:stop]
    protected = population.protected.iloc[start:stop]
    decisions = population.decisions.iloc[start:stop]
    outcomes = population.outcomes.iloc[start:stop]
    submitted_at = applications["submitted_at"].to_numpy()
    decided_at = decisions["decided_at"].to_numpy()
    approved = decisions["approved"].to_numpy()
    amount = applications[schema.mapped_to("amount").name].to_numpy(dtype=float)
    term_months = term_months_of(applications, schema)  # missing (NULL) for open-ended credit
    purpose = schema.mapped_to("purpose")

    counts = {
        "applicants": _rows_insert(
            Applicant,
            pd.DataFrame(
                {
                    "id": applicant_ids,
                    "reference": references,
                    "full_name": "",
                    "email": "",
                    "source": SOURCE,
                    "created_at": submitted_at,
                }
            ),
        )
    }
    own = [name for name in schema.own_attributes if name in protected.columns]  # all missing: no column
    protected_frame = pd.DataFrame({"applicant_id": applicant_ids})
    for field in ProtectedAttributes._meta.concrete_fields:
        if field.name == "other":
            protected_frame[field.column] = _other_json(protected[own])
        elif field.name in protected.columns and field.name not in own:
            values = protected[field.name]
            # A value the schema leaves unknown: blank text (as the loader stores it), or NULL for a number.
            protected_frame[field.column] = (
                values.to_numpy() if field.null else values.astype(object).where(values.notna(), "").to_numpy()
            )
        elif field.name not in ("id", "applicant"):
            protected_frame[field.column] = ""
    counts["protected_attributes"] = _rows_insert(ProtectedAttributes, protected_frame)
    counts["applications"] = _rows_insert(
        LoanApplication,
        pd.DataFrame(
            {
                "id": application_ids,
                "reference": references,
                "applicant_id": applicant_ids,
                "channel": LoanApplication.Channel.SYNTHETIC.value,
                "product": schema.product,
                "amount": amount,
                "term_months": term_months,
                "purpose": applications[purpose.name].astype(str).to_numpy() if purpose else "",
                "features": _features_json(applications[list(population.feature_columns)]),
                "status": np.where(approved, LoanApplication.Status.FUNDED.value, LoanApplication.Status.DECIDED.value),
                "submitted_at": submitted_at,
                "updated_at": decided_at,
            }
        ),
    )
    counts["decisions"] = _rows_insert(
        Decision,
        pd.DataFrame(
            {
                "application_id": application_ids,
                "is_shadow": np.zeros(size, dtype=bool),
                "outcome": np.where(approved, Decision.Outcome.APPROVE.value, Decision.Outcome.DECLINE.value),
                "probability_of_default": decisions["probability_of_default"].to_numpy(),
                "reasons": "[]",
                "feature_vector": "{}",
                "outside_training_range": "[]",
                "policy_version": population.policy_version,
                "decided_at": decided_at,
            }
        ),
    )
    funded = np.flatnonzero(approved)
    loan_ids = ids["loans"][ids["loan_offsets"][start] : ids["loan_offsets"][start] + len(funded)]
    funded_on = outcomes["funded_on"].to_numpy()[funded]
    as_of = outcomes["as_of"].to_numpy()[funded]
    counts["loans"] = _rows_insert(
        Loan,
        pd.DataFrame(
            {
                "id": loan_ids,
                "application_id": application_ids[funded],
                "principal": amount[funded],
                "term_months": term_months[funded],
                "funded_on": funded_on,
            }
        ),
    )
    counts["repayment_outcomes"] = _rows_insert(
        RepaymentOutcome,
        pd.DataFrame(
            {
                "loan_id": loan_ids,
                "status": outcomes["status"].astype(str).to_numpy()[funded],
                "days_past_due": outcomes["days_past_due"].to_numpy()[funded],
                "as_of": as_of,
                "recorded_at": as_of,
            }
        ),
    )
    return counts


def _bank_histories_load(population: SyntheticPopulation, applicant_ids: np.ndarray, batch_size: int) -> dict[str, int]:
    accounts = population.accounts
    account_ids = _ids_reserve(BankAccount, len(accounts))
    prefix = synthetic_reference_prefix(population.seed)
    counts = {
        "bank_accounts": _rows_insert(
            BankAccount,
            pd.DataFrame(
                {
                    "id": account_ids,
                    "applicant_id": applicant_ids[accounts["applicant"].to_numpy()],
                    "reference": [f"{prefix}{number}" for number in range(len(accounts))],
                    "opened_on": accounts["opened_on"].to_numpy(),
                    "source": SOURCE,
                }
            ),
        ),
        "transactions": 0,
    }
    transactions = population.transactions
    for start in range(0, len(transactions), batch_size):
        batch = transactions.iloc[start : start + batch_size]
        counts["transactions"] += _rows_insert(
            Transaction,
            pd.DataFrame(
                {
                    "account_id": account_ids[batch["account"].to_numpy()],
                    "reference": "",
                    "booked_on": batch["booked_on"].to_numpy(),
                    "amount": batch["amount_cents"].to_numpy() / 100,
                    "balance": batch["balance_cents"].to_numpy() / 100,
                    "kind": batch["kind"].astype(str).to_numpy(),
                    "operation": batch["operation"].astype(str).to_numpy(),
                    "category": batch["category"].astype(str).to_numpy(),
                }
            ),
        )
    return counts


def _schema_problems(dataset: str | Path) -> tuple[DatasetSchema | None, dict[str, str]]:
    """The named data set's schema, or why there is none; either way a problem is the `dataset` parameter's."""
    try:
        schema = dataset_schema_get(dataset)
    except ApplicationError as exc:
        return None, {"dataset": "; ".join([exc.message, *exc.details.values()])}
    if schema.kind != "outcomes":
        return None, {
            "dataset": f"{schema.name} records {schema.kind}, not repayment outcomes: there is no default to draw from"
        }
    if schema.mapped_to("amount") is None:
        return None, {
            "dataset": f"no feature of {schema.name} maps_to amount (the loan amount every application records)"
        }
    return schema, {}


def _reference_problems(schema: DatasetSchema, reference: pd.DataFrame) -> dict[str, str]:
    """Values the tables cannot hold: an amount at or below 0, a protected value longer than its field."""
    problems = []
    amount = schema.mapped_to("amount")
    if amount is not None and (reference[amount.name] <= 0).any():
        problems.append(f"column {amount.name}: loan amounts must be above 0")
    for name, values in group_values(reference=reference, schema=schema).items():
        if name in schema.own_attributes:
            continue
        limit = ProtectedAttributes._meta.get_field(name).max_length
        if limit and (longest := max(values, key=len, default="")) and len(longest) > limit:
            problems.append(f"{name} {longest!r} is longer than {limit} characters")
    return {"reference_file": "; ".join(problems)} if problems else {}


def synthetic_data_generate(
    *,
    dataset: str | Path,
    applications: int,
    seed: int,
    bias: float = 0.0,
    reference_file: str | Path | None = None,
    disadvantaged_group: str | None = None,
    reference_group: str | None = None,
    transaction_accounts: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: Any = None,
) -> SyntheticDataLoad:
    """Generate a population from a data set (see `lending.synthetic`) and store it in one transaction, audited.

    `dataset` is a data set's name or a schema file's path; the reference rows are the schema's file
    unless `reference_file` names another. The groups are ATTRIBUTE=VALUE (`sex=female` against
    `sex=male`), of one of the schema's group attributes; they may be left out only where the data set
    records sex as female and male. Every problem is named at once, by parameter.

    A seed's data is stored once: references are "synthetic-<seed>-<i>", and a seed that already
    has data is refused rather than duplicated. Protected attributes go only to ProtectedAttributes
    (ECOA / Regulation B); historical decisions carry policy "synthetic:bias=B" and no model version.
    """
    problems = synthetic_parameters_check(
        applications=applications, seed=seed, bias=bias, transaction_accounts=transaction_accounts
    )
    if batch_size < 1:
        problems["batch_size"] = f"must be at least 1 (got {batch_size})"
    schema, dataset_problems = _schema_problems(dataset)
    if schema is None:  # the groups' attributes and values cannot be checked without it, only their form
        for name, text in (("disadvantaged_group", disadvantaged_group), ("reference_group", reference_group)):
            try:
                if text is not None:
                    group_parse(text)
            except ValueError as exc:
                dataset_problems[name] = str(exc)
        raise ApplicationError("The synthetic data parameters are invalid.", details=problems | dataset_problems)
    reference = None
    try:
        reference = reference_load(schema, reference_file)
    except SyntheticParametersError as exc:
        problems |= exc.problems
    else:
        problems |= _reference_problems(schema, reference)
    try:
        groups = synthetic_groups_resolve(
            schema=schema,
            values=group_values(reference=reference, schema=schema) if reference is not None else None,
            disadvantaged_group=disadvantaged_group,
            reference_group=reference_group,
        )
    except SyntheticParametersError as exc:
        problems |= exc.problems
    if problems or reference is None:
        raise ApplicationError("The synthetic data parameters are invalid.", details=problems)
    prefix = synthetic_reference_prefix(seed)
    existing = Applicant.objects.filter(reference__startswith=prefix).count()
    if existing:
        raise ApplicationError(
            f"Synthetic data for seed {seed} already exists; nothing was added.",
            details={"seed": f"{existing} applicants with references {prefix}* are stored; choose another seed"},
            code="already_exists",
        )

    started = time.monotonic()
    population = synthetic_population(
        applications=applications,
        seed=seed,
        bias=bias,
        reference=reference,
        schema=schema,
        disadvantaged_group=groups[0],
        reference_group=groups[1],
        transaction_accounts=transaction_accounts,
    )
    generated = time.monotonic()

    counts: dict[str, int] = {}
    with transaction.atomic():
        approved = population.decisions["approved"].to_numpy()
        ids = {
            "applicants": _ids_reserve(Applicant, applications),
            "applications": _ids_reserve(LoanApplication, applications),
            "loans": _ids_reserve(Loan, int(approved.sum())),
            "loan_offsets": np.r_[0, np.cumsum(approved)],
        }
        for start in range(0, applications, batch_size):
            batch = _applications_load(population, start, min(start + batch_size, applications), ids, schema)
            for name, count in batch.items():
                counts[name] = counts.get(name, 0) + count
        counts.update(_bank_histories_load(population, ids["applicants"], batch_size))
        disadvantaged, compared_with = (
            group_text(population.disadvantaged_group),
            group_text(population.reference_group),
        )
        audit_event_record(
            action="synthetic_data.generated",
            actor=actor,
            object_type="synthetic_data",
            object_id=seed,
            payload={
                "dataset": schema.name,
                "seed": seed,
                "bias": bias,
                "policy_version": population.policy_version,
                "planted_adverse_impact_ratio": population.planted_adverse_impact_ratio,
                "disadvantaged_group": disadvantaged,
                "reference_group": compared_with,
                "counts": counts,
            },
        )
    return SyntheticDataLoad(
        dataset=schema.name,
        seed=seed,
        bias=bias,
        counts=counts,
        planted_adverse_impact_ratio=population.planted_adverse_impact_ratio,
        disadvantaged_group=disadvantaged,
        reference_group=compared_with,
        policy_version=population.policy_version,
        generation_seconds=generated - started,
        load_seconds=time.monotonic() - generated,
    )
