"""Distances between latent vectors and cluster centroids, for the Deep Temporal Clustering layer.

- euclidean: the straight-line distance;
- cid: the complexity-invariant distance of Batista et al. (2014), the Euclidean distance times
  max(CE(x), CE(y)) / min(CE(x), CE(y)) with CE(x) = sqrt(sum_t (x[t+1] - x[t])^2), so that a jagged
  series is not judged close to a smooth one just because their values are near. The latent is read as
  a sequence, as DTC reads its latent time series.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# Keeps the complexity factor finite for a flat latent, and the square root differentiable at zero.
EPSILON = 1e-8

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def euclidean_distances(points: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(points, centroids) matrix of Euclidean distances."""
    squared = (points.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(dim=-1)
    return torch.sqrt(squared + EPSILON)


def complexity_estimates(series: torch.Tensor) -> torch.Tensor:
    """CE of each row: the length of the line through its points, step by step."""
    return torch.sqrt(torch.diff(series, dim=-1).pow(2).sum(dim=-1))


def complexity_invariant_distances(points: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(points, centroids) matrix of complexity-invariant distances."""
    point_complexity = complexity_estimates(points).unsqueeze(1)
    centroid_complexity = complexity_estimates(centroids).unsqueeze(0)
    factor = torch.maximum(point_complexity, centroid_complexity) / (
        torch.minimum(point_complexity, centroid_complexity) + EPSILON
    )
    return euclidean_distances(points, centroids) * factor


DISTANCES: dict[str, Distance] = {"euclidean": euclidean_distances, "cid": complexity_invariant_distances}
