"""Demo only: a small clustering experiment on the shipped Berka accounts, its best run chosen.

Lending's, like `ensure_demo_champion`: it checks the record holds the Berka tables before asking
clustering to segment them.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clustering.experiments import config_grid
from clustering.models import ClusteringExperiment, ClusteringRun
from clustering.quality import silhouette_reading
from clustering.services import clustering_experiment_create, segmentation_choose
from lending.models import BerkaTransaction

DEMO_EXPERIMENT = "demo: fully connected autoencoders"


class Command(BaseCommand):
    help = "Demo: cluster the Berka accounts with a few fast configurations on the worker and choose the best run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=int, default=600)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_demo_segmentation is for the demo (DEBUG on) only.")
        if ClusteringRun.objects.filter(chosen=True).exists():
            self.stdout.write("A segmentation is already in use.")
            return
        if not BerkaTransaction.objects.exists():
            raise CommandError("Run `python manage.py import_berka --path data/berka` first.")
        manager = get_user_model().objects.filter(username="demo_manager").first()
        if manager is None:
            raise CommandError("Run `python manage.py seed_demo` first.")
        experiment = ClusteringExperiment.objects.filter(name=DEMO_EXPERIMENT).first()
        if experiment is None:
            configs = config_grid(encoders=["fc"], heads=["kmeans"], reductions=["none"], ks=[2, 4], seeds=[0])
            experiment = clustering_experiment_create(name=DEMO_EXPERIMENT, configs=configs, created_by=manager)
        self.stdout.write(f"Clustering the Berka accounts on the worker ({experiment.runs.count()} runs)…")
        deadline = time.monotonic() + options["timeout"]
        while experiment.runs.exclude(status=ClusteringRun.Status.FINISHED).exists():
            if time.monotonic() > deadline:
                raise CommandError("The clustering runs did not finish in time; see var/worker.log.")
            time.sleep(1)
        best = (
            experiment.runs.filter(degenerate=False, silhouette_test__isnull=False).order_by("-silhouette_test").first()
        )
        if best is None:
            raise CommandError("Every demo run was degenerate; nothing to choose.")
        segmentation_choose(run_id=best.pk, chosen_by=manager)
        reading = silhouette_reading(best.silhouette_test)
        self.stdout.write(
            f"Run {best.pk} ({best.k} segments, test silhouette {best.silhouette_test:.3f}: {reading.label}) is in use."
        )
