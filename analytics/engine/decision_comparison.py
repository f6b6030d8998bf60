"""Two sets of decisions on the same applications, compared: what changes if another model or another cut-off
had decided them.

A champion against its challenger (their decisions on the same applications, the challenger's in shadow) and a
backtest of a candidate model or policy against the decisions that were made (the policy lab) are one
computation over two outcome vectors, `baseline` and `candidate`, row for row:

- approval rates of each, and the change, with intervals;
- the swap sets: swap-ins, approved by the candidate but not by the baseline (declined or referred), and
  swap-outs, approved by the baseline but not by the candidate; their counts and shares;
- the bad rate of each swap set and of each side's approvals: realised where a loan's outcome is known,
  estimated from the probability of default where it is not, and bounded (see below);
- AUC of each side's probabilities on the applications whose outcome is known (the performance engine);
- each protected group's approval rate and adverse impact ratio under both (the fairness engine), and how
  many of the group swap in and out.

Reject inference. Repayment is only ever observed for applicants who were approved and funded, so every
realised figure describes that part of the population only, and the applicants the baseline declined have no
outcome at all. Their bad rate is never guessed: for a set of n applications, d known defaults and u without
an outcome, the realised bad rate can only lie between d / n (none of the u defaults) and (d + u) / n (all of
them default), whatever the model says; the estimate (d + Σ PD over the u) / n is stated beside that bound,
and is only as right as the model's calibration on applicants like those it never saw approved.

Plain Python over arrays: the Django side reads the stored decisions and stores `to_dict()` of the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse

from analytics.engine.fairness import FairnessConfig, FairnessReport, fairness_report_compute
from analytics.engine.fairness.bootstrap import CellBootstrap
from analytics.engine.fairness.estimates import Estimate, percentile_intervals, to_json
from analytics.engine.families.base import FittedModel
from analytics.engine.performance import BOOTSTRAP_BLOCK_ROWS, ONE_CLASS_ONLY
from analytics.engine.policy import DecisionPolicy, Outcome
from finai.errors import ApplicationError

# Outcome codes, in the order of DecisionPolicy's cut-offs: approve below, refer between, decline from.
OUTCOMES: tuple[str, ...] = (Outcome.APPROVE.value, Outcome.REFER.value, Outcome.DECLINE.value)
APPROVE, REFER, DECLINE = 0, 1, 2
# A batch probability this close to a cut-off is recomputed on the decision path (`Kernel`): the batch and
# the per-application arithmetic agree to ~1e-16, and only at a cut-off could that decide an outcome.
NEAR_CUT_OFF = 1e-9
# Drawing the counts of a cell costs about as much as drawing this many loans (numpy: ~160 ns a binomial against
# ~11 ns a drawn, gathered and counted row): with fewer joint cells than loans / 16, cells are drawn.
DRAWN_ROWS_PER_CELL = 16

CANNOT_COMPARE = "The decisions cannot be compared."

DEFINITIONS: dict[str, str] = {
    "approval_rate": "applications approved / applications; a referral is not an approval",
    "approval_rate_change": "candidate approval rate - baseline approval rate = (swap-ins - swap-outs) / applications",
    "swap_in": "approved by the candidate, not by the baseline (declined or referred)",
    "swap_out": "approved by the baseline, not by the candidate (declined or referred)",
    "realised_bad_rate": "defaults / applications of the set whose loan has a known outcome under the default "
    "definition (defaulted within the horizon, or matured without defaulting)",
    "estimated_bad_rate": "(known defaults + the sum of the probabilities of default of the applications "
    "without a known outcome) / applications of the set; by the baseline's and by the candidate's model",
    "bound": "with d known defaults and u applications without an outcome among n, the realised bad rate can "
    "only lie between d / n (none of the u defaults) and (d + u) / n (all of them do): a bound that needs no "
    "model, stated instead of a guess about applicants whose repayment was never observed",
    "never_observed": "applications without a loan (declined, or approved and not taken up): their repayment "
    "can never be observed",
    "awaiting_outcome": "funded loans whose default horizon has not passed yet",
    "auc": "area under the ROC curve of each side's probabilities of default on the applications with a known "
    "outcome, ties counted half (as the performance engine measures it); its change is candidate - baseline, with "
    "a paired interval: each resample draws the same loans for both sides",
    "intervals": "percentile bootstrap: approval rates and their change from resampled counts of the nine "
    "(baseline, candidate) outcome pairs, identical in law to resampling applications; realised bad rates from "
    "resampled defaults within the set; group figures from the fairness engine",
    "adverse_impact_ratio": "group approval rate / approval rate of the attribute's most favoured group of "
    "adequate size (the fairness engine's headline rule)",
    "reject_inference": "realised figures can only be measured on approved, funded loans with a known outcome; "
    "the share of the applications they cover is stated with them",
}


def _invalid(details: dict[str, str]) -> ApplicationError:
    return ApplicationError(CANNOT_COMPARE, details=details, code="invalid_comparison")


def outcome_codes(outcomes: ArrayLike, *, name: str = "outcomes") -> np.ndarray:
    """Outcome names ("approve", "refer", "decline") as codes 0, 1, 2; anything else is refused, named."""
    values = pd.Series(np.asarray(outcomes, dtype=object))
    codes = values.map(dict(zip(OUTCOMES, range(len(OUTCOMES)), strict=True)))
    unknown = values[codes.isna()]
    if len(unknown):
        shown = ", ".join(repr(value) for value in list(dict.fromkeys(unknown))[:5])
        raise _invalid({name: f"must be approve, refer or decline; found {shown}"})
    return codes.to_numpy(dtype=np.int8)


def policy_outcome_codes(*, probabilities: ArrayLike, policy: DecisionPolicy) -> np.ndarray:
    """`DecisionPolicy.outcome` for every row at once: approve below `approve_below`, decline from
    `decline_from`, refer in between."""
    probability = np.asarray(probabilities, dtype=np.float64)
    return np.where(
        probability < policy.approve_below, APPROVE, np.where(probability >= policy.decline_from, DECLINE, REFER)
    ).astype(np.int8)


@dataclass(frozen=True)
class Replay:
    """A model's probabilities of default and a policy's outcomes for stored model inputs, row by row."""

    probabilities: np.ndarray
    outcomes: np.ndarray
    rescored_on_decision_path: int


def decisions_replay(*, model: FittedModel, policy: DecisionPolicy, features: pd.DataFrame) -> Replay:
    """Score stored model inputs in one vectorised pass and decide them under `policy`.

    The batch probabilities equal the decision path's (`Scorer.decide`) to rounding (~1e-16); the few rows
    within `NEAR_CUT_OFF` of a cut-off are recomputed on the decision path itself, so every outcome is the one
    the stored decision would have had. A missing or unusable input raises FeatureValueError naming its column.
    """
    probabilities = np.asarray(model.predict_proba_default(features), dtype=np.float64)
    near = np.zeros(len(probabilities), dtype=bool)
    for cut_off in (policy.approve_below, policy.decline_from):
        near |= np.abs(probabilities - cut_off) <= NEAR_CUT_OFF
    rows = np.flatnonzero(near)
    if len(rows):
        kernel = model.kernel()
        codes = model.coding.matrix(features.iloc[rows])
        probabilities[rows] = [kernel.probability_of_default(kernel.locate(row)) for row in codes.tolist()]
    return Replay(
        probabilities=probabilities,
        outcomes=policy_outcome_codes(probabilities=probabilities, policy=policy),
        rescored_on_decision_path=len(rows),
    )


@dataclass(frozen=True)
class ComparisonConfig:
    """How a comparison is computed; stored with it. `fairness` sets the group figures (single attributes)."""

    baseline_label: str = "baseline"
    candidate_label: str = "candidate"
    bootstrap_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    fairness: FairnessConfig = field(default_factory=lambda: FairnessConfig(intersections=False))

    def __post_init__(self) -> None:
        problems = {}
        if isinstance(self.bootstrap_resamples, bool) or self.bootstrap_resamples < 1:
            problems["bootstrap_resamples"] = "must be at least 1"
        if not 0 < self.confidence < 1:
            problems["confidence"] = "must be between 0 and 1"
        if self.fairness.intersections:
            problems["fairness.intersections"] = "must be False: the comparison reports single attributes"
        if problems:
            raise _invalid(problems)


@dataclass(frozen=True)
class SetPerformance:
    """How a set of applications repays: realised where known, estimated where not, and the bound."""

    applications: int
    with_outcome: int
    defaults: int
    awaiting_outcome: int
    never_observed: int
    realised_bad_rate: Estimate
    estimated_bad_rate_baseline: float | None
    estimated_bad_rate_candidate: float | None
    bound_low: float | None
    bound_high: float | None

    @property
    def without_outcome(self) -> int:
        return self.applications - self.with_outcome


@dataclass(frozen=True)
class SwapSet:
    name: str
    description: str
    applications: int
    share: Estimate
    performance: SetPerformance


@dataclass(frozen=True)
class Discrimination:
    """AUC of one side's probabilities on the applications with a known outcome, or why it is undefined."""

    rows: int
    defaults: int
    auc: Estimate | None
    gini: Estimate | None
    unavailable: str = ""


@dataclass(frozen=True)
class Side:
    label: str
    approved: int
    referred: int
    declined: int
    approval_rate: Estimate
    approvals: SetPerformance
    discrimination: Discrimination
    lowest_adverse_impact_ratio: dict[str, Any] | None


@dataclass(frozen=True)
class GroupImpact:
    """One protected group's approval rate and adverse impact ratio under both sides, and its swaps."""

    attribute: str
    group: str
    applicants: int
    small_group: bool
    is_most_favoured_baseline: bool
    is_most_favoured_candidate: bool
    baseline_approval_rate: Estimate
    candidate_approval_rate: Estimate
    baseline_adverse_impact_ratio: Estimate
    candidate_adverse_impact_ratio: Estimate
    baseline_four_fifths_flag: bool | None
    candidate_four_fifths_flag: bool | None
    swap_ins: int
    swap_outs: int

    @property
    def approval_rate_change(self) -> float | None:
        before, after = self.baseline_approval_rate.value, self.candidate_approval_rate.value
        return None if before is None or after is None else after - before


@dataclass(frozen=True)
class Transitions:
    """How the applications one outcome of the baseline went under the candidate: counts in `OUTCOMES` order
    (a list, since stored JSON objects do not keep their keys' order)."""

    baseline: str
    candidate: tuple[int, ...]


@dataclass(frozen=True)
class Coverage:
    """Reject inference: the part of the applications on which repayment is observed."""

    applications: int
    with_outcome: int
    funded: int
    share_with_outcome: float
    note: str


@dataclass(frozen=True)
class DecisionComparison:
    applications: int
    baseline: Side
    candidate: Side
    approval_rate_change: Estimate
    auc_change: Estimate | None
    outcomes: tuple[str, ...]
    transitions: tuple[Transitions, ...]
    swap_in: SwapSet
    swap_out: SwapSet
    groups: tuple[GroupImpact, ...]
    fairness_unavailable: str
    coverage: Coverage
    config: ComparisonConfig
    # (name, text) pairs: a list keeps their order in stored JSON.
    definitions: tuple[tuple[str, str], ...] = tuple(DEFINITIONS.items())

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)


@dataclass(frozen=True)
class _Rows:
    baseline: np.ndarray
    candidate: np.ndarray
    baseline_probability: np.ndarray
    candidate_probability: np.ndarray
    defaulted: np.ndarray
    funded: np.ndarray


def _inputs_check(
    *,
    baseline: ArrayLike,
    candidate: ArrayLike,
    baseline_probability: ArrayLike,
    candidate_probability: ArrayLike,
    defaulted: ArrayLike | None,
    funded: ArrayLike | None,
    protected: pd.DataFrame | None,
) -> _Rows:
    base, cand = np.asarray(baseline), np.asarray(candidate)
    base = base if base.dtype.kind in "iu" else outcome_codes(base, name="baseline")
    cand = cand if cand.dtype.kind in "iu" else outcome_codes(cand, name="candidate")
    rows = len(base)
    problems: dict[str, str] = {}
    if base.ndim != 1 or rows == 0:
        raise _invalid({"baseline": "must be a non-empty one-dimensional array of outcomes"})
    for name, codes in (("baseline", base), ("candidate", cand)):
        if codes.shape != (rows,):
            problems[name] = f"must have one outcome per application ({rows})"
        elif ((codes < 0) | (codes > DECLINE)).any():
            problems[name] = "must be outcome codes 0 (approve), 1 (refer) or 2 (decline)"
    probabilities = {}
    for name, values in (
        ("baseline_probability", baseline_probability),
        ("candidate_probability", candidate_probability),
    ):
        probability = np.asarray(values, dtype=np.float64)
        if probability.shape != (rows,) or not ((probability >= 0) & (probability <= 1)).all():
            problems[name] = f"must be {rows} probabilities of default in [0, 1], none missing"
        probabilities[name] = probability
    outcome = np.full(rows, np.nan) if defaulted is None else np.asarray(defaulted, dtype=np.float64)
    known = ~np.isnan(outcome)
    if outcome.shape != (rows,):
        problems["defaulted"] = f"must have one value per application ({rows})"
    elif not np.isin(outcome[known], (0, 1)).all():
        problems["defaulted"] = "must be 1 (defaulted), 0 (repaid) or missing (no known outcome)"
    loans = known.copy() if funded is None else np.asarray(funded, dtype=bool)
    if loans.shape != (rows,):
        problems["funded"] = f"must have one value per application ({rows})"
    elif (known & ~loans).any():
        problems["funded"] = "an application with a known outcome must have been funded"
    if protected is not None and len(protected) != rows:
        problems["protected"] = f"has {len(protected)} rows, the decisions {rows}"
    if problems:
        raise _invalid(problems)
    return _Rows(
        base.astype(np.int8),
        cand.astype(np.int8),
        probabilities["baseline_probability"],
        probabilities["candidate_probability"],
        outcome,
        loans,
    )


def _percentiles(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    return percentile_intervals(np.asarray(samples, dtype=np.float64), confidence)


def _set_performance(
    rows: _Rows, members: np.ndarray, config: ComparisonConfig, rng: np.random.Generator
) -> SetPerformance:
    applications = int(members.sum())
    known = members & ~np.isnan(rows.defaulted)
    unknown = members & np.isnan(rows.defaulted)
    with_outcome = int(known.sum())
    defaults = int(rows.defaulted[known].sum())
    realised = Estimate(None)
    if with_outcome:
        rate = defaults / with_outcome
        draws = rng.binomial(with_outcome, rate, size=(config.bootstrap_resamples, 1)) / with_outcome
        low, high = _percentiles(draws, config.confidence)
        realised = Estimate.of(rate, low[0], high[0])
    if not applications:
        return SetPerformance(0, 0, 0, 0, 0, realised, None, None, None, None)
    missing = int(unknown.sum())
    return SetPerformance(
        applications=applications,
        with_outcome=with_outcome,
        defaults=defaults,
        awaiting_outcome=int((unknown & rows.funded).sum()),
        never_observed=int((unknown & ~rows.funded).sum()),
        realised_bad_rate=realised,
        estimated_bad_rate_baseline=(defaults + float(rows.baseline_probability[unknown].sum())) / applications,
        estimated_bad_rate_candidate=(defaults + float(rows.candidate_probability[unknown].sum())) / applications,
        bound_low=defaults / applications,
        bound_high=(defaults + missing) / applications,
    )


class _AucCells:
    """One side's applications with a known outcome as cells (outcome, distinct PD), the performance engine's
    layout: a resample is a vector of cell counts, and its AUC (ties counted half) follows from them exactly."""

    def __init__(self, probability: np.ndarray, outcome: np.ndarray) -> None:
        self.levels, level_of_row = np.unique(probability, return_inverse=True)
        self.cell_of_row = (outcome * len(self.levels) + level_of_row).astype(np.intp)
        self.cells = 2 * len(self.levels)

    def counts(self, drawn: np.ndarray | None = None) -> np.ndarray:
        """Cell counts of the sample itself (None) or of each resample, one row of `drawn` row indices each."""
        if drawn is None:
            return np.bincount(self.cell_of_row, minlength=self.cells).reshape(1, self.cells)
        cells = self.cell_of_row[drawn]
        cells += (np.arange(len(drawn), dtype=np.intp) * self.cells)[:, np.newaxis]
        return np.bincount(cells.ravel(), minlength=len(drawn) * self.cells).reshape(len(drawn), self.cells)

    def auc(self, counts: np.ndarray) -> np.ndarray:
        levels = len(self.levels)
        repaid, defaults = counts[:, :levels], counts[:, levels:]
        pairs = (repaid.sum(axis=1) * defaults.sum(axis=1)).astype(np.float64)
        # A defaulter beats the repaid loans at lower PDs and ties with those at its own (counted half).
        twice_ordered = 2 * np.einsum("ij,ij->i", defaults, np.cumsum(repaid, axis=1)) - np.einsum(
            "ij,ij->i", defaults, repaid
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs > 0, twice_ordered / (2 * pairs), np.nan)


def _paired_resamples(sides: list[_AucCells], config: ComparisonConfig) -> list[list[np.ndarray]]:
    """Each side's AUC in every resample, both sides on the same resampled loans.

    A loan's pair of cells (its outcome and PD level under each side) is its joint cell. Drawing loans with
    replacement gives joint-cell counts distributed as Multinomial(loans, joint-cell shares), so where the joint
    cells are few (a scorecard's PDs take a few thousand values) the counts are drawn directly, as the fairness
    engine's `CellBootstrap` does, at a cost of resamples x cells; otherwise (continuous PDs) the loans
    themselves are drawn, at a cost of resamples x loans. Both are the ordinary row bootstrap.
    """
    count = len(sides[0].cell_of_row)
    baseline_cells = sides[0].cell_of_row.astype(np.int64)
    joint, joint_of_row, sizes = np.unique(
        baseline_cells * sides[1].cells + sides[1].cell_of_row, return_inverse=True, return_counts=True
    )
    resampled: list[list[np.ndarray]] = [[], []]
    if len(joint) * DRAWN_ROWS_PER_CELL <= count:
        one_hot = [
            sparse.csr_matrix((np.ones(len(joint)), (np.arange(len(joint)), cells)), shape=(len(joint), side.cells))
            for side, cells in zip(sides, (joint // sides[1].cells, joint % sides[1].cells), strict=True)
        ]
        bootstrap = CellBootstrap(
            cell_of_row=joint_of_row, counts=sizes, values=None, resamples=config.bootstrap_resamples, seed=config.seed
        )
        for chunk in bootstrap.chunks():
            for side, matrix, samples in zip(sides, one_hot, resampled, strict=True):
                samples.append(side.auc(np.rint(np.asarray(chunk.counts @ matrix)).astype(np.int64)))
        return resampled
    rng = np.random.default_rng(config.seed)
    block = max(1, min(config.bootstrap_resamples, BOOTSTRAP_BLOCK_ROWS // count))
    for start in range(0, config.bootstrap_resamples, block):
        drawn = rng.integers(0, count, size=(min(block, config.bootstrap_resamples - start), count))
        for side, samples in zip(sides, resampled, strict=True):
            samples.append(side.auc(side.counts(drawn)))
    return resampled


def _discrimination(rows: _Rows, config: ComparisonConfig) -> tuple[Discrimination, Discrimination, Estimate | None]:
    """AUC and Gini of both sides on the applications with a known outcome, and the change in AUC, from one paired
    bootstrap: each resample draws the same loans for both sides (so the change's interval is the paired one, and
    the draws, the costly part, are shared). The figures equal `analytics.engine.performance.realised_performance`'s."""
    known = ~np.isnan(rows.defaulted)
    outcome = rows.defaulted[known].astype(np.int64)
    count, defaults = int(known.sum()), int(outcome.sum())
    if not count or defaults in (0, count):
        found = (
            "no application has a known outcome"
            if not count
            else ONE_CLASS_ONLY.format(found="defaults" if defaults == count else "repaid loans")
        )
        unavailable = Discrimination(count, defaults, None, None, found)
        return unavailable, unavailable, None
    sides = [
        _AucCells(probability[known], outcome)
        for probability in (rows.baseline_probability, rows.candidate_probability)
    ]
    points = [float(side.auc(side.counts())[0]) for side in sides]
    baseline, candidate = (np.concatenate(samples) for samples in _paired_resamples(sides, config))

    def estimate(value: float, samples: np.ndarray) -> Estimate:
        low, high = _percentiles(samples[:, np.newaxis], config.confidence)
        return Estimate.of(value, low[0], high[0])

    measured = [
        Discrimination(count, defaults, estimate(point, samples), estimate(2 * point - 1, 2 * samples - 1))
        for point, samples in zip(points, (baseline, candidate), strict=True)
    ]
    return measured[0], measured[1], estimate(points[1] - points[0], candidate - baseline)


def _rates(rows: _Rows, config: ComparisonConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Approval rates, their change and the swap shares, with intervals from resampled transition counts."""
    cells = np.bincount(rows.baseline.astype(np.int64) * 3 + rows.candidate, minlength=9).astype(np.float64)
    total = cells.sum()
    draws = rng.multinomial(int(total), cells / total, size=config.bootstrap_resamples).astype(np.float64)
    table = np.concatenate([cells[np.newaxis], draws]).reshape(-1, 3, 3)
    figures = {
        "baseline": table[:, APPROVE, :].sum(axis=1) / total,
        "candidate": table[:, :, APPROVE].sum(axis=1) / total,
        "swap_in": (table[:, REFER:, APPROVE].sum(axis=1)) / total,
        "swap_out": (table[:, APPROVE, REFER:].sum(axis=1)) / total,
    }
    figures["change"] = figures["candidate"] - figures["baseline"]
    estimates = {}
    for name, values in figures.items():
        low, high = _percentiles(values[1:, np.newaxis], config.confidence)
        estimates[name] = Estimate.of(values[0], low[0], high[0])
    counts = table[0].astype(np.int64)
    estimates["transitions"] = tuple(
        Transitions(baseline=before, candidate=tuple(int(count) for count in counts[i]))
        for i, before in enumerate(OUTCOMES)
    )
    return estimates


def _lowest(report: FairnessReport | None) -> dict[str, Any] | None:
    lowest = report.lowest_adverse_impact_ratio() if report is not None else None
    if lowest is None:
        return None
    return {"attribute": lowest.attribute, "group": lowest.group, "ratio": lowest.ratio}


def _group_impacts(
    *,
    rows: _Rows,
    protected: pd.DataFrame,
    baseline: FairnessReport,
    candidate: FairnessReport,
) -> tuple[GroupImpact, ...]:
    swap_in = (rows.baseline != APPROVE) & (rows.candidate == APPROVE)
    swap_out = (rows.baseline == APPROVE) & (rows.candidate != APPROVE)
    impacts = []
    for before in baseline.attributes:
        after = candidate.attribute(before.name)
        # Grouped as the fairness engine groups (`attributes_encode`): sorted labels, missing apart.
        codes, uniques = pd.factorize(protected[before.attributes[0]], sort=True)
        labelled = codes >= 0
        ins = np.bincount(codes[labelled], weights=swap_in[labelled], minlength=len(uniques))
        outs = np.bincount(codes[labelled], weights=swap_out[labelled], minlength=len(uniques))
        swaps = {str(label): (int(ins[index]), int(outs[index])) for index, label in enumerate(uniques)}
        for group in before.groups:
            changed = after.group(group.label)
            swapped_in, swapped_out = swaps.get(group.label, (0, 0))
            impacts.append(
                GroupImpact(
                    attribute=before.name,
                    group=group.label,
                    applicants=group.applicants,
                    small_group=group.small_group,
                    is_most_favoured_baseline=group.is_most_favoured,
                    is_most_favoured_candidate=changed.is_most_favoured,
                    baseline_approval_rate=group.approval_rate,
                    candidate_approval_rate=changed.approval_rate,
                    baseline_adverse_impact_ratio=group.adverse_impact_ratio_vs_most_favoured,
                    candidate_adverse_impact_ratio=changed.adverse_impact_ratio_vs_most_favoured,
                    baseline_four_fifths_flag=group.four_fifths_flag_vs_most_favoured,
                    candidate_four_fifths_flag=changed.four_fifths_flag_vs_most_favoured,
                    swap_ins=swapped_in,
                    swap_outs=swapped_out,
                )
            )
    return tuple(impacts)


def _known_groups(protected: pd.DataFrame | None) -> pd.DataFrame | None:
    """The protected columns holding at least one group label (empty text counts as not known)."""
    if protected is None or protected.shape[1] == 0:
        return None
    cleaned = protected.replace("", np.nan).dropna(axis="columns", how="all")
    if cleaned.shape[1] == 0:
        return None
    return cleaned.astype(object).where(cleaned.notna(), None)


def decisions_compare(
    *,
    baseline: ArrayLike,
    candidate: ArrayLike,
    baseline_probability: ArrayLike,
    candidate_probability: ArrayLike,
    defaulted: ArrayLike | None = None,
    funded: ArrayLike | None = None,
    protected: pd.DataFrame | None = None,
    config: ComparisonConfig | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> DecisionComparison:
    """Compare two outcome vectors on the same applications (see the module docstring).

    `baseline` and `candidate` are outcome names or codes per application; the probabilities are each side's
    probability of default; `defaulted` is 1 / 0 / NaN (no known outcome) and `funded` whether a loan was
    made (an application without one can never have an outcome); `protected` holds one column of group labels
    per protected attribute (missing = not known). Bad input is refused, naming each field.
    """
    config = config or ComparisonConfig()
    rows = _inputs_check(
        baseline=baseline,
        candidate=candidate,
        baseline_probability=baseline_probability,
        candidate_probability=candidate_probability,
        defaulted=defaulted,
        funded=funded,
        protected=protected,
    )

    def report(percent: int, message: str) -> None:
        if progress is not None:
            progress(percent, message)

    rng = np.random.default_rng(config.seed)
    applications = len(rows.baseline)
    report(5, "Counting approvals and swaps")
    rates = _rates(rows, config, rng)
    approved_baseline = rows.baseline == APPROVE
    approved_candidate = rows.candidate == APPROVE
    swap_in = ~approved_baseline & approved_candidate
    swap_out = approved_baseline & ~approved_candidate
    report(20, "Measuring bad rates of the swap sets")
    performances = {
        name: _set_performance(rows, members, config, rng)
        for name, members in (
            ("swap_in", swap_in),
            ("swap_out", swap_out),
            ("baseline", approved_baseline),
            ("candidate", approved_candidate),
        )
    }
    report(35, "Measuring AUC on applications with a known outcome")
    baseline_auc, candidate_auc, auc_change = _discrimination(rows, config)
    discrimination = {"baseline": baseline_auc, "candidate": candidate_auc}
    report(55, "Measuring approval rates by protected group")
    groups: tuple[GroupImpact, ...] = ()
    reports: dict[str, FairnessReport | None] = {"baseline": None, "candidate": None}
    known_groups = _known_groups(protected)
    unavailable = "" if known_groups is not None else "no application has protected attributes recorded"
    if known_groups is not None:
        for name, approved in (("baseline", approved_baseline), ("candidate", approved_candidate)):
            reports[name] = fairness_report_compute(
                approved=approved.astype(np.int64), protected=known_groups, config=config.fairness
            )
        groups = _group_impacts(
            rows=rows, protected=known_groups, baseline=reports["baseline"], candidate=reports["candidate"]
        )
    report(95, "Writing the comparison")
    sides = {}
    for name, label, codes in (
        ("baseline", config.baseline_label, rows.baseline),
        ("candidate", config.candidate_label, rows.candidate),
    ):
        counted = np.bincount(codes, minlength=3)
        sides[name] = Side(
            label=label,
            approved=int(counted[APPROVE]),
            referred=int(counted[REFER]),
            declined=int(counted[DECLINE]),
            approval_rate=rates[name],
            approvals=performances[name],
            discrimination=discrimination[name],
            lowest_adverse_impact_ratio=_lowest(reports[name]),
        )
    with_outcome = int((~np.isnan(rows.defaulted)).sum())
    funded_count = int(rows.funded.sum())
    coverage = Coverage(
        applications=applications,
        with_outcome=with_outcome,
        funded=funded_count,
        share_with_outcome=with_outcome / applications,
        note=(
            f"Realised bad rates and AUC are measured on the {with_outcome:,} of {applications:,} applications "
            f"({with_outcome / applications:.1%}) that were approved, funded and have a known outcome; applicants "
            "who were declined, or did not take the loan, have none. Where a figure needs their repayment it is "
            "estimated from the probability of default and bounded, never measured."
        ),
    )
    return DecisionComparison(
        applications=applications,
        baseline=sides["baseline"],
        candidate=sides["candidate"],
        approval_rate_change=rates["change"],
        auc_change=auc_change,
        outcomes=OUTCOMES,
        transitions=rates["transitions"],
        swap_in=SwapSet(
            "swap_in", DEFINITIONS["swap_in"], int(swap_in.sum()), rates["swap_in"], performances["swap_in"]
        ),
        swap_out=SwapSet(
            "swap_out", DEFINITIONS["swap_out"], int(swap_out.sum()), rates["swap_out"], performances["swap_out"]
        ),
        groups=groups,
        fairness_unavailable=unavailable,
        coverage=coverage,
        config=config,
    )
