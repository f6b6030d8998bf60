"""The experiment engine: configurations, the grid, the split, determinism, degenerate runs."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.utils.deterministic

from clustering.experiments import ExperimentConfig, config_grid, experiment_run, experiment_split
from clustering.nn.factory import autoencoder_build
from finai.errors import ApplicationError


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    rng = np.random.default_rng(0)
    waves = np.sin(np.linspace(0, 6, 24))[None, :] * rng.choice([-1.0, 1.0], (40, 1))
    return (waves + rng.normal(0, 0.3, (40, 24))).astype(np.float32)


def test_a_configuration_names_every_invalid_field():
    with pytest.raises(ApplicationError) as error:
        ExperimentConfig(encoder="gru", pretext="ssl", head="gmm", k=1, epochs=-1, learning_rate=0)
    assert set(error.value.details) == {"encoder", "pretext", "head", "k", "epochs", "learning_rate"}


def test_distance_belongs_to_the_dtc_head_and_reduction_to_kmeans():
    with pytest.raises(ApplicationError) as error:
        ExperimentConfig(head="kmeans", distance="cid")
    assert set(error.value.details) == {"distance"}
    with pytest.raises(ApplicationError) as error:
        ExperimentConfig(head="dtc", reduction="pca")
    assert set(error.value.details) == {"reduction"}


def test_a_configuration_survives_a_round_trip_through_json_values():
    config = ExperimentConfig(encoder="lstm", pretext="vae", head="dtc", distance="cid", k=6, seed=3)
    assert ExperimentConfig.from_dict(config.as_dict()) == config
    assert config.embedding == "variational"
    with pytest.raises(ApplicationError, match="Unknown"):
        ExperimentConfig.from_dict({**config.as_dict(), "umap": True})


def test_the_default_grid_is_every_configuration_once():
    grid = config_grid()
    assert len(grid) == len(set(grid)) == 4 * 3 * (3 + 2) * 3 * 5
    assert {config.distance for config in grid if config.head == "kmeans"} == {"euclidean"}
    assert {config.reduction for config in grid if config.head == "dtc"} == {"none"}
    assert {config.k for config in grid} == {2, 4, 6}


def test_the_grid_passes_common_settings_to_every_configuration():
    grid = config_grid(encoders=["fc"], pretexts=["mse"], heads=["kmeans"], ks=[2], seeds=[0], epochs=3)
    assert [(config.reduction, config.epochs) for config in grid] == [("none", 3), ("pca", 3), ("umap", 3)]


def test_the_split_is_half_and_half_seeded_and_differs_between_seeds():
    first, again, other = (experiment_split(count=101, seed=seed) for seed in (4, 4, 5))
    assert first.sum() == 51
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(
    "config",
    [
        ExperimentConfig(encoder="resnet", pretext="multi_rec", k=2, epochs=2),
        ExperimentConfig(encoder="lstm", pretext="vae", head="dtc", distance="cid", k=2, epochs=2, cluster_epochs=2),
    ],
    ids=["resnet-multi_rec-kmeans", "lstm-vae-dtc"],
)
def test_the_same_seed_gives_the_same_segments_latents_and_model(series, config):
    first = experiment_run(series=series, config=config)
    second = experiment_run(series=series, config=config)

    np.testing.assert_array_equal(first.assignments, second.assignments)
    np.testing.assert_array_equal(first.latents, second.latents)
    assert first.model_state == second.model_state
    assert first.pretext_losses == second.pretext_losses


def test_training_leaves_torch_settings_as_it_found_them(series):
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    state = torch.random.get_rng_state()

    experiment_run(series=series, config=ExperimentConfig(k=2, epochs=1, threads=1))

    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.utils.deterministic.fill_uninitialized_memory == fill
    assert torch.equal(torch.random.get_rng_state(), state)


def test_scores_are_computed_on_the_series_and_match_sklearn(series):
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    result = experiment_run(series=series, config=ExperimentConfig(k=2, epochs=3, seed=1))

    test = ~result.in_train
    assert result.silhouette_test == pytest.approx(silhouette_score(series[test], result.assignments[test]))
    assert result.davies_bouldin_train == pytest.approx(
        davies_bouldin_score(series[result.in_train], result.assignments[result.in_train])
    )
    assert not result.degenerate
    assert result.latents.shape == (40, 10)
    assert result.training_seconds > 0


def test_a_run_that_finds_fewer_clusters_than_asked_is_degenerate_and_unscored():
    identical = np.tile(np.linspace(-1, 1, 16, dtype=np.float32), (20, 1))
    with pytest.warns(Warning, match="distinct clusters"):
        result = experiment_run(series=identical, config=ExperimentConfig(k=3, epochs=1))
    assert result.degenerate
    assert result.clusters_found_train == 1
    assert result.silhouette_train is result.davies_bouldin_test is None
    assert result.metrics()["degenerate"] is True


def test_it_refuses_series_that_are_not_finite_or_too_few_for_k(series):
    broken = series.copy()
    broken[0, 0] = np.nan
    with pytest.raises(ApplicationError, match="not finite"):
        experiment_run(series=broken, config=ExperimentConfig(k=2))
    with pytest.raises(ApplicationError, match="Too few accounts"):
        experiment_run(series=series[:5], config=ExperimentConfig(k=3))


def test_the_stored_model_reassigns_every_account_to_its_segment(series):
    config = ExperimentConfig(encoder="fc", k=3, reduction="pca", reduced_dim=2, epochs=2)
    result = experiment_run(series=series, config=config)
    state = torch.load(io.BytesIO(result.model_state))
    model = autoencoder_build(encoder="fc", pretext="mse", channels=1, length=24, latent_dim=config.latent_dim)
    model.load_state_dict(state["autoencoder"])

    latents = model.latents(torch.from_numpy(series[:, None, :]))
    kmeans = state["kmeans"]
    projected = (latents - kmeans["pca_mean"]) @ kmeans["pca_components"].T
    nearest = torch.cdist(projected.double(), kmeans["centers"].double()).argmin(dim=1)

    np.testing.assert_array_equal(nearest.numpy(), result.assignments)
