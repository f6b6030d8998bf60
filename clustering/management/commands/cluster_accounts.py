"""`manage.py cluster_accounts --encoder E --pretext P --head H [--distance D] --k K --seed S [--json]`.

Runs one clustering configuration on the imported Berka transactions, in this process, and stores
the run, its metrics, model artifact and segment assignments like a queued run would.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clustering.experiments import DISTANCES, ENCODERS, HEADS, PRETEXTS, REDUCTIONS, ExperimentConfig
from clustering.models import ClusteringExperiment
from clustering.services import clustering_experiment_create, clustering_run_execute
from finai.errors import ApplicationError


class Command(BaseCommand):
    help = "Train and score one clustering configuration on the imported Berka accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--encoder", required=True, choices=ENCODERS)
        parser.add_argument("--pretext", required=True, choices=PRETEXTS)
        parser.add_argument("--head", required=True, choices=HEADS, help="kmeans on the latents, or a DTC layer.")
        parser.add_argument("--distance", default="euclidean", choices=DISTANCES, help="DTC head only.")
        parser.add_argument("--k", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--reduction", default="none", choices=REDUCTIONS, help="kmeans head only.")
        parser.add_argument("--epochs", type=int, default=ExperimentConfig.epochs)
        parser.add_argument("--cluster-epochs", type=int, default=ExperimentConfig.cluster_epochs)
        parser.add_argument("--latent-dim", type=int, default=ExperimentConfig.latent_dim)
        parser.add_argument("--series", default="amounts", choices=ClusteringExperiment.Series.values)
        parser.add_argument("--length", type=int, help="Amount series: keep the last N transactions per account.")
        parser.add_argument("--json", action="store_true", help="Print the run as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = ExperimentConfig(
                encoder=options["encoder"],
                pretext=options["pretext"],
                head=options["head"],
                distance=options["distance"],
                k=options["k"],
                seed=options["seed"],
                reduction=options["reduction"],
                epochs=options["epochs"],
                cluster_epochs=options["cluster_epochs"],
                latent_dim=options["latent_dim"],
            )
            experiment = clustering_experiment_create(
                name=f"cluster_accounts {config.label} seed={config.seed}",
                configs=[config],
                series=options["series"],
                series_length=options["length"],
                enqueue=False,
            )
            run = clustering_run_execute(run_id=experiment.runs.get().pk)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        summary = {
            "run_id": run.pk,
            "experiment_id": experiment.pk,
            "config": run.config,
            "series": experiment.series,
            "accounts": run.account_count,
            "metrics": {key: value for key, value in run.metrics.items() if "losses" not in key},
            "artifact_sha256": run.artifact_sha256,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        metrics = summary["metrics"]
        self.stdout.write(
            f"Run {run.pk} ({config.label}, seed {config.seed}) on {run.account_count} accounts "
            f"in {metrics['training_seconds']:.1f} s: "
            f"silhouette train {_number(metrics['silhouette_train'])} / test {_number(metrics['silhouette_test'])}, "
            f"Davies-Bouldin train {_number(metrics['davies_bouldin_train'])} / "
            f"test {_number(metrics['davies_bouldin_test'])}"
            + (" — degenerate (fewer clusters than asked)" if metrics["degenerate"] else "")
        )


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
