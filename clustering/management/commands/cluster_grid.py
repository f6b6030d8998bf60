"""`manage.py cluster_grid [--encoders ...] [--ks 2 4 6] [--seeds 0 1 2 3 4] [--inline]`: a whole grid.

Creates an experiment with one run per distinct configuration and queues every run on the analytics
queue (or runs them here with --inline). `--resume ID` queues an experiment's unfinished runs again:
finished runs are skipped, failed or abandoned ones run again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clustering.experiments import DISTANCES, ENCODERS, HEADS, PRETEXTS, REDUCTIONS, ExperimentConfig, config_grid
from clustering.models import ClusteringExperiment, ClusteringRun
from clustering.services import clustering_experiment_create, clustering_run_execute, clustering_runs_enqueue
from finai.errors import ApplicationError


class Command(BaseCommand):
    help = "Create and run a grid of clustering configurations (all 900 by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="grid")
        parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=ENCODERS)
        parser.add_argument("--pretexts", nargs="+", default=list(PRETEXTS), choices=PRETEXTS)
        parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=HEADS)
        parser.add_argument("--distances", nargs="+", default=list(DISTANCES), choices=DISTANCES)
        parser.add_argument("--reductions", nargs="+", default=list(REDUCTIONS), choices=REDUCTIONS)
        parser.add_argument("--ks", nargs="+", type=int, default=[2, 4, 6])
        parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
        parser.add_argument("--epochs", type=int, default=ExperimentConfig.epochs)
        parser.add_argument("--cluster-epochs", type=int, default=ExperimentConfig.cluster_epochs)
        parser.add_argument("--series", default="amounts", choices=ClusteringExperiment.Series.values)
        parser.add_argument("--length", type=int, help="Amount series: keep the last N transactions per account.")
        parser.add_argument("--inline", action="store_true", help="Run here, one after another, not on Celery.")
        parser.add_argument("--resume", type=int, metavar="EXPERIMENT_ID", help="Run an experiment's unfinished runs.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["resume"] is not None:
                experiment = ClusteringExperiment.objects.filter(pk=options["resume"]).first()
                if experiment is None:
                    raise CommandError(f"No clustering experiment {options['resume']}.")
            else:
                configs = config_grid(
                    encoders=options["encoders"],
                    pretexts=options["pretexts"],
                    heads=options["heads"],
                    distances=options["distances"],
                    reductions=options["reductions"],
                    ks=options["ks"],
                    seeds=options["seeds"],
                    epochs=options["epochs"],
                    cluster_epochs=options["cluster_epochs"],
                )
                experiment = clustering_experiment_create(
                    name=options["name"],
                    configs=configs,
                    series=options["series"],
                    series_length=options["length"],
                    enqueue=False,
                )
            pending = list(
                experiment.runs.exclude(status=ClusteringRun.Status.FINISHED)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not options["inline"]:
                clustering_runs_enqueue(run_ids=pending)
                self.stdout.write(f"Experiment {experiment.pk}: {len(pending)} runs queued on the analytics queue.")
                return
            for position, run_id in enumerate(pending, start=1):
                try:
                    run = clustering_run_execute(run_id=run_id)
                except Exception as exc:  # the service marked the run failed with its error; the grid goes on
                    self.stderr.write(f"[{position}/{len(pending)}] run {run_id} failed: {exc}")
                    continue
                self.stdout.write(f"[{position}/{len(pending)}] {run}: silhouette test {run.silhouette_test}")
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Experiment {experiment.pk}: {experiment.runs.filter(status='finished').count()} runs finished."
        )
