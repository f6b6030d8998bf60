"""The k-means clustering head: k-means on the latents, optionally after PCA to a lower dimension.

The reference implementation also offers UMAP; umap-learn is not installed here, so PCA is the only
reduction offered.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline


def latent_kmeans_fit(*, latents: np.ndarray, k: int, reduced_dim: int | None, seed: int) -> Pipeline:
    """Fit on the training split's latents; `predict` then assigns any other latents to the same clusters."""
    steps = [] if reduced_dim is None else [PCA(n_components=min(reduced_dim, *latents.shape), random_state=seed)]
    return make_pipeline(*steps, KMeans(n_clusters=k, n_init=10, random_state=seed)).fit(latents)


def latent_kmeans_state(pipeline: Pipeline) -> dict[str, np.ndarray]:
    """What assigns a new latent to a segment: the centroids, and the PCA projection when there is one."""
    state = {"centers": pipeline[-1].cluster_centers_}
    if len(pipeline) > 1:
        state["pca_components"] = pipeline[0].components_
        state["pca_mean"] = pipeline[0].mean_
    return state
