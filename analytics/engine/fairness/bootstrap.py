"""The bootstrap, resampling cells instead of rows, so 1,000 resamples of 10^6 decisions take a second.

Drawing n rows with replacement and counting them per cell gives cell counts distributed exactly as
Multinomial(n, observed cell shares). Every count-based statistic (approval rates, adverse impact
ratios, true and false positive rates, observed default rates) is a function of those counts, so
drawing the counts directly is the ordinary nonparametric row bootstrap, not an approximation, at a
cost of resamples x cells instead of resamples x rows.

Scores and predicted default probabilities enter through their sums per cell. Given how many times a
cell is drawn, those sums are sums of that many draws from the cell's own values:
- cells of at most `EXACT_CELL_ROWS` rows are resampled row by row (exact);
- larger cells draw the sums from their normal limit (central limit theorem), matching the cell's
  mean and covariance of the summed values. A group's sum adds many such draws, so its distribution
  is that of the row bootstrap up to terms that shrink with the group's size; the tests compare the
  intervals with a row-by-row bootstrap and check their coverage of planted values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

EXACT_CELL_ROWS = 50
# Resamples are drawn in chunks of about this many cell values, to bound memory at any scale.
CHUNK_VALUES = 4_000_000


@dataclass(frozen=True)
class Resample:
    """One chunk of resamples: cell counts (resamples, cells) and value sums (resamples, cells, values)."""

    counts: np.ndarray
    sums: np.ndarray | None


class CellBootstrap:
    """Seeded resamples of cell counts and, when values are given, of their per-cell sums."""

    def __init__(
        self, *, cell_of_row: np.ndarray, counts: np.ndarray, values: np.ndarray | None, resamples: int, seed: int
    ) -> None:
        self.counts = counts
        self.resamples = resamples
        self.rng = np.random.default_rng(seed)
        self.values = values
        if values is None:
            return
        cells, width = len(counts), values.shape[1]
        self.small = np.flatnonzero(counts <= EXACT_CELL_ROWS)
        self.large = np.flatnonzero(counts > EXACT_CELL_ROWS)
        self.mean = np.stack([np.bincount(cell_of_row, values[:, j], cells) for j in range(width)], 1)
        self.mean /= counts[:, np.newaxis]
        deviations = values - self.mean[cell_of_row]
        covariance = np.empty((cells, width, width))
        for i in range(width):
            for j in range(i, width):
                product = np.bincount(cell_of_row, deviations[:, i] * deviations[:, j], cells) / counts
                covariance[:, i, j] = covariance[:, j, i] = product
        eigenvalues, eigenvectors = np.linalg.eigh(covariance[self.large])
        self.factor = eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))[:, np.newaxis, :]
        rows = np.flatnonzero(np.isin(cell_of_row, self.small))
        rows = rows[np.argsort(cell_of_row[rows], kind="stable")]
        self.small_values = values[rows]
        self.small_sizes = counts[self.small]
        self.small_start = np.concatenate(([0], np.cumsum(self.small_sizes)[:-1]))
        self.order = np.argsort(np.concatenate((self.large, self.small)))

    def chunks(self) -> Iterator[Resample]:
        cells = len(self.counts)
        width = 1 + (0 if self.values is None else self.values.shape[1])
        size = max(1, min(self.resamples, CHUNK_VALUES // max(1, cells * width)))
        shares = self.counts / self.counts.sum()
        for start in range(0, self.resamples, size):
            draws = min(size, self.resamples - start)
            counts = self.rng.multinomial(int(self.counts.sum()), shares, size=draws).astype(np.float64)
            yield Resample(counts=counts, sums=None if self.values is None else self._sums(counts, self.values))

    def _sums(self, counts: np.ndarray, values: np.ndarray) -> np.ndarray:
        draws, width = counts.shape[0], values.shape[1]
        drawn = counts[:, self.large, np.newaxis]
        noise = self.rng.standard_normal((draws, len(self.large), width))
        spread = sum(noise[..., j, np.newaxis] * self.factor[..., j] for j in range(width))
        large = drawn * self.mean[self.large] + np.sqrt(drawn) * spread
        per_slot = counts[:, self.small].astype(np.int64).ravel()
        small_of_draw = np.repeat(np.tile(np.arange(len(self.small)), draws), per_slot)
        offset = (self.rng.random(len(small_of_draw)) * self.small_sizes[small_of_draw]).astype(np.int64)
        picked = self.small_values[self.small_start[small_of_draw] + offset]
        small = np.zeros((len(per_slot), width))
        filled = np.flatnonzero(per_slot)
        if len(filled):
            starts = np.concatenate(([0], np.cumsum(per_slot)[:-1]))
            small[filled] = np.add.reduceat(picked, starts[filled], axis=0)
        small = small.reshape(draws, len(self.small), width)
        return np.take(np.concatenate((large, small), axis=1), self.order, axis=1)
