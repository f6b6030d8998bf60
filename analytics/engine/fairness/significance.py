"""Is a group's approval rate different from the reference group's by more than chance?

Each group is compared with the reference in a 2x2 table (approved / denied x group / reference).
Pearson's chi-square is accurate only when every expected count is large enough (5 by the usual
rule); below that Fisher's exact test is used, as examiners expect for small groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import chi2, fisher_exact

from analytics.engine.fairness.estimates import to_json


@dataclass(frozen=True)
class Significance:
    test: Literal["fisher", "chi-square"]
    statistic: float | None
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)


def approval_tests(
    *, approved: np.ndarray, applicants: np.ndarray, reference: int, fisher_below_expected: float
) -> list[Significance | None]:
    """One test per group against the reference (None for the reference itself).

    Chi-square without continuity correction, vectorised; Fisher's exact (two-sided) where the
    smallest expected count is below `fisher_below_expected`. The statistic reported for Fisher is
    the sample odds ratio.
    """
    approved = approved.astype(np.float64)
    applicants = applicants.astype(np.float64)
    group_yes, group_no = approved, applicants - approved
    reference_yes, reference_no = approved[reference], applicants[reference] - approved[reference]
    total = applicants + applicants[reference]
    yes, no = group_yes + reference_yes, group_no + reference_no
    with np.errstate(divide="ignore", invalid="ignore"):
        smallest_expected = np.minimum(applicants, applicants[reference]) * np.minimum(yes, no) / total
        statistic = (
            total
            * (group_yes * reference_no - group_no * reference_yes) ** 2
            / (applicants * applicants[reference] * yes * no)
        )
    tests: list[Significance | None] = []
    for group in range(len(applicants)):
        if group == reference:
            tests.append(None)
        elif not smallest_expected[group] >= fisher_below_expected:
            table = [[int(group_yes[group]), int(group_no[group])], [int(reference_yes), int(reference_no)]]
            odds_ratio, p_value = fisher_exact(table)
            tests.append(Significance("fisher", float(odds_ratio), float(p_value)))
        else:
            tests.append(Significance("chi-square", float(statistic[group]), float(chi2.sf(statistic[group], 1))))
    return tests
