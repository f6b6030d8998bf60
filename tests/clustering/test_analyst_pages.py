"""The analyst's room: a home page, experiments started from the web and followed by their progress, the
segmentation chosen by an analyst, and the reading of each silhouette beside it. Who may see which page for
every persona is in tests/finai/test_access.py; here, what each page does."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringExperiment, ClusteringRun
from clustering.selectors import experiment_job
from clustering.services import clustering_experiment_create, clustering_experiment_resume
from finai.errors import ApplicationError
from finai.models import AuditEvent
from tests.clustering.records import finished_run_record

pytestmark = pytest.mark.django_db

VALID = {
    "name": "fc against resnet",
    "dataset": "berka",
    "series": "amounts",
    "series_length": "",
    "encoders": ["fc", "resnet"],
    "pretexts": ["mse"],
    "heads": ["kmeans"],
    "reductions": ["none"],
    "distances": ["euclidean"],
    "ks": "2, 4",
    "seeds": "0 1",
    "epochs": "3",
    "cluster_epochs": "2",
    "latent_dim": "8",
}

FINISHED_SCORES = {"degenerate": False, "silhouette_test": 0.3, "davies_bouldin_test": 1.1, "training_seconds": 0.2}


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The run ids sent to the workers (no broker in these tests)."""
    sent: list[int] = []
    monkeypatch.setattr("clustering.services.clustering_runs_enqueue", lambda *, run_ids: sent.extend(run_ids))
    return sent


def _start(client, django_capture_on_commit_callbacks, **changes):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("clustering:experiment_new"), {**VALID, **changes})


class TestTheAnalystHome:
    def test_an_analyst_starts_on_the_home_with_the_segmentation_in_use_read_in_words(
        self, client, analyst, clustering_run
    ):
        ClusteringRun.objects.filter(pk=clustering_run.pk).update(chosen=True)
        client.force_login(analyst)

        home = client.get(reverse("home"), follow=True)

        assert home.redirect_chain[-1][0] == reverse("clustering:analyst_home")
        content = home.content.decode()
        assert 'id="segmentation-in-use"' in content
        assert "Test silhouette 0.210:" in content
        assert "no substantial structure" in content
        assert "Kaufman &amp; Rousseeuw" in content
        assert "Start an experiment" in content

    def test_it_lists_experiments_with_progress_and_segmentations_best_first(self, client, analyst, clustering_run):
        better = finished_run_record(
            experiment_name="second grid",
            config=ExperimentConfig(encoder="resnet", k=3),
            silhouette_test=0.55,
            davies_bouldin_test=0.9,
        )
        client.force_login(analyst)

        content = client.get(reverse("clustering:analyst_home")).content.decode()

        assert content.index(f"Run {better.pk}<") < content.index(f"Run {clustering_run.pk}<")
        assert "reasonable structure" in content
        assert "1 of 1 run finished" in content

    def test_compliance_reads_it_without_the_start_button(self, client, compliance_officer, clustering_run):
        client.force_login(compliance_officer)

        response = client.get(reverse("clustering:analyst_home"))

        assert response.status_code == 200
        assert "Start an experiment" not in response.content.decode()

    def test_an_officer_is_refused_and_a_visitor_is_sent_to_sign_in(self, client, loan_officer):
        anonymous = client.get(reverse("clustering:analyst_home"))
        client.force_login(loan_officer)
        officer = client.get(reverse("clustering:analyst_home"))

        assert anonymous.status_code == 302
        assert urlsplit(anonymous["Location"]).path == reverse("login")
        assert officer.status_code == 403


class TestStartingAnExperiment:
    def test_the_form_offers_the_fast_defaults(self, client, analyst):
        client.force_login(analyst)

        form = client.get(reverse("clustering:experiment_new")).context["form"]

        assert form["encoders"].initial == ["fc"]
        assert form["heads"].initial == ["kmeans"]
        assert form["ks"].initial == "2 4"
        assert form["seeds"].initial == "0"
        assert form["epochs"].initial == ExperimentConfig.epochs

    def test_an_analyst_starts_a_grid_that_is_queued_and_audited(
        self, client, analyst, queued, django_capture_on_commit_callbacks
    ):
        client.force_login(analyst)

        response = _start(client, django_capture_on_commit_callbacks)

        experiment = ClusteringExperiment.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("clustering:experiment_detail", args=[experiment.pk])
        runs = experiment.runs.order_by("pk")
        assert runs.count() == 8  # 2 encoders x 2 k x 2 seeds
        assert sorted(queued) == list(runs.values_list("pk", flat=True))
        assert set(runs.values_list("status", flat=True)) == {"queued"}
        config = ExperimentConfig.from_dict(runs.first().config)
        assert (config.epochs, config.latent_dim, experiment.created_by) == (3, 8, analyst)
        event = AuditEvent.objects.get(action="clustering.experiment_created")
        assert (event.actor, event.payload["runs"]) == (analyst, 8)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"ks": "1 4"}, "ks"),
            ({"ks": "two"}, "ks"),
            ({"seeds": "-1"}, "seeds"),
            ({"encoders": []}, "encoders"),
            ({"encoders": ["transformer"]}, "encoders"),
            ({"epochs": "-3"}, "epochs"),
            ({"series": "weekly", "series_length": "30"}, "series_length"),
            ({"name": "   "}, "name"),
        ],
    )
    def test_each_invalid_parameter_is_named_and_nothing_starts(
        self, client, analyst, queued, django_capture_on_commit_callbacks, changes, field
    ):
        client.force_login(analyst)

        response = _start(client, django_capture_on_commit_callbacks, **changes)

        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert not ClusteringExperiment.objects.exists()
        assert queued == []

    def test_a_grid_larger_than_the_reference_grid_is_refused(
        self, client, analyst, queued, django_capture_on_commit_callbacks
    ):
        client.force_login(analyst)
        every = {"encoders": ["fc", "resnet", "lstm", "dtc"], "pretexts": ["mse", "multi_rec", "vae"]}

        response = _start(
            client, django_capture_on_commit_callbacks, **every, ks="2 3 4 5 6 7 8 9 10 11", seeds="0 1 2 3 4 5 6 7"
        )

        assert response.status_code == 400
        assert "at most 900" in str(response.context["form"].non_field_errors())
        assert not ClusteringExperiment.objects.exists()

    def test_the_dtc_head_varies_distances_and_ignores_reductions(
        self, client, analyst, queued, django_capture_on_commit_callbacks
    ):
        client.force_login(analyst)

        _start(
            client,
            django_capture_on_commit_callbacks,
            heads=["dtc"],
            reductions=["pca"],
            distances=["euclidean", "cid"],
            ks="3",
            seeds="0",
            encoders=["dtc"],
        )

        runs = ClusteringExperiment.objects.get().runs.all()
        assert sorted(runs.values_list("distance", flat=True)) == ["cid", "euclidean"]
        assert set(runs.values_list("reduction", flat=True)) == {"none"}

    def test_compliance_cannot_start_one(self, client, compliance_officer, queued, django_capture_on_commit_callbacks):
        client.force_login(compliance_officer)

        response = _start(client, django_capture_on_commit_callbacks)

        assert response.status_code == 403
        assert not ClusteringExperiment.objects.exists()

    def test_the_service_refuses_a_person_without_a_segmentation_role(self, loan_officer):
        with pytest.raises(PermissionDenied):
            clustering_experiment_create(name="x", configs=[ExperimentConfig()], created_by=loan_officer)


class TestFollowingProgress:
    @pytest.fixture
    def experiment(self, analyst) -> ClusteringExperiment:
        configs = [ExperimentConfig(k=k) for k in (2, 3, 4, 5)]
        return clustering_experiment_create(name="four", configs=configs, created_by=analyst, enqueue=False)

    def _set(self, experiment, *states: tuple[str, int]) -> None:
        for run, (status, progress) in zip(experiment.runs.order_by("pk"), states, strict=True):
            scores = FINISHED_SCORES if status == "finished" else {}
            ClusteringRun.objects.filter(pk=run.pk).update(status=status, progress=progress, failure="boom", **scores)

    def test_a_queued_experiment_is_at_zero(self, client, analyst, experiment):
        client.force_login(analyst)

        data = client.get(reverse("clustering:experiment_progress", args=[experiment.pk])).json()

        assert data == {
            "status": "queued",
            "progress": 0,
            "progress_message": "0 of 4 runs finished, 4 queued",
            "failure": "",
        }

    def test_running_runs_count_by_their_epochs_and_ended_runs_whole(self, client, analyst, experiment):
        self._set(experiment, ("finished", 100), ("running", 50), ("queued", 0), ("queued", 0))
        client.force_login(analyst)

        data = client.get(reverse("clustering:experiment_progress", args=[experiment.pk])).json()

        assert (data["status"], data["progress"]) == ("running", 37)  # (100 + 50) / 4
        assert data["progress_message"] == "1 of 4 runs finished, 1 running, 2 queued"

    def test_it_is_done_when_every_run_finished_and_failed_when_one_failed(self, experiment):
        self._set(experiment, *[("finished", 100)] * 4)
        done = experiment_job(experiment=experiment)
        self._set(experiment, ("finished", 100), ("failed", 40), ("finished", 100), ("finished", 100))
        failed = experiment_job(experiment=experiment)

        assert (done.status, done.progress) == ("done", 100)
        assert (failed.status, failed.progress, failed.failed) == ("failed", 100, 1)
        assert "boom" in failed.failure

    def test_the_page_polls_while_runs_are_active_and_stops_when_done(self, client, analyst, experiment):
        client.force_login(analyst)
        url = reverse("clustering:experiment_detail", args=[experiment.pk])

        active = client.get(url).content.decode()
        self._set(experiment, *[("finished", 100)] * 4)
        done = client.get(url).content.decode()

        progress_url = reverse("clustering:experiment_progress", args=[experiment.pk])
        assert f'data-job-progress-url="{progress_url}"' in active
        assert "js/fairness.js" in active
        assert "data-job-progress-url" not in done
        assert 'id="experiment-status"' in done

    def test_an_analyst_runs_the_failed_runs_again(
        self, client, analyst, experiment, queued, django_capture_on_commit_callbacks
    ):
        self._set(experiment, ("finished", 100), ("failed", 40), ("finished", 100), ("finished", 100))
        failed = experiment.runs.order_by("pk")[1]
        client.force_login(analyst)

        page = client.get(reverse("clustering:experiment_detail", args=[experiment.pk]))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("clustering:experiment_resume", args=[experiment.pk]))

        assert "Run the unfinished runs again" in page.content.decode()
        assert response.status_code == 302
        assert queued == [failed.pk]
        event = AuditEvent.objects.get(action="clustering.experiment_resumed")
        assert (event.actor, event.payload["runs"]) == (analyst, [failed.pk])

    def test_resuming_a_finished_experiment_queues_nothing(self, analyst, experiment, queued):
        self._set(experiment, *[("finished", 100)] * 4)

        with pytest.raises(ApplicationError, match="Every run of this experiment has finished"):
            clustering_experiment_resume(experiment=experiment, requested_by=analyst)
        assert queued == []


class TestChoosingASegmentation:
    def test_an_analyst_chooses_a_segmentation_and_the_choice_is_audited(self, client, analyst, clustering_run):
        client.force_login(analyst)

        page = client.get(reverse("clustering:run_detail", args=[clustering_run.pk])).content.decode()
        response = client.post(reverse("clustering:run_choose", args=[clustering_run.pk]))

        assert "Choose this segmentation" in page
        assert response.status_code == 302
        clustering_run.refresh_from_db()
        assert (clustering_run.chosen, clustering_run.chosen_by) == (True, analyst)
        event = AuditEvent.objects.get(action="clustering.segmentation_chosen")
        assert event.actor == analyst

    def test_compliance_reads_the_run_but_cannot_choose_it(self, client, compliance_officer, clustering_run):
        client.force_login(compliance_officer)

        page = client.get(reverse("clustering:run_detail", args=[clustering_run.pk]))
        response = client.post(reverse("clustering:run_choose", args=[clustering_run.pk]))

        assert page.status_code == 200
        assert "Choose this segmentation" not in page.content.decode()
        assert response.status_code == 403
        assert not ClusteringRun.objects.filter(chosen=True).exists()


class TestSilhouettesAreReadInWords:
    def test_beside_the_runs_and_configurations_of_an_experiment(self, client, analyst, clustering_run):
        client.force_login(analyst)

        content = client.get(reverse("clustering:experiment_detail", args=[clustering_run.experiment_id])).content

        assert content.count(b'data-silhouette-band="none"') == 3  # best run, configuration, run
        assert b'id="best-run"' in content

    def test_beside_both_scores_of_a_run_with_what_the_band_means(self, client, analyst, clustering_run):
        ClusteringRun.objects.filter(pk=clustering_run.pk).update(
            metrics={**clustering_run.metrics, "silhouette_train": 0.62}
        )
        client.force_login(analyst)

        content = client.get(reverse("clustering:run_detail", args=[clustering_run.pk])).content.decode()

        assert 'data-silhouette-band="reasonable"' in content
        assert 'id="silhouette-reading"' in content
        assert "as a model feature the segment adds little" in content.lower()

    def test_beside_the_segmentation_in_use_on_the_segments_page(self, client, model_manager, clustering_run):
        ClusteringRun.objects.filter(pk=clustering_run.pk).update(chosen=True)
        client.force_login(model_manager)

        content = client.get(reverse("clustering:experiment_list")).content.decode()

        assert "test silhouette 0.210" in content
        assert 'data-silhouette-band="none"' in content
