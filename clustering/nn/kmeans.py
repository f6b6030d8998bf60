"""The k-means clustering head: k-means on the latents, optionally after PCA or UMAP to a lower dimension.

PCA is linear and is stored as two arrays. UMAP (McInnes et al. 2018) keeps each account's nearest
neighbours together, which can part groups that a linear projection lays over one another; a new
account is placed by the fitted reducer's `transform`, so the reducer is stored whole, as a joblib
pickle (like the credit models' scikit-learn parts), and is loaded only from an artifact whose SHA-256
matched. umap-learn is imported only when a UMAP run trains or assigns: it brings numba, and TensorFlow
for its parametric variant, so UMAP runs are for analysis and not the segmentation used in decisions
(`clustering.selectors.segmentation_choice_problems`).
"""

from __future__ import annotations

import io

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline

UMAP_NEIGHBOURS = 15  # umap-learn's default


def latent_reducer(*, reduction: str, reduced_dim: int, samples: int, features: int, seed: int) -> BaseEstimator | None:
    """The reduction before k-means, sized down where there are few accounts (UMAP needs n_components < n - 1)."""
    if reduction == "pca":
        return PCA(n_components=min(reduced_dim, samples, features), random_state=seed)
    if reduction == "umap":
        import umap

        return umap.UMAP(
            n_components=max(1, min(reduced_dim, samples - 2)),
            n_neighbors=max(2, min(UMAP_NEIGHBOURS, samples - 1)),
            random_state=seed,
            n_jobs=1,  # what a random_state implies anyway: umap-learn is reproducible single-threaded only
        )
    return None


def latent_kmeans_fit(*, latents: np.ndarray, k: int, reduction: str, reduced_dim: int, seed: int) -> Pipeline:
    """Fit on the training split's latents; `latent_kmeans_assign` then places any latents in the same clusters."""
    reducer = latent_reducer(
        reduction=reduction, reduced_dim=reduced_dim, samples=latents.shape[0], features=latents.shape[1], seed=seed
    )
    steps = [] if reducer is None else [reducer]
    return make_pipeline(*steps, KMeans(n_clusters=k, n_init=10, random_state=seed)).fit(latents)


def latent_kmeans_state(pipeline: Pipeline) -> dict[str, np.ndarray]:
    """What assigns a new latent to a segment: the centroids, and the PCA projection or fitted UMAP if any."""
    state = {"centers": pipeline[-1].cluster_centers_}
    if isinstance(pipeline[0], PCA):
        state["pca_components"] = pipeline[0].components_
        state["pca_mean"] = pipeline[0].mean_
    elif len(pipeline) > 1:
        buffer = io.BytesIO()
        joblib.dump(pipeline[0], buffer)
        state["umap_joblib"] = np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy()  # writable, for torch
    return state


def latent_kmeans_assign(state: dict[str, np.ndarray], latents: np.ndarray) -> np.ndarray:
    """Each latent's segment: the nearest centroid after the stored reduction, in float64."""
    if "pca_components" in state:
        points = (latents.astype(np.float64) - state["pca_mean"]) @ state["pca_components"].T
    elif "umap_joblib" in state:
        reducer = joblib.load(io.BytesIO(state["umap_joblib"].tobytes()))
        points = reducer.transform(latents).astype(np.float64)
    else:
        points = latents.astype(np.float64)
    squared = ((points[:, None, :] - state["centers"][None, :, :]) ** 2).sum(axis=2)
    return squared.argmin(axis=1)
