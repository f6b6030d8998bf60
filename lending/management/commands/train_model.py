"""Queue a model version's training on Celery and, with --wait, print its JSON summary."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.models import ModelVersion
from finai.errors import ApplicationError
from lending.services.training import model_training_start


def version_summary(version: ModelVersion) -> dict[str, Any]:
    metrics = version.metrics or {}
    return {
        "id": version.pk,
        "status": version.status,
        "family": version.family,
        "mitigation": version.mitigation,
        "seed": version.seed,
        "params": version.params,
        "snapshot": {
            "dataset": version.snapshot.dataset,
            "sha256": version.snapshot.content_hash,
            "rows": version.snapshot.row_count,
        },
        "metrics": {name: metrics.get(name) for name in ("auc", "gini", "ks", "brier", "log_loss")},
        "fairness": {
            attribute: {group: stats.get("adverse_impact_ratio") for group, stats in groups.items()}
            for attribute, groups in (version.fairness.get("groups") or {}).items()
        },
        "artifact_sha256": version.artifact_sha256,
        "training_seconds": version.training_seconds,
        "code_version": version.code_version,
        "failure": version.failure,
    }


class Command(BaseCommand):
    help = "Train a model version on the Celery `training` queue (a worker must be running: make worker)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--family", required=True, help="scorecard, gbm or neural")
        parser.add_argument(
            "--dataset",
            required=True,
            help="a data set's name (imported, or in data/schemas/, e.g. german_credit) or a schema file's path",
        )
        parser.add_argument(
            "--mitigation",
            default="",
            help="none, reweighing, exponentiated_gradient or adversarial (settings in --params: "
            "mitigation_attribute, mitigation_strength, mitigation_constraint)",
        )
        parser.add_argument("--params", default="{}", help="family parameters as a JSON object")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--alternative-data",
            nargs="+",
            default=[],
            metavar="FEATURE",
            help="opt-in alternative-data features, e.g. transaction_segment (the chosen segmentation's)",
        )
        parser.add_argument("--user", default="", help="username of the model manager who trains it")
        parser.add_argument("--wait", action="store_true", help="wait for the result and print a JSON summary")
        parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait with --wait")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            params = json.loads(options["params"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise CommandError("--params must be a JSON object")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user named {options['user']!r}")
        try:
            version = model_training_start(
                family=options["family"],
                dataset=options["dataset"],
                mitigation=options["mitigation"],
                params=params,
                seed=options["seed"],
                requested_by=user,
                alternative_data=options["alternative_data"],
            )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        if not options["wait"]:
            self.stdout.write(json.dumps({"id": version.pk, "status": version.status}))
            return
        self.stderr.write(f"Queued model version {version.pk}; waiting for a worker on the training queue…")
        deadline = time.monotonic() + options["timeout"]
        while version.status == ModelVersion.Status.TRAINING:
            if time.monotonic() > deadline:
                raise CommandError(f"model version {version.pk} still training after {options['timeout']} s")
            time.sleep(1)
            version.refresh_from_db()
        self.stdout.write(json.dumps(version_summary(version), indent=2, default=str))
        if version.status == ModelVersion.Status.FAILED:
            raise CommandError(f"training failed: {version.failure}")
