"""Read any lender's decisions file through its dataset schema, ready for a fairness audit.

"Bring your own decisions": a compliance officer audits an uploaded file with no code changes, so
the schema (`data/schemas/*.yaml`) says which column is the decision, which are protected and which
are credit factors. Cells are parsed exactly as the loader parses them (`ColumnSpec.parse`: codes
such as HMDA's "5.0" read as "5", `missing` values become not known), and every bad cell is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.engine.dataset_schema import ColumnSpec, DatasetSchema, code_normalise
from finai.errors import ApplicationError

MAX_PROBLEMS = 500  # every problem of a realistic file in one run; beyond this only the count
ROWS_PER_PROBLEM = 3
# Fields that hold a number, not a group: they are banded (age_band) before they can be audited.
UNGROUPED_FIELDS = frozenset({"age_years"})


@dataclass(frozen=True)
class DecisionsData:
    """Decisions (1 approved, 0 denied), protected groups by ProtectedAttributes field, and features."""

    schema_name: str
    approved: np.ndarray
    protected: pd.DataFrame
    features: pd.DataFrame

    def __len__(self) -> int:
        return len(self.approved)


def _parsed(raw: pd.Series, spec: ColumnSpec, problems: dict[str, str]) -> pd.Series:
    """Each distinct cell parsed once, then mapped back; bad cells named as "row N, column"."""
    values: dict[str, Any] = {}
    for text in raw.unique():
        try:
            values[text] = spec.parse(text)
        except ValueError as exc:
            for row in np.flatnonzero((raw == text).to_numpy())[:ROWS_PER_PROBLEM]:
                if len(problems) < MAX_PROBLEMS:
                    problems[f"row {row + 1}, {spec.name}"] = str(exc)
    return raw.map(values)


def _decisions(raw: pd.Series, spec: ColumnSpec, schema: DatasetSchema, problems: dict[str, str]) -> np.ndarray:
    """1 where the cell is the schema's approve label, 0 where declined; any other value is a problem."""
    parsed = _parsed(raw, spec, problems).astype("string").fillna("")
    normalised = parsed.map(code_normalise)
    approved = (parsed == schema.approve_label) | (normalised == schema.approve_label)
    declined = ~approved
    if schema.decline_label is not None:
        declined = (parsed == schema.decline_label) | (normalised == schema.decline_label)
    declined &= parsed != ""
    for row in np.flatnonzero((~approved & ~declined).to_numpy())[:ROWS_PER_PROBLEM]:
        problems[f"row {row + 1}, {spec.name}"] = (
            f"{raw.iloc[row]!r} is neither the approve label {schema.approve_label!r} nor the decline label "
            f"{schema.decline_label!r}"
        )
    return approved.to_numpy().astype(np.int64)


def _protected_fields(parsed: pd.Series, spec: ColumnSpec, problems: dict[str, str]) -> dict[str, pd.Series]:
    """The ProtectedAttributes fields one column fills (split into parts, ages banded)."""
    fields: dict[str, dict[Any, Any]] = {}
    for value in parsed.dropna().unique():
        try:
            filled = spec.protected_values(value)
        except ValueError as exc:
            row = int(np.flatnonzero((parsed == value).to_numpy())[0])
            problems[f"row {row + 1}, {spec.name}"] = str(exc)
            continue
        for name, part in filled.items():
            if name not in UNGROUPED_FIELDS:
                fields.setdefault(name, {})[value] = str(part)
    return {name: parsed.map(mapping).astype("string") for name, mapping in fields.items()}


def decisions_file_read(*, path: str | Path, schema: DatasetSchema) -> DecisionsData:
    """A decisions file as arrays and frames; refuses the whole file, naming every bad cell."""
    if schema.kind != "decisions" or schema.decision is None:
        raise ApplicationError(
            "This schema describes repayment outcomes, not decisions.",
            details={"schema": f"{schema.name!r} has no decision column; audit a model version's holdout instead"},
            code="invalid_decisions_file",
        )
    try:
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, sep=schema.delimiter, encoding="utf-8-sig", skipinitialspace=False
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ApplicationError(
            "The decisions file cannot be read.", details={"file": str(exc)}, code="invalid_decisions_file"
        ) from exc
    problems: dict[str, str] = {}
    absent = [spec.name for spec in schema.columns if spec.role != "ignored" and spec.name not in raw.columns]
    for name in absent:
        problems[f"header, {name}"] = "column named in the schema is not in the file"
    # The columns present are checked even when others are missing: every problem is reported in one run.
    decision = schema.decision.name
    approved = _decisions(raw[decision], schema.decision, schema, problems) if decision in raw.columns else np.zeros(0)
    protected: dict[str, pd.Series] = {}
    for spec in schema.protected:
        if spec.name in raw.columns:
            protected |= _protected_fields(_parsed(raw[spec.name], spec, problems), spec, problems)
    features = {}
    for spec in schema.features:
        if spec.name not in raw.columns:
            continue
        parsed = _parsed(raw[spec.name], spec, problems)
        features[spec.name] = pd.to_numeric(parsed) if spec.type == "numeric" else parsed.astype("string")
    if problems:
        raise ApplicationError(
            f"The decisions file has {len(problems)} problem(s); nothing was audited.",
            details=problems,
            code="invalid_decisions_file",
        )
    if not len(raw):
        raise ApplicationError(
            "The decisions file has no rows.", details={"file": "is empty"}, code="invalid_decisions_file"
        )
    return DecisionsData(
        schema_name=schema.name,
        approved=approved,
        protected=pd.DataFrame(protected, index=raw.index),
        features=pd.DataFrame(features, index=raw.index),
    )
