"""Segments after a run: the latent map, assigning new accounts, choosing the segmentation in use and the
run's pages (profiles checked by hand against the Berka tables are in tests/lending/selectors/test_berka_dataset.py)."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from sklearn.decomposition import PCA

from clustering.experiments import ExperimentConfig, experiment_assign, experiment_run, latent_projection
from clustering.models import ClusteringExperiment, ClusteringRun, SegmentAssignment
from clustering.series import amount_series_build
from clustering.services import clustering_experiment_create, clustering_run_execute, segmentation_choose
from clustering.synthetic import synthetic_transactions_generate
from finai.errors import ApplicationError
from finai.models import AuditEvent


@pytest.fixture(scope="module")
def amount_series() -> np.ndarray:
    synthetic = synthetic_transactions_generate(accounts_per_group=12, months=4, seed=2)
    table = synthetic.transactions
    return amount_series_build(account_ids=table["account_id"], dates=table["date"], amounts=table["amount"]).values


def test_the_latent_map_is_the_first_two_principal_components():
    latents = np.random.default_rng(0).normal(size=(200, 6)) * [5, 3, 1, 1, 1, 1]

    projected = latent_projection(latents)

    reference = PCA(n_components=2).fit_transform(latents)
    for axis in range(2):  # each axis is defined up to its sign
        assert np.allclose(np.abs(projected[:, axis]), np.abs(reference[:, axis]), atol=1e-9)
        assert np.allclose(
            projected[:, axis] * np.sign(projected[0, axis]), reference[:, axis] * np.sign(reference[0, axis])
        )


@pytest.mark.parametrize(
    "config",
    [
        ExperimentConfig(encoder="fc", head="kmeans", reduction="pca", reduced_dim=3, k=3, epochs=3),
        ExperimentConfig(encoder="fc", head="kmeans", reduction="umap", reduced_dim=2, k=3, epochs=3),
        ExperimentConfig(encoder="dtc", head="dtc", distance="cid", k=3, epochs=2, cluster_epochs=2),
    ],
    ids=["kmeans-pca", "kmeans-umap", "dtc-cid"],
)
def test_a_stored_model_assigns_the_runs_own_accounts_to_the_same_segments(amount_series, config):
    result = experiment_run(series=amount_series, config=config)

    segments, latents = experiment_assign(model_state=result.model_state, config=config, series=amount_series)

    assert np.array_equal(segments, result.assignments)
    assert np.allclose(latents, result.latents, atol=1e-5)


@pytest.mark.django_db
class TestWithImportedBerka:
    @pytest.fixture
    def run(self, berka_folder) -> ClusteringRun:
        call_command("import_berka", path=str(berka_folder), stdout=StringIO())
        experiment = clustering_experiment_create(
            name="segments",
            configs=[ExperimentConfig(encoder="fc", pretext="mse", head="kmeans", k=2, epochs=2)],
            enqueue=False,
        )
        return clustering_run_execute(run_id=experiment.runs.get().pk)

    def test_every_account_of_a_run_gets_a_point_on_the_latent_map(self, run):
        assignments = SegmentAssignment.objects.filter(run=run)

        assert not assignments.filter(projection_x__isnull=True).exists()
        assert assignments.values("projection_x").distinct().count() > 1

    def test_a_manager_chooses_the_segmentation_in_use_and_a_new_choice_replaces_it(self, run, model_manager):
        other = ClusteringRun.objects.get(pk=run.pk)
        other.pk, other.config_key, other.chosen = None, "f" * 64, False
        other.save()

        segmentation_choose(run_id=run.pk, chosen_by=model_manager)
        segmentation_choose(run_id=other.pk, chosen_by=model_manager)

        assert list(ClusteringRun.objects.filter(chosen=True).values_list("pk", flat=True)) == [other.pk]
        event = AuditEvent.objects.filter(action="clustering.segmentation_chosen").order_by("-pk").first()
        assert event.payload["previous"] == run.pk

    def test_an_officer_cannot_choose_and_unusable_runs_are_refused_by_name(self, run, loan_officer, model_manager):

        with pytest.raises(PermissionDenied):
            segmentation_choose(run_id=run.pk, chosen_by=loan_officer)
        ClusteringRun.objects.filter(pk=run.pk).update(status=ClusteringRun.Status.FAILED)
        with pytest.raises(ApplicationError) as refused:
            segmentation_choose(run_id=run.pk, chosen_by=model_manager)
        assert "run" in refused.value.details
        weekly = ClusteringExperiment.objects.filter(pk=run.experiment_id)
        weekly.update(series=ClusteringExperiment.Series.WEEKLY)
        ClusteringRun.objects.filter(pk=run.pk).update(status=ClusteringRun.Status.FINISHED)
        with pytest.raises(ApplicationError) as refused:
            segmentation_choose(run_id=run.pk, chosen_by=model_manager)
        assert "series" in refused.value.details
        weekly.update(series=ClusteringExperiment.Series.AMOUNTS)
        ClusteringRun.objects.filter(pk=run.pk).update(reduction="umap")
        with pytest.raises(ApplicationError) as refused:
            segmentation_choose(run_id=run.pk, chosen_by=model_manager)
        assert set(refused.value.details) == {"reduction"}
        assert not ClusteringRun.objects.filter(chosen=True).exists()

    def test_the_run_page_says_why_a_run_cannot_be_chosen_instead_of_offering_it(self, run, client, model_manager):
        client.force_login(model_manager)
        ClusteringRun.objects.filter(pk=run.pk).update(reduction="umap")

        page = client.get(reverse("clustering:run_detail", args=[run.pk]))

        assert b"Choose this segmentation" not in page.content
        assert b"Cannot be the segmentation in use: UMAP runs are for analysis" in page.content

    def test_the_pages_compare_runs_and_show_the_profiles(self, run, client, model_manager):
        client.force_login(model_manager)

        listing = client.get(reverse("clustering:experiment_list"))
        detail = client.get(reverse("clustering:experiment_detail", args=[run.experiment_id]), {"sort": "runs"})
        page = client.get(reverse("clustering:run_detail", args=[run.pk]))
        chosen = client.post(reverse("clustering:run_choose", args=[run.pk]))

        assert listing.status_code == detail.status_code == page.status_code == 200
        assert b"fc/mse/kmeans-none/k=2" in detail.content
        assert b'id="segment-profiles"' in page.content
        assert b"Latent space of the accounts (PCA)" in page.content
        assert chosen.status_code == 302
        assert ClusteringRun.objects.get(pk=run.pk).chosen

    def test_the_run_page_points_out_a_segment_of_a_few_outlying_accounts(self, run, client, model_manager):
        client.force_login(model_manager)
        accounts = list(SegmentAssignment.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))
        SegmentAssignment.objects.filter(pk__in=accounts[: len(accounts) // 2]).update(segment=0)
        SegmentAssignment.objects.filter(pk__in=accounts[len(accounts) // 2 :]).update(segment=1)
        balanced = client.get(reverse("clustering:run_detail", args=[run.pk]))
        SegmentAssignment.objects.filter(pk__in=accounts[1:]).update(segment=1)

        lopsided = client.get(reverse("clustering:run_detail", args=[run.pk]))

        assert b'id="small-segments"' not in balanced.content
        assert b"Segment 0 holds 1 account (" in lopsided.content
