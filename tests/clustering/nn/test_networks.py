"""Distances and the Deep Temporal Clustering formulas, against hand computation; network shapes; the
k-means head against its own fitted pipeline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score
from torch.nn import functional

from clustering.nn.convolution import same_length_convolution
from clustering.nn.distances import complexity_invariant_distances, euclidean_distances
from clustering.nn.factory import autoencoder_build
from clustering.nn.kmeans import latent_kmeans_assign, latent_kmeans_fit, latent_kmeans_state
from clustering.nn.pretext import PRETEXT_LOSSES
from clustering.nn.temporal_clustering import (
    centroids_initialise,
    clustering_loss,
    soft_assignment,
    target_distribution,
)


def test_the_complexity_invariant_distance_matches_a_hand_computation():
    x, centroid = [0.0, 3.0, 1.0], [1.0, 1.0, 2.0]
    euclidean = math.sqrt((0 - 1) ** 2 + (3 - 1) ** 2 + (1 - 2) ** 2)  # sqrt(6)
    complexity_x = math.sqrt((3 - 0) ** 2 + (1 - 3) ** 2)  # sqrt(13)
    complexity_centroid = math.sqrt((1 - 1) ** 2 + (2 - 1) ** 2)  # 1
    expected = euclidean * max(complexity_x, complexity_centroid) / min(complexity_x, complexity_centroid)

    distance = complexity_invariant_distances(torch.tensor([x]), torch.tensor([centroid]))

    assert distance.item() == pytest.approx(expected, rel=1e-6)
    assert euclidean_distances(torch.tensor([x]), torch.tensor([centroid])).item() == pytest.approx(euclidean, rel=1e-6)


def test_the_complexity_invariant_distance_is_the_euclidean_one_between_equally_complex_series():
    points = torch.tensor([[0.0, 1.0, 0.0], [5.0, 4.0, 5.0]])
    centroids = torch.tensor([[1.0, 2.0, 1.0]])
    torch.testing.assert_close(
        complexity_invariant_distances(points, centroids), euclidean_distances(points, centroids)
    )


def test_the_student_t_assignment_matches_a_hand_computation():
    alpha = 1.0
    kernels = [(1 + distance / alpha) ** (-(alpha + 1) / 2) for distance in (1.0, 3.0)]  # 1/2, 1/4
    assignments = soft_assignment(torch.tensor([[1.0, 3.0]]), alpha=alpha)
    torch.testing.assert_close(assignments, torch.tensor([[kernel / sum(kernels) for kernel in kernels]]))


def test_the_target_distribution_matches_a_hand_computation():
    q = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]
    frequency = [sum(row[j] for row in q) for j in range(2)]  # 1.7, 1.3
    expected = []
    for row in q:
        weighted = [row[j] ** 2 / frequency[j] for j in range(2)]
        expected.append([value / sum(weighted) for value in weighted])

    target = target_distribution(torch.tensor(q, dtype=torch.float64))

    torch.testing.assert_close(target, torch.tensor(expected, dtype=torch.float64))
    assert target[0, 0] > q[0][0]  # sharper than the assignment it came from


def test_the_clustering_loss_is_kl_of_target_from_assignment_per_series():
    q = torch.tensor([[0.7, 0.3], [0.4, 0.6]], dtype=torch.float64)
    p = torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    expected = sum(p[i, j] * math.log(p[i, j] / q[i, j]) for i in range(2) for j in range(2)) / 2
    assert clustering_loss(q, p).item() == pytest.approx(float(expected))


@pytest.mark.parametrize("encoder", ["fc", "resnet", "lstm", "dtc"])
@pytest.mark.parametrize("pretext", ["mse", "multi_rec", "vae"])
def test_every_architecture_reconstructs_the_input_shape_and_gives_a_finite_pretext_loss(encoder, pretext):
    torch.manual_seed(0)
    model = autoencoder_build(encoder=encoder, pretext=pretext, channels=2, length=37, latent_dim=6)
    x = torch.randn(4, 2, 37)

    assert model(x).shape == x.shape
    assert model.latents(x).shape == (4, 6)
    loss, embedding = PRETEXT_LOSSES[pretext](model, x)
    loss.backward()
    assert embedding.mean.shape == (4, 6)
    assert torch.isfinite(loss)
    assert all(parameter.grad is not None for parameter in model.encoder.parameters())


def test_the_variational_head_clusters_its_mean_not_a_sample():
    torch.manual_seed(0)
    model = autoencoder_build(encoder="fc", pretext="vae", channels=1, length=12, latent_dim=3)
    x = torch.randn(5, 1, 12)
    torch.testing.assert_close(model.latents(x), model.latents(x))
    model.train()
    assert not torch.equal(model.encode(x).z, model.encode(x).z)


@pytest.mark.parametrize("method", ["hierarchical", "kmeans"])
@pytest.mark.parametrize("distance", ["euclidean", "cid"])
def test_centroids_start_at_the_means_of_well_separated_groups(method, distance):
    generator = torch.Generator().manual_seed(0)
    low = torch.randn(30, 4, generator=generator) * 0.05 + torch.tensor([0.0, 1.0, 0.0, 1.0])
    high = torch.randn(20, 4, generator=generator) * 0.05 + torch.tensor([5.0, 9.0, 4.0, 8.0])

    centroids = centroids_initialise(latents=torch.cat([low, high]), k=2, distance=distance, method=method, seed=0)

    ordered = sorted(centroids.tolist(), key=lambda centroid: centroid[0])
    torch.testing.assert_close(torch.tensor(ordered), torch.stack([low.mean(0), high.mean(0)]))


@pytest.mark.parametrize("kernel", [3, 5, 8])
@pytest.mark.parametrize("stride", [1, 2])
def test_a_same_length_convolution_pads_as_same_padding_would(kernel, stride):
    convolution = same_length_convolution(2, 3, kernel, stride=stride)
    x = torch.randn(4, 2, 25)

    expected = functional.conv1d(
        functional.pad(x, ((kernel - 1) // 2, kernel // 2)),
        convolution[1].weight,
        convolution[1].bias,
        stride=stride,
    )

    torch.testing.assert_close(convolution(x), expected)
    assert convolution(x).shape[2] == math.ceil(25 / stride)


def test_the_resnet_decoder_output_is_the_upsampled_series_through_its_1x1_convolution():
    decoder = autoencoder_build(encoder="resnet", pretext="mse", channels=2, length=150, latent_dim=4).decoder
    z = torch.randn(3, 4)

    layers = decoder.layers(z)
    upsampled_first = decoder.output(decoder.upsamples[-1](layers[1]))

    torch.testing.assert_close(layers[0], upsampled_first)


def _planted_latents(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 3, count)
    centres = np.array([[0.0] * 10, [6.0] * 5 + [0.0] * 5, [0.0] * 5 + [6.0] * 5])
    return (centres[groups] + rng.normal(0, 0.5, (count, 10))).astype(np.float32), groups


@pytest.mark.parametrize("reduction", ["none", "pca", "umap"])
def test_the_kmeans_head_finds_planted_groups_and_its_stored_state_assigns_as_the_fitted_pipeline(reduction):
    latents, _ = _planted_latents(150, seed=0)
    unseen, unseen_groups = _planted_latents(60, seed=1)

    pipeline = latent_kmeans_fit(latents=latents, k=3, reduction=reduction, reduced_dim=2, seed=0)
    state = latent_kmeans_state(pipeline)

    assert len(pipeline) == (1 if reduction == "none" else 2)
    np.testing.assert_array_equal(latent_kmeans_assign(state, unseen), pipeline.predict(unseen))
    assert adjusted_rand_score(unseen_groups, latent_kmeans_assign(state, unseen)) == 1.0


def test_umap_is_sized_down_for_a_handful_of_accounts():
    latents, _ = _planted_latents(6, seed=2)

    pipeline = latent_kmeans_fit(latents=latents, k=2, reduction="umap", reduced_dim=5, seed=0)

    assert (pipeline[0].n_components, pipeline[0].n_neighbors) == (4, 5)
    assert latent_kmeans_assign(latent_kmeans_state(pipeline), latents).shape == (6,)
