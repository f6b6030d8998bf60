"""One clustering experiment, end to end: configuration in, scored segmentation out.

The protocol of Bester & Rosman (2024): split the accounts 50/50 into train and test (seeded), train
the autoencoder on the train split with its pretext loss, cluster (k-means on the latents, or a Deep
Temporal Clustering layer refined jointly with the encoder), assign the test split with the trained
model, and score each split by silhouette and Davies-Bouldin computed on the standardised series
themselves (not the latents), so configurations with different latent spaces compare on one scale.
A run that finds fewer clusters than asked is degenerate and gets no scores, as in the reference.

torch is imported inside `experiment_run` only: Django imports this module's dataclasses freely.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from finai.errors import ApplicationError

ENCODERS = ("fc", "resnet", "lstm", "dtc")
PRETEXTS = ("mse", "multi_rec", "vae")
HEADS = ("kmeans", "dtc")
DISTANCES = ("euclidean", "cid")
REDUCTIONS = ("none", "pca", "umap")
CENTROID_INITIALISATIONS = ("hierarchical", "kmeans")
_SPLIT_STREAM = 50_50


@dataclass(frozen=True)
class ExperimentConfig:
    """What to train. `distance` applies to the dtc head only, `reduction` to the kmeans head only.

    The embedding head follows the pretext loss, as in the reference: variational for vae, a plain
    vector otherwise.
    """

    encoder: str = "fc"
    pretext: str = "mse"
    head: str = "kmeans"
    distance: str = "euclidean"
    k: int = 4
    reduction: str = "none"
    reduced_dim: int = 5
    latent_dim: int = 10
    seed: int = 0
    epochs: int = 10
    cluster_epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    cluster_weight: float = 1.0
    centroid_init: str = "kmeans"
    threads: int = 1

    def __post_init__(self) -> None:
        problems = {}
        for name, allowed in (
            ("encoder", ENCODERS),
            ("pretext", PRETEXTS),
            ("head", HEADS),
            ("distance", DISTANCES),
            ("reduction", REDUCTIONS),
            ("centroid_init", CENTROID_INITIALISATIONS),
        ):
            if getattr(self, name) not in allowed:
                problems[name] = f"{getattr(self, name)!r} is not one of {', '.join(allowed)}"
        for name, minimum in (
            ("k", 2),
            ("reduced_dim", 1),
            ("latent_dim", 1),
            ("epochs", 0),
            ("cluster_epochs", 0),
            ("batch_size", 2),
            ("threads", 1),
            ("seed", 0),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                problems[name] = f"{value!r} is not a whole number >= {minimum}"
        if not self.learning_rate > 0:
            problems["learning_rate"] = f"{self.learning_rate!r} is not positive"
        if not self.cluster_weight >= 0:
            problems["cluster_weight"] = f"{self.cluster_weight!r} is negative"
        if self.head == "kmeans" and self.distance != "euclidean":
            problems["distance"] = "applies to the dtc head only; k-means is Euclidean"
        if self.head == "dtc" and self.reduction != "none":
            problems["reduction"] = "applies to the kmeans head only"
        if problems:
            raise ApplicationError("Invalid clustering configuration.", details=problems)

    @property
    def embedding(self) -> str:
        return "variational" if self.pretext == "vae" else "vector"

    @property
    def label(self) -> str:
        """A short name for tables and charts, e.g. "resnet/mse/dtc-cid/k=4"."""
        head = f"dtc-{self.distance}" if self.head == "dtc" else f"kmeans-{self.reduction}"
        return f"{self.encoder}/{self.pretext}/{head}/k={self.k}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def key(self) -> str:
        """SHA-256 of the canonical configuration: one run per configuration in an experiment."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ApplicationError(
                "Unknown configuration fields.", details=dict.fromkeys(unknown, "not a configuration field")
            )
        return cls(**values)


@dataclass(frozen=True)
class ExperimentResult:
    """Scores per split (None where degenerate), assignments and latents in series order, the model."""

    config: ExperimentConfig
    silhouette_train: float | None
    silhouette_test: float | None
    davies_bouldin_train: float | None
    davies_bouldin_test: float | None
    clusters_found_train: int
    clusters_found_test: int
    training_seconds: float
    assignments: np.ndarray
    in_train: np.ndarray
    latents: np.ndarray
    model_state: bytes = field(repr=False)
    pretext_losses: list[float] = field(default_factory=list)
    cluster_losses: list[float] = field(default_factory=list)
    channels: int = 1
    length: int = 0

    @property
    def degenerate(self) -> bool:
        """Fewer clusters than asked on either split: the reference scores such runs as invalid."""
        return min(self.clusters_found_train, self.clusters_found_test) < self.config.k

    def metrics(self) -> dict[str, Any]:
        """JSON-ready scores, for storage beside the configuration."""
        return {
            "silhouette_train": self.silhouette_train,
            "silhouette_test": self.silhouette_test,
            "davies_bouldin_train": self.davies_bouldin_train,
            "davies_bouldin_test": self.davies_bouldin_test,
            "clusters_found_train": self.clusters_found_train,
            "clusters_found_test": self.clusters_found_test,
            "degenerate": self.degenerate,
            "training_seconds": self.training_seconds,
            "channels": self.channels,
            "length": self.length,
            "pretext_losses": self.pretext_losses,
            "cluster_losses": self.cluster_losses,
        }


def config_grid(
    *,
    encoders: Iterable[str] = ENCODERS,
    pretexts: Iterable[str] = PRETEXTS,
    heads: Iterable[str] = HEADS,
    distances: Iterable[str] = DISTANCES,
    ks: Iterable[int] = (2, 4, 6),
    reductions: Iterable[str] = REDUCTIONS,
    seeds: Iterable[int] = range(5),
    **common: Any,
) -> list[ExperimentConfig]:
    """Every meaningful combination, once: distances vary only under the dtc head, reductions only under kmeans.

    With the defaults: 4 encoders x 3 pretexts x (3 reductions + 2 distances) x 3 k x 5 seeds = 900 runs.
    """
    base = ExperimentConfig(**common)
    configs: dict[ExperimentConfig, None] = {}
    for encoder, pretext, head, distance, k, reduction, seed in itertools.product(
        encoders, pretexts, heads, distances, ks, reductions, seeds
    ):
        if head == "kmeans":
            distance = "euclidean"
        else:
            reduction = "none"
        config = replace(
            base, encoder=encoder, pretext=pretext, head=head, distance=distance, k=k, reduction=reduction, seed=seed
        )
        configs[config] = None
    return list(configs)


def experiment_split(*, count: int, seed: int) -> np.ndarray:
    """True for the accounts in the train half (the larger half when the count is odd).

    The generator is keyed by the seed and a constant of its own, so the split does not repeat the
    first draws of anything else seeded with the same number (such as the synthetic generator's).
    """
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(count)
    in_train = np.zeros(count, dtype=bool)
    in_train[order[count // 2 :]] = True
    return in_train


def experiment_run(
    *, series: np.ndarray, config: ExperimentConfig, on_progress: Callable[[float], None] | None = None
) -> ExperimentResult:
    """Train, cluster and score one configuration; series are (accounts, length) or (accounts, channels, length).

    `on_progress` is told the share of training epochs done (0 to 1) after each epoch, for a progress bar; it
    only watches, so the result is the same with or without it.
    """
    import torch

    from clustering.nn.determinism import deterministic
    from clustering.nn.factory import autoencoder_build
    from clustering.nn.kmeans import latent_kmeans_assign, latent_kmeans_fit, latent_kmeans_state
    from clustering.nn.pretext import PRETEXT_LOSSES
    from clustering.nn.temporal_clustering import TemporalClusteringLayer, centroids_initialise
    from clustering.nn.training import autoencoder_train, temporal_clustering_train

    values = _as_channels(series)
    accounts, channels, length = values.shape
    in_train = experiment_split(count=accounts, seed=config.seed)
    if min(in_train.sum(), (~in_train).sum()) < config.k:
        raise ApplicationError(
            "Too few accounts for the number of clusters.",
            details={"series": f"{accounts} accounts give fewer than k={config.k} per split"},
        )
    data = torch.from_numpy(values)
    train = data[torch.from_numpy(in_train)]
    pretext = PRETEXT_LOSSES[config.pretext]

    with deterministic(seed=config.seed, threads=config.threads) as generator:
        started = time.perf_counter()
        model = autoencoder_build(
            encoder=config.encoder,
            pretext=config.pretext,
            channels=channels,
            length=length,
            latent_dim=config.latent_dim,
        )
        training = {
            "data": train,
            "pretext": pretext,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "generator": generator,
            "on_epoch": _epoch_counter(config, on_progress),
        }
        pretext_losses = autoencoder_train(model=model, epochs=config.epochs, **training)
        cluster_losses: list[float] = []
        if config.head == "dtc":
            layer = TemporalClusteringLayer(
                centroids=centroids_initialise(
                    latents=model.latents(train),
                    k=config.k,
                    distance=config.distance,
                    method=config.centroid_init,
                    seed=config.seed,
                ),
                distance=config.distance,
            )
            cluster_losses = temporal_clustering_train(
                model=model,
                layer=layer,
                epochs=config.cluster_epochs,
                cluster_weight=config.cluster_weight,
                **training,
            )
            latents = model.latents(data)
            with torch.no_grad():
                assignments = layer(latents).argmax(dim=1).numpy()
            state = {"autoencoder": model.state_dict(), "clustering_layer": layer.state_dict()}
        else:
            latents = model.latents(data)
            head = latent_kmeans_fit(
                latents=latents[torch.from_numpy(in_train)].numpy(),
                k=config.k,
                reduction=config.reduction,
                reduced_dim=config.reduced_dim,
                seed=config.seed,
            )
            kmeans = latent_kmeans_state(head)
            assignments = latent_kmeans_assign(kmeans, latents.numpy())
            state = {
                "autoencoder": model.state_dict(),
                "kmeans": {name: torch.from_numpy(values) for name, values in kmeans.items()},
            }
        training_seconds = time.perf_counter() - started
        buffer = io.BytesIO()
        torch.save(state, buffer)

    flat = values.reshape(accounts, -1)
    train_scores = _scores(flat[in_train], assignments[in_train], k=config.k)
    test_scores = _scores(flat[~in_train], assignments[~in_train], k=config.k)
    return ExperimentResult(
        config=config,
        silhouette_train=train_scores[0],
        davies_bouldin_train=train_scores[1],
        clusters_found_train=train_scores[2],
        silhouette_test=test_scores[0],
        davies_bouldin_test=test_scores[1],
        clusters_found_test=test_scores[2],
        training_seconds=training_seconds,
        assignments=assignments.astype(np.int64),
        in_train=in_train,
        latents=latents.numpy().astype(np.float32),
        model_state=buffer.getvalue(),
        pretext_losses=pretext_losses,
        cluster_losses=cluster_losses,
        channels=channels,
        length=length,
    )


def experiment_assign(
    *, model_state: bytes, config: ExperimentConfig, series: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Segments and latents of new series under a trained run, in series order.

    The series must have the run's shape (channels, length): build them as the run's were, with its length.
    """
    import torch

    from clustering.nn.factory import autoencoder_build
    from clustering.nn.kmeans import latent_kmeans_assign
    from clustering.nn.temporal_clustering import TemporalClusteringLayer

    values = _as_channels(series)
    _, channels, length = values.shape
    state = torch.load(io.BytesIO(model_state), weights_only=True)
    model = autoencoder_build(
        encoder=config.encoder, pretext=config.pretext, channels=channels, length=length, latent_dim=config.latent_dim
    )
    model.load_state_dict(state["autoencoder"])
    latents = model.latents(torch.from_numpy(values))
    if "clustering_layer" in state:
        centroids = state["clustering_layer"]["centroids"]
        layer = TemporalClusteringLayer(centroids=centroids, distance=config.distance)
        with torch.no_grad():
            assignments = layer(latents).argmax(dim=1).numpy()
    else:
        kmeans = {name: tensor.numpy() for name, tensor in state["kmeans"].items()}
        assignments = latent_kmeans_assign(kmeans, latents.numpy())
    return assignments.astype(np.int64), latents.numpy().astype(np.float32)


def latent_projection(latents: np.ndarray) -> np.ndarray:
    """The latents on their first two principal components, (accounts, 2), for the latent map.

    PCA rather than t-SNE: it is deterministic, linear (distances along an axis mean something) and
    takes milliseconds for Berka's 4,500 accounts; a one-dimensional latent gets a zero second axis.
    """
    centred = np.asarray(latents, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    if projected.shape[1] < 2:
        projected = np.hstack([projected, np.zeros((len(projected), 2 - projected.shape[1]))])
    # SVD fixes each axis only up to its sign: make the largest-magnitude coordinate positive, for stable maps.
    signs = np.sign(projected[np.abs(projected).argmax(axis=0), range(2)])
    return projected * np.where(signs == 0, 1, signs)


def _epoch_counter(config: ExperimentConfig, on_progress: Callable[[float], None] | None) -> Callable[[], None] | None:
    """Counts finished epochs of both loops and reports their share of the run's epochs."""
    if on_progress is None:
        return None
    total = config.epochs + (config.cluster_epochs if config.head == "dtc" else 0)
    done = 0

    def epoch_done() -> None:
        nonlocal done
        done += 1
        on_progress(min(done / total, 1.0))

    return epoch_done


def _as_channels(series: np.ndarray) -> np.ndarray:
    values = np.asarray(series, dtype=np.float32)
    if values.ndim == 2:
        values = values[:, None, :]
    if values.ndim != 3 or values.shape[2] < 2:
        raise ApplicationError(
            "Series must be shaped (accounts, length) or (accounts, channels, length), length >= 2.",
            details={"series": f"shape {values.shape}"},
        )
    if not np.isfinite(values).all():
        raise ApplicationError("Series contain values that are not finite.", details={"series": "NaN or infinity"})
    return np.ascontiguousarray(values)


def _scores(flat: np.ndarray, labels: np.ndarray, *, k: int) -> tuple[float | None, float | None, int]:
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    found = int(np.unique(labels).size)
    if found < k:
        return None, None, found
    return float(silhouette_score(flat, labels)), float(davies_bouldin_score(flat, labels)), found
