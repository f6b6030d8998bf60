"""How well a model version performs after it went live: measured from repayment outcomes, estimated
before they arrive, and the calibration check the estimate rests on.

Outcomes arrive months after a decision, so monitoring needs two views of the same book:

- `realised_performance`, once the loans have a known outcome: AUC, Gini, KS, Brier score and the
  observed default rate, each with a percentile bootstrap confidence interval, so a fall in AUC from
  0.74 to 0.72 on 3,000 loans is read as the noise it is; and calibration by score band, each band's
  defaults tested against its mean predicted PD.
- `estimated_performance`, for loans too young to have an outcome: the expected AUC and default rate
  if the model's probabilities are right (NannyML's Confidence-Based Performance Estimation, CBPE).
- `calibration_check`, on the training holdout: whether the probabilities are right, which is what
  the estimate depends on.

Definitions (defaulted = 1 is the positive class; a higher PD means riskier):

- AUC: the chance that a random defaulter has a higher PD than a random repaid loan, ties counted half
  (Mann-Whitney); Gini = 2·AUC - 1; KS: the largest distance between the PD distribution functions of
  defaulters and repaid loans; Brier: the mean of (PD - outcome)².
- Bootstrap: rows are resampled with replacement `bootstrap_samples` times and each statistic is
  recomputed; the interval is the (1 ± confidence)/2 percentiles of the resampled values. Resamples
  hold whole rows, so the default rate varies between them too; the rare resample that draws no
  defaulter (or no repaid loan) leaves AUC, Gini and KS undefined and is left out of their intervals.
  It is vectorised: the distinct PDs are sorted once, each row is a cell (outcome, PD level), and a
  block of resamples is one `np.bincount` of the drawn cells, from which every statistic follows
  with cumulative sums over the levels (1,000 resamples of 50,000 rows in under a second on 2 cores).
- Score bands: `bands` quantile bands of the PD by default (cut at the deciles of the rows, so each
  holds a tenth of them when the PDs are distinct), or explicit band edges; a band holds the PDs in
  (from, to], the first one from 0 inclusive. Empty bands are left out; tied PDs share a band, so
  heavy ties give fewer bands.
- Band test: a two-sided exact binomial test of the band's defaults against its rows at its mean
  predicted PD. A band is flagged when p < alpha / number of bands (Bonferroni): ten bands tested at
  0.05 each would flag a well-calibrated model in about 40% of reports; at 0.05 / 10 each, the chance
  of any false flag across the ten stays below 5%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest, chi2

from finai.errors import ApplicationError

Bands = int | Sequence[float]

DEFAULT_BANDS = 10
DEFAULT_BOOTSTRAP_SAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_ALPHA = 0.05
# Resampled rows drawn at once. Blocks this small keep the cell counts in the processor's cache: on 50,000
# rows, blocks of 2 resamples ran 1,000 resamples in 0.8 s, blocks of 40 in 2.2 s.
BOOTSTRAP_BLOCK_ROWS = 1 << 17
HOSMER_LEMESHOW_MIN_BANDS = 3  # the test has bands - 2 degrees of freedom

CANNOT_MEASURE = "Performance cannot be measured on these loans."
CANNOT_ESTIMATE = "Performance cannot be estimated from these probabilities."
CANNOT_CHECK = "Calibration cannot be checked on these loans."
NOT_PROBABILITIES = "must be probabilities of default in [0, 1], with no missing values"
NOT_OUTCOMES = "must be outcomes of 0 (repaid) or 1 (defaulted), with no missing values"
NO_ROWS = "has no rows"
ONE_CLASS_ONLY = (
    "holds {found} only: AUC, Gini and KS compare defaulted with repaid loans and are undefined without both"
)
NOT_BAND_EDGES = "must be a number of bands or strictly increasing band edges within [0, 1]"
NO_EXPECTED_DEFAULTS = "are all 0 or all 1: the expected ROC curve is undefined"


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A statistic and its percentile bootstrap confidence interval (None where no resample defines it)."""

    value: float
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class BandCalibration:
    """One score band's observed defaults against its predicted PD, with the exact binomial test."""

    band: int
    probability_from: float
    probability_to: float
    rows: int
    defaults: int
    observed_default_rate: float
    mean_probability_of_default: float
    p_value: float
    flagged: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "probability_from": self.probability_from,
            "probability_to": self.probability_to,
            "rows": self.rows,
            "defaults": self.defaults,
            "observed_default_rate": self.observed_default_rate,
            "mean_probability_of_default": self.mean_probability_of_default,
            "p_value": self.p_value,
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class RealisedPerformance:
    """Performance measured from outcomes, with bootstrap intervals, and calibration by score band."""

    rows: int
    defaults: int
    auc: Interval
    gini: Interval
    ks: Interval
    brier: Interval
    observed_default_rate: Interval
    predicted_default_rate: float
    bands: tuple[BandCalibration, ...]
    band_alpha: float  # alpha / number of bands: the level each band is tested at
    bootstrap_samples: int
    confidence: float

    @property
    def flagged_bands(self) -> tuple[int, ...]:
        return tuple(band.band for band in self.bands if band.flagged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "defaults": self.defaults,
            "auc": self.auc.as_dict(),
            "gini": self.gini.as_dict(),
            "ks": self.ks.as_dict(),
            "brier": self.brier.as_dict(),
            "observed_default_rate": self.observed_default_rate.as_dict(),
            "predicted_default_rate": self.predicted_default_rate,
            "bands": [band.as_dict() for band in self.bands],
            "band_alpha": self.band_alpha,
            "bootstrap_samples": self.bootstrap_samples,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class ExpectedBand:
    """One score band's expected defaults if its probabilities are right."""

    band: int
    probability_from: float
    probability_to: float
    rows: int
    mean_probability_of_default: float
    expected_defaults: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "probability_from": self.probability_from,
            "probability_to": self.probability_to,
            "rows": self.rows,
            "mean_probability_of_default": self.mean_probability_of_default,
            "expected_defaults": self.expected_defaults,
        }


@dataclass(frozen=True)
class EstimatedPerformance:
    """Label-free expected performance (CBPE): right only as far as the model is calibrated."""

    rows: int
    expected_defaults: float
    expected_default_rate: float
    expected_auc: float
    expected_gini: float
    bands: tuple[ExpectedBand, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "expected_defaults": self.expected_defaults,
            "expected_default_rate": self.expected_default_rate,
            "expected_auc": self.expected_auc,
            "expected_gini": self.expected_gini,
            "bands": [band.as_dict() for band in self.bands],
        }


@dataclass(frozen=True)
class CalibrationCheck:
    """Hosmer-Lemeshow test and expected calibration error of the probabilities against outcomes."""

    rows: int
    defaults: int
    bands: int
    hosmer_lemeshow_statistic: float
    degrees_of_freedom: int
    p_value: float
    expected_calibration_error: float
    alpha: float
    calibrated: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "defaults": self.defaults,
            "bands": self.bands,
            "hosmer_lemeshow_statistic": self.hosmer_lemeshow_statistic,
            "degrees_of_freedom": self.degrees_of_freedom,
            "p_value": self.p_value,
            "expected_calibration_error": self.expected_calibration_error,
            "alpha": self.alpha,
            "calibrated": self.calibrated,
        }


# --- the three computations -----------------------------------------------------------------------


def realised_performance(
    *,
    probabilities: Sequence[float] | np.ndarray,
    defaulted: Sequence[int | bool] | np.ndarray,
    bands: Bands = DEFAULT_BANDS,
    bootstrap_samples: int = DEFAULT_BOOTSTRAP_SAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int | None = 0,
    alpha: float = DEFAULT_ALPHA,
) -> RealisedPerformance:
    """AUC, Gini, KS, Brier score and default rates of loans with known outcomes, with bootstrap
    intervals, and each score band's defaults tested against its predicted PD (see the module docstring).

    Refused, naming the field: probabilities outside [0, 1] or missing, outcomes other than 0/1, lengths
    that differ, and outcomes of one kind only (AUC is undefined without defaulted and repaid loans).
    """
    probability = _probabilities(probabilities, message=CANNOT_MEASURE)
    outcome = _outcomes(defaulted, rows=len(probability), message=CANNOT_MEASURE)
    if outcome.all() or not outcome.any():
        found = "defaults" if outcome.all() else "repaid loans"
        raise ApplicationError(
            CANNOT_MEASURE, details={"defaulted": ONE_CLASS_ONLY.format(found=found)}, code="invalid_data"
        )
    if isinstance(bootstrap_samples, bool) or not isinstance(bootstrap_samples, Integral) or bootstrap_samples < 1:
        raise ApplicationError(
            CANNOT_MEASURE, details={"bootstrap_samples": "must be a whole number of at least 1"}, code="invalid_data"
        )
    _check_share(confidence, field="confidence", message=CANNOT_MEASURE)
    _check_share(alpha, field="alpha", message=CANNOT_MEASURE)
    banding = _Banding.of(probability, bands, message=CANNOT_MEASURE)

    cells = _Cells(probability, outcome)
    observed = cells.statistics(cells.counts_of_sample())
    resampled = cells.bootstrap(samples=int(bootstrap_samples), rng=np.random.default_rng(seed))

    def interval(name: str, transform: float = 1.0, shift: float = 0.0) -> Interval:
        return _interval(
            transform * observed[name][0] + shift, transform * resampled[name] + shift, confidence=confidence
        )

    band_alpha = alpha / banding.count
    return RealisedPerformance(
        rows=len(probability),
        defaults=int(outcome.sum()),
        auc=interval("auc"),
        gini=interval("auc", 2.0, -1.0),
        ks=interval("ks"),
        brier=interval("brier"),
        observed_default_rate=interval("default_rate"),
        predicted_default_rate=float(probability.mean()),
        bands=banding.calibration(probability, outcome, band_alpha=band_alpha),
        band_alpha=band_alpha,
        bootstrap_samples=int(bootstrap_samples),
        confidence=float(confidence),
    )


def estimated_performance(
    *, probabilities: Sequence[float] | np.ndarray, bands: Bands = DEFAULT_BANDS
) -> EstimatedPerformance:
    """Expected default rate, AUC and Gini of loans without outcomes yet, if their PDs are right (CBPE).

    Each loan counts as a defaulter with weight PD and as a repaid loan with weight 1 - PD: at a cut-off
    t, E[TP](t) = Σ_{PD_i ≥ t} PD_i and E[FP](t) = Σ_{PD_i ≥ t} (1 - PD_i). The expected ROC curve joins
    those points at every distinct PD (equal PDs form one step, so ties are a diagonal segment, counted
    half, as in the realised AUC), and the expected AUC is the area under it. Up to a term of order 1/rows
    (a loan paired with itself), that is the expected number of correctly ordered (defaulter, repaid)
    pairs over the expected number of pairs.

    The estimate is only as good as the model's calibration: if the PDs are too low or too high,
    or no longer rank-consistent with the risk after a shift in the population, the expected and the
    realised figures part. Check calibration on the training holdout (`calibration_check`), and compare
    the estimate with `realised_performance` as outcomes arrive.
    """
    probability = _probabilities(probabilities, message=CANNOT_ESTIMATE)
    expected_defaults = float(probability.sum())
    if expected_defaults == 0 or expected_defaults == len(probability):
        raise ApplicationError(CANNOT_ESTIMATE, details={"probabilities": NO_EXPECTED_DEFAULTS}, code="invalid_data")
    banding = _Banding.of(probability, bands, message=CANNOT_ESTIMATE)

    levels, level_of_row = np.unique(probability, return_inverse=True)
    rows_at = np.bincount(level_of_row, minlength=len(levels)).astype(np.float64)
    defaults_at = rows_at * levels  # expected defaulters at each PD, lowest PD first
    repaid_at = rows_at - defaults_at
    repaid_below = np.cumsum(repaid_at) - repaid_at
    area = float(np.sum(defaults_at * (repaid_below + 0.5 * repaid_at)) / (defaults_at.sum() * repaid_at.sum()))

    band_rows = np.bincount(banding.band_of_row, minlength=banding.count)
    band_defaults = np.bincount(banding.band_of_row, weights=probability, minlength=banding.count)
    expected_bands = tuple(
        ExpectedBand(
            band=index + 1,
            probability_from=float(banding.lower[index]),
            probability_to=float(banding.upper[index]),
            rows=int(band_rows[index]),
            mean_probability_of_default=float(band_defaults[index] / band_rows[index]),
            expected_defaults=float(band_defaults[index]),
        )
        for index in range(banding.count)
    )
    return EstimatedPerformance(
        rows=len(probability),
        expected_defaults=expected_defaults,
        expected_default_rate=expected_defaults / len(probability),
        expected_auc=area,
        expected_gini=2 * area - 1,
        bands=expected_bands,
    )


def calibration_check(
    *,
    probabilities: Sequence[float] | np.ndarray,
    defaulted: Sequence[int | bool] | np.ndarray,
    bands: Bands = DEFAULT_BANDS,
    alpha: float = DEFAULT_ALPHA,
) -> CalibrationCheck:
    """Whether the PDs match the outcomes, on the training holdout: the check `estimated_performance`
    depends on.

    Hosmer-Lemeshow: over the G score bands, H = Σ_g (O_g - E_g)² / (n_g · π_g · (1 - π_g)), with O_g the
    band's defaults, E_g the sum of its PDs, n_g its rows and π_g = E_g / n_g its mean PD; the p-value is
    the chi-square tail with G - 2 degrees of freedom (Hosmer and Lemeshow's reference distribution for a
    model fitted on the rows it is tested on, and a conservative one on a holdout). A band whose PDs are
    all 0 or 1 adds nothing if its outcomes agree, and makes H infinite if not. The model is `calibrated`
    when p ≥ alpha. Expected calibration error: Σ_g (n_g / n) · |O_g / n_g - π_g|.
    """
    probability = _probabilities(probabilities, message=CANNOT_CHECK)
    outcome = _outcomes(defaulted, rows=len(probability), message=CANNOT_CHECK)
    _check_share(alpha, field="alpha", message=CANNOT_CHECK)
    banding = _Banding.of(probability, bands, message=CANNOT_CHECK, minimum=HOSMER_LEMESHOW_MIN_BANDS)

    return calibration_check_of_bands(
        rows=np.bincount(banding.band_of_row, minlength=banding.count),
        defaults=np.bincount(banding.band_of_row, weights=outcome.astype(np.float64), minlength=banding.count),
        expected_defaults=np.bincount(banding.band_of_row, weights=probability, minlength=banding.count),
        alpha=alpha,
    )


def calibration_check_of_bands(
    *,
    rows: Sequence[int] | np.ndarray,
    defaults: Sequence[float] | np.ndarray,
    expected_defaults: Sequence[float] | np.ndarray,
    alpha: float = DEFAULT_ALPHA,
) -> CalibrationCheck:
    """The same check from per-band counts (rows, defaults, sum of PDs): what a model version's stored
    holdout calibration table holds, so the check needs no second pass over the holdout."""
    rows = np.asarray(rows, dtype=np.float64)
    observed = np.asarray(defaults, dtype=np.float64)
    expected = np.asarray(expected_defaults, dtype=np.float64)
    _check_share(alpha, field="alpha", message=CANNOT_CHECK)
    if not (len(rows) == len(observed) == len(expected)) or len(rows) < HOSMER_LEMESHOW_MIN_BANDS or rows.min() <= 0:
        raise ApplicationError(
            CANNOT_CHECK,
            details={"bands": f"needs at least {HOSMER_LEMESHOW_MIN_BANDS} non-empty bands, each with its counts"},
            code="invalid_data",
        )
    mean_probability = expected / rows
    variance = rows * mean_probability * (1 - mean_probability)
    gap = (observed - expected) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(variance > 0, gap / variance, np.where(gap > 0, np.inf, 0.0))
    statistic = float(terms.sum())
    degrees_of_freedom = len(rows) - 2
    p_value = float(chi2.sf(statistic, degrees_of_freedom))
    error = float(np.sum(rows / rows.sum() * np.abs(observed / rows - mean_probability)))
    return CalibrationCheck(
        rows=int(rows.sum()),
        defaults=int(np.rint(observed.sum())),
        bands=len(rows),
        hosmer_lemeshow_statistic=statistic,
        degrees_of_freedom=degrees_of_freedom,
        p_value=p_value,
        expected_calibration_error=error,
        alpha=float(alpha),
        calibrated=p_value >= alpha,
    )


# --- inputs ---------------------------------------------------------------------------------------


def _probabilities(values: Sequence[float] | np.ndarray, *, message: str) -> np.ndarray:
    try:
        probability = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ApplicationError(message, details={"probabilities": NOT_PROBABILITIES}, code="invalid_data") from None
    if probability.ndim != 1:
        raise ApplicationError(message, details={"probabilities": NOT_PROBABILITIES}, code="invalid_data")
    if not len(probability):
        raise ApplicationError(message, details={"probabilities": NO_ROWS}, code="invalid_data")
    outside = np.flatnonzero(~((probability >= 0) & (probability <= 1)))  # NaN fails both comparisons
    if len(outside):
        row = int(outside[0])
        problem = f"{NOT_PROBABILITIES} (row {row} is {probability[row]})"
        raise ApplicationError(message, details={"probabilities": problem}, code="invalid_data")
    return probability


def _outcomes(values: Sequence[int | bool] | np.ndarray, *, rows: int, message: str) -> np.ndarray:
    """The outcomes as booleans (True: defaulted)."""
    outcome = np.asarray(values)
    if outcome.ndim != 1:
        raise ApplicationError(message, details={"defaulted": NOT_OUTCOMES}, code="invalid_data")
    if len(outcome) != rows:
        problem = f"has {len(outcome)} values for {rows} probabilities"
        raise ApplicationError(message, details={"defaulted": problem}, code="invalid_data")
    if outcome.dtype == np.bool_:
        return outcome
    numbers = pd.to_numeric(pd.Series(outcome), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    invalid = np.flatnonzero(~np.isin(numbers, (0.0, 1.0)))
    if len(invalid):
        row = int(invalid[0])
        problem = f"{NOT_OUTCOMES} (row {row} is {outcome.tolist()[row]!r})"
        raise ApplicationError(message, details={"defaulted": problem}, code="invalid_data")
    return numbers == 1.0


def _check_share(value: float, *, field: str, message: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ApplicationError(message, details={field: "must lie strictly between 0 and 1"}, code="invalid_data")


# --- score bands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Banding:
    """The non-empty score bands of a set of PDs: each row's band (0-based) and each band's edges."""

    band_of_row: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def count(self) -> int:
        return len(self.lower)

    @classmethod
    def of(cls, probability: np.ndarray, bands: Bands, *, message: str, minimum: int = 1) -> _Banding:
        if isinstance(bands, Integral) and not isinstance(bands, bool):
            if bands < minimum:
                raise ApplicationError(message, details={"bands": f"must be at least {minimum}"}, code="invalid_data")
            # Cut at PDs of the rows themselves, so every cut's band holds at least that row.
            quantiles = np.arange(1, int(bands)) / int(bands)
            cuts = np.unique(np.quantile(probability, quantiles, method="inverted_cdf"))
        else:
            try:
                cuts = np.asarray(list(bands), dtype=np.float64)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ApplicationError(message, details={"bands": NOT_BAND_EDGES}, code="invalid_data") from None
            if cuts.ndim != 1 or not np.all((cuts >= 0) & (cuts <= 1)) or np.any(np.diff(cuts) <= 0):
                raise ApplicationError(message, details={"bands": NOT_BAND_EDGES}, code="invalid_data")
        position = np.searchsorted(cuts, probability, side="left")  # cuts[j - 1] < PD <= cuts[j]
        edges = np.concatenate(([0.0], cuts, [1.0]))
        kept = np.flatnonzero(np.bincount(position, minlength=len(cuts) + 1))
        if len(kept) < minimum:
            problem = f"leave {len(kept)} non-empty bands of the probabilities; at least {minimum} are needed"
            raise ApplicationError(message, details={"bands": problem}, code="invalid_data")
        renumbered = np.full(len(cuts) + 1, -1, dtype=np.intp)
        renumbered[kept] = np.arange(len(kept))
        return cls(band_of_row=renumbered[position], lower=edges[kept], upper=edges[kept + 1])

    def calibration(
        self, probability: np.ndarray, outcome: np.ndarray, *, band_alpha: float
    ) -> tuple[BandCalibration, ...]:
        rows = np.bincount(self.band_of_row, minlength=self.count)
        defaults = np.bincount(self.band_of_row, weights=outcome, minlength=self.count).round().astype(np.int64)
        predicted = np.bincount(self.band_of_row, weights=probability, minlength=self.count) / rows
        tested = []
        for index in range(self.count):
            band_rows, band_defaults = int(rows[index]), int(defaults[index])
            mean_probability = min(max(float(predicted[index]), 0.0), 1.0)
            p_value = float(binomtest(band_defaults, band_rows, mean_probability).pvalue)
            tested.append(
                BandCalibration(
                    band=index + 1,
                    probability_from=float(self.lower[index]),
                    probability_to=float(self.upper[index]),
                    rows=band_rows,
                    defaults=band_defaults,
                    observed_default_rate=band_defaults / band_rows,
                    mean_probability_of_default=mean_probability,
                    p_value=p_value,
                    flagged=p_value < band_alpha,
                )
            )
        return tuple(tested)


# --- the statistics and their bootstrap -----------------------------------------------------------


class _Cells:
    """Rows as cells (outcome, distinct PD): every statistic here depends on a sample only through how
    many of its rows fall in each cell, so a resample is a vector of cell counts."""

    def __init__(self, probability: np.ndarray, outcome: np.ndarray) -> None:
        self.levels, level_of_row = np.unique(probability, return_inverse=True)
        # Repaid loans' cells first, then defaulters', each by increasing PD.
        self.cell_of_row = (outcome * len(self.levels) + level_of_row).astype(np.intp)
        self.cells = 2 * len(self.levels)
        self.squared_error = np.concatenate((self.levels**2, (1 - self.levels) ** 2))

    def counts_of_sample(self) -> np.ndarray:
        return np.bincount(self.cell_of_row, minlength=self.cells).reshape(1, self.cells)

    def bootstrap(self, *, samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        rows = len(self.cell_of_row)
        block = max(1, min(samples, BOOTSTRAP_BLOCK_ROWS // rows))
        parts = []
        for start in range(0, samples, block):
            size = min(block, samples - start)
            drawn = self.cell_of_row[rng.integers(0, rows, size=(size, rows))]
            drawn += (np.arange(size, dtype=np.intp) * self.cells)[:, None]  # one range of cells per resample
            counts = np.bincount(drawn.ravel(), minlength=size * self.cells).reshape(size, self.cells)
            parts.append(self.statistics(counts))
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def statistics(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """AUC, KS, Brier and default rate of each sample from its cell counts (one row per sample).

        Integer arithmetic until the last division, so the sample's own figures are exact.
        """
        levels = len(self.levels)
        repaid, defaults = counts[:, :levels], counts[:, levels:]
        total_repaid, total_defaults = repaid.sum(axis=1), defaults.sum(axis=1)
        rows = total_repaid + total_defaults
        pairs = (total_repaid * total_defaults).astype(np.float64)
        repaid_up_to = np.cumsum(repaid, axis=1)
        # A defaulter beats the repaid loans at lower PDs and ties with those at its own (counted half).
        twice_ordered = 2 * np.einsum("ij,ij->i", defaults, repaid_up_to) - np.einsum("ij,ij->i", defaults, repaid)
        defaults_up_to = np.cumsum(defaults, axis=1)
        defaults_up_to *= total_repaid[:, None]
        repaid_up_to *= total_defaults[:, None]
        defaults_up_to -= repaid_up_to  # the gap between the distribution functions, times the pairs
        gap = np.maximum(defaults_up_to.max(axis=1), -defaults_up_to.min(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = np.where(pairs > 0, twice_ordered / (2 * pairs), np.nan)
            ks = np.where(pairs > 0, gap / pairs, np.nan)
        brier = counts @ self.squared_error / rows
        return {"auc": auc, "ks": ks, "brier": brier, "default_rate": total_defaults / rows}


def _interval(value: float, resampled: np.ndarray, *, confidence: float) -> Interval:
    defined = resampled[np.isfinite(resampled)]
    if not len(defined):
        return Interval(value=float(value), low=None, high=None)
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail])
    return Interval(value=float(value), low=_finite(low), high=_finite(high))


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
