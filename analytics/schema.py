"""Dataset schemas: which column of a lending data set plays which role.

A schema is a small YAML file (see `data/schemas/`), so a new data set loads, trains and is audited
without code changes. Protected columns are named here once and every consumer honours it: the
feature pipeline refuses them (ECOA / Regulation B), the loader stores them apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "schemas"

Role = Literal["id", "feature", "target", "decision", "protected", "ignored"]
ColumnType = Literal["numeric", "categorical"]
ROLES: tuple[str, ...] = ("id", "feature", "target", "decision", "protected", "ignored")
TYPES: tuple[str, ...] = ("numeric", "categorical")
MONOTONE: tuple[str, ...] = ("increasing", "decreasing")


class SchemaError(ValueError):
    """A schema file that cannot be used, with every problem listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its role, type and, where relevant, how it maps onto FinAI's record.

    `monotone` is the direction of default risk as the value rises (features only).
    `maps_to` names the field a value lands in: for features `amount`, `term_months` or `purpose`
    (they are also kept as features); for protected columns a ProtectedAttributes field, or a list
    of fields when `split` divides one value into parts (German credit's "male : single").
    `labels` translates codes to readable values (HMDA race codes); `missing` lists values that mean
    "not known".
    """

    name: str
    role: Role
    type: ColumnType = "categorical"
    monotone: str | None = None
    maps_to: str | tuple[str, ...] | None = None
    split: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    bands: tuple[float, ...] = ()


@dataclass(frozen=True)
class DatasetSchema:
    """A whole data set's layout.

    `kind` is `outcomes` when the target is repayment (default or not: models can learn from it) or
    `decisions` when the file records a lender's approve/deny decisions (auditable, not for training).
    """

    name: str
    kind: Literal["outcomes", "decisions"]
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    file: str | None = None
    delimiter: str = ","
    positive_label: str | None = None
    approve_label: str | None = None
    provenance: str = ""

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def with_role(self, role: Role) -> tuple[ColumnSpec, ...]:
        return tuple(spec for spec in self.columns if spec.role == role)

    @property
    def features(self) -> tuple[ColumnSpec, ...]:
        return self.with_role("feature")

    @property
    def protected(self) -> tuple[ColumnSpec, ...]:
        return self.with_role("protected")

    @property
    def protected_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.protected)

    @property
    def target(self) -> ColumnSpec | None:
        found = self.with_role("target")
        return found[0] if found else None

    @property
    def decision(self) -> ColumnSpec | None:
        found = self.with_role("decision")
        return found[0] if found else None

    @property
    def id_column(self) -> ColumnSpec | None:
        found = self.with_role("id")
        return found[0] if found else None

    def resolve_file(self) -> Path:
        if not self.file:
            raise SchemaError([f"schema {self.name!r} names no data file; pass one explicitly"])
        return (SCHEMA_DIR.parent.parent / self.file).resolve()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with data snapshots for lineage."""
        return {
            "name": self.name,
            "kind": self.kind,
            "positive_label": self.positive_label,
            "approve_label": self.approve_label,
            "columns": [{"name": c.name, "role": c.role, "type": c.type, "monotone": c.monotone} for c in self.columns],
        }


def _column_from(name: str, raw: Any, problems: list[str]) -> ColumnSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"column {name!r}: expected a mapping with at least a role")
        return None
    role, kind, monotone = raw.get("role"), raw.get("type", "categorical"), raw.get("monotone")
    if role not in ROLES:
        problems.append(f"column {name!r}: role must be one of {', '.join(ROLES)} (got {role!r})")
    if kind not in TYPES:
        problems.append(f"column {name!r}: type must be one of {', '.join(TYPES)} (got {kind!r})")
    if monotone is not None and (role != "feature" or monotone not in MONOTONE):
        problems.append(f"column {name!r}: monotone must be increasing or decreasing, on a feature only")
    maps_to = raw.get("maps_to")
    if isinstance(maps_to, list):
        maps_to = tuple(maps_to)
    return ColumnSpec(
        name=name,
        role=role,
        type=kind,
        monotone=monotone,
        maps_to=maps_to,
        split=raw.get("split"),
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        missing=tuple(str(v) for v in raw.get("missing", ())),
        bands=tuple(float(v) for v in raw.get("bands", ())),
    )


def schema_from_dict(raw: Any) -> DatasetSchema:
    """Build and validate a schema; every problem is reported at once."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise SchemaError(["a schema must be a mapping with name, kind and columns"])
    name, kind = raw.get("name"), raw.get("kind")
    if not name:
        problems.append("name is required")
    if kind not in ("outcomes", "decisions"):
        problems.append(f"kind must be outcomes or decisions (got {kind!r})")
    raw_columns = raw.get("columns")
    if not isinstance(raw_columns, dict) or not raw_columns:
        problems.append("columns must map each column name to its role")
        raw_columns = {}
    columns = tuple(c for n, r in raw_columns.items() if (c := _column_from(str(n), r, problems)))
    roles = [c.role for c in columns]
    if kind == "outcomes" and roles.count("target") != 1:
        problems.append("an outcomes schema needs exactly one target column")
    if kind == "decisions" and roles.count("decision") != 1:
        problems.append("a decisions schema needs exactly one decision column")
    if "feature" not in roles:
        problems.append("at least one feature column is required")
    if kind == "outcomes" and raw.get("positive_label") is None:
        problems.append("positive_label (the target value that means default) is required")
    if kind == "decisions" and raw.get("approve_label") is None:
        problems.append("approve_label (the decision value that means approved) is required")
    if problems:
        raise SchemaError(problems)
    return DatasetSchema(
        name=str(name),
        kind=kind,
        columns=columns,
        description=str(raw.get("description", "")),
        file=raw.get("file"),
        delimiter=str(raw.get("delimiter", ",")),
        positive_label=None if raw.get("positive_label") is None else str(raw["positive_label"]),
        approve_label=None if raw.get("approve_label") is None else str(raw["approve_label"]),
        provenance=str(raw.get("provenance", "")),
    )


def schema_load(name_or_path: str | Path) -> DatasetSchema:
    """Load a schema by file path, or by name from `data/schemas/`."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCHEMA_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise SchemaError([f"no schema file at {path}"])
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SchemaError([f"{path.name} is not valid YAML: {exc}"]) from exc
    return schema_from_dict(raw)
