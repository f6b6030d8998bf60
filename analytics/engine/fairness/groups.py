"""Protected groups as integer codes, and the cells every fairness statistic is counted over.

Each row falls in one cell: its group under every protected attribute (or "not known"), its decision,
its repayment outcome and its score band. Every count the engine reports is a sum of cell counts, so
statistics for single attributes and for their intersections are all read from one table, and the
bootstrap resamples cells instead of rows (see `bootstrap.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import sparse

from finai.errors import ApplicationError

GROUP_SEPARATOR = " | "
OUTCOME_REPAID, OUTCOME_DEFAULTED, OUTCOME_UNKNOWN = 0, 1, 2
OUTCOME_STATES = 3
DECISION_STATES = 2
# Above this many possible cells the ids are compacted by sorting instead of by a counting array.
DENSE_CELL_SPACE = 1 << 22


@dataclass(frozen=True)
class Attribute:
    """One protected attribute: its group labels and each row's code (-1 where not known)."""

    name: str
    labels: tuple[str, ...]
    codes: np.ndarray


def attributes_encode(protected: pd.DataFrame) -> list[Attribute]:
    """Integer codes per protected column, groups in sorted label order; missing values are -1."""
    attributes = []
    for name in protected.columns:
        codes, uniques = pd.factorize(protected[name], sort=True)
        attributes.append(
            Attribute(name=str(name), labels=tuple(str(u) for u in uniques), codes=codes.astype(np.int64))
        )
    return attributes


@dataclass(frozen=True)
class Cells:
    """The non-empty cells: which one each row is in, their sizes, and what each cell stands for.

    `group_codes` is (cells, attributes) with -1 for "not known"; `approved`, `outcome` and `band`
    are per cell.
    """

    of_row: np.ndarray
    counts: np.ndarray
    group_codes: np.ndarray
    approved: np.ndarray
    outcome: np.ndarray
    band: np.ndarray
    bands: int

    def __len__(self) -> int:
        return len(self.counts)


def cells_build(
    *, attributes: list[Attribute], approved: np.ndarray, outcome: np.ndarray, band: np.ndarray, bands: int
) -> Cells:
    """Cells from per-row codes, by mixed-radix ids (a counting array when small, a sort otherwise)."""
    radices = [len(a.labels) + 1 for a in attributes] + [DECISION_STATES, OUTCOME_STATES, bands]
    components = [a.codes + 1 for a in attributes] + [approved, outcome, band]
    space = int(np.prod(np.array(radices, dtype=np.float64)))
    if space >= np.iinfo(np.int64).max / 2:
        raise ApplicationError(
            "Too many protected groups to count together.",
            details={"protected": "the product of the attributes' group counts is too large; band or merge groups"},
            code="invalid_fairness_input",
        )
    cell_id = np.zeros(len(approved), dtype=np.int64)
    for radix, component in zip(radices, components, strict=True):
        cell_id = cell_id * radix + component
    if space <= max(DENSE_CELL_SPACE, 4 * len(cell_id)):
        full_counts = np.bincount(cell_id, minlength=space)
        ids = np.flatnonzero(full_counts)
        compact = np.zeros(space, dtype=np.int64)
        compact[ids] = np.arange(len(ids))
        of_row, counts = compact[cell_id], full_counts[ids]
    else:
        ids, of_row, counts = np.unique(cell_id, return_inverse=True, return_counts=True)
    decoded = []
    remainder = ids
    for radix in reversed(radices):
        decoded.append(remainder % radix)
        remainder = remainder // radix
    decoded.reverse()
    group_codes = np.stack(decoded[: len(attributes)], axis=1) - 1
    return Cells(
        of_row=of_row.astype(np.int64),
        counts=counts.astype(np.int64),
        group_codes=group_codes.astype(np.int64),
        approved=decoded[-3],
        outcome=decoded[-2],
        band=decoded[-1],
        bands=bands,
    )


@dataclass(frozen=True)
class View:
    """One way of grouping applicants: a single attribute or an intersection of several.

    `cell_group` maps each cell to a group index, -1 where any of the attributes is not known.
    """

    name: str
    attributes: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    cell_group: np.ndarray

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(GROUP_SEPARATOR.join(key) for key in self.keys)

    def aggregator(self, cells: Cells, *, states: np.ndarray | None = None, state_count: int = 1) -> sparse.csr_matrix:
        """A (cells x groups*states) 0/1 matrix: cell resample counts times it give group tables."""
        member = self.cell_group >= 0
        state = np.zeros(len(cells), dtype=np.int64) if states is None else states
        columns = self.cell_group[member] * state_count + state[member]
        return sparse.csr_matrix(
            (np.ones(int(member.sum())), (np.flatnonzero(member), columns)),
            shape=(len(cells), len(self.keys) * state_count),
        )


def views_build(
    *, attributes: list[Attribute], cells: Cells, intersections: bool | tuple[tuple[str, ...], ...]
) -> list[View]:
    """Each attribute alone, then the intersections asked for (True: every combination of two or more)."""
    names = [a.name for a in attributes]
    if intersections is True:
        combos = [c for size in range(2, len(names) + 1) for c in combinations(range(len(names)), size)]
    elif intersections is False:
        combos = []
    else:
        unknown = sorted({n for combo in intersections for n in combo} - set(names))
        if unknown:
            raise ApplicationError(
                "An intersection names an attribute that is not among the protected columns.",
                details={"intersections": f"unknown attributes {', '.join(unknown)}"},
                code="invalid_fairness_input",
            )
        combos = [tuple(names.index(n) for n in combo) for combo in intersections]
    views = []
    for combo in [(index,) for index in range(len(names))] + list(combos):
        codes = cells.group_codes[:, list(combo)]
        known = (codes >= 0).all(axis=1)
        unique_codes, inverse = np.unique(codes[known], axis=0, return_inverse=True)
        cell_group = np.full(len(cells), -1, dtype=np.int64)
        cell_group[known] = inverse.ravel()
        keys = tuple(tuple(attributes[a].labels[c] for a, c in zip(combo, row, strict=True)) for row in unique_codes)
        views.append(
            View(
                name=" & ".join(names[a] for a in combo),
                attributes=tuple(names[a] for a in combo),
                keys=keys,
                cell_group=cell_group,
            )
        )
    return views
