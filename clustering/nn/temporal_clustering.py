"""The Deep Temporal Clustering layer (Madiraju et al. 2018), trained as in DEC (Xie et al. 2016).

Each latent z_i gets a soft assignment to centroid w_j from a Student-t kernel on their distance d_ij:

    q_ij = (1 + d_ij / alpha) ^ -((alpha + 1) / 2)  /  sum_j' (same for j')

and is pulled towards a sharpened target that favours confident assignments and discounts large
clusters (f_j = sum_i q_ij is the soft frequency of cluster j):

    p_ij = (q_ij^2 / f_j)  /  sum_j' (q_ij'^2 / f_j')

by minimising KL(P || Q). Following DTC, d_ij is the distance itself (Euclidean or CID), not squared.
"""

from __future__ import annotations

import torch
from torch import nn

from clustering.nn.distances import DISTANCES

_PAIRWISE_CHUNK = 256  # rows of the distance matrix computed at once, to bound memory


class TemporalClusteringLayer(nn.Module):
    def __init__(self, *, centroids: torch.Tensor, distance: str, alpha: float = 1.0) -> None:
        super().__init__()
        self.centroids = nn.Parameter(centroids.clone())
        self.distance = DISTANCES[distance]
        self.alpha = alpha

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """Soft assignments Q, one row per latent."""
        return soft_assignment(self.distance(latents, self.centroids), alpha=self.alpha)


def soft_assignment(distances: torch.Tensor, *, alpha: float = 1.0) -> torch.Tensor:
    kernel = (1 + distances / alpha).pow(-(alpha + 1) / 2)
    return kernel / kernel.sum(dim=1, keepdim=True)


def target_distribution(assignments: torch.Tensor) -> torch.Tensor:
    weighted = assignments.pow(2) / assignments.sum(dim=0)
    return weighted / weighted.sum(dim=1, keepdim=True)


def clustering_loss(assignments: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) averaged over the batch; the target is held fixed."""
    return torch.nn.functional.kl_div(assignments.log(), target.detach(), reduction="batchmean")


def centroids_initialise(*, latents: torch.Tensor, k: int, distance: str, method: str, seed: int) -> torch.Tensor:
    """Starting centroids: the means of clusters found on the pretrained latents.

    "hierarchical" is DTC's choice (complete linkage on the chosen distance); "kmeans" is DEC's
    (Euclidean k-means), steadier when a few outlying accounts would take whole clusters.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans

    points = latents.detach()
    if method == "kmeans":
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(points.numpy())
    else:
        rows = [DISTANCES[distance](chunk, points) for chunk in points.split(_PAIRWISE_CHUNK)]
        pairwise = torch.cat(rows).numpy()
        pairwise = (pairwise + pairwise.T) / 2  # CID and the epsilon leave tiny asymmetries
        labels = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="complete").fit_predict(pairwise)
    return torch.stack([points[torch.from_numpy(labels == cluster)].mean(dim=0) for cluster in range(k)])
