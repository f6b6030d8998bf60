"""Demo only: make sure a champion decides applications (trained, requested and approved by two people)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.models import ModelVersion
from analytics.services.registry import promotion_approve, promotion_request
from lending.services.training import model_training_start


class Command(BaseCommand):
    help = "Demo: train a scorecard on German credit and promote it with the two demo managers (needs a worker)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=int, default=600)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_demo_champion is for the demo (DEBUG on) only.")
        if ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).exists():
            self.stdout.write("A champion model is already deciding applications.")
            return
        users = get_user_model().objects
        trainer, approver = (
            users.filter(username="demo_manager").first(),
            users.filter(username="demo_manager_2").first(),
        )
        if trainer is None or approver is None:
            raise CommandError("Run `python manage.py seed_demo` first.")
        version = model_training_start(dataset="german_credit", family="scorecard", requested_by=trainer, seed=0)
        self.stdout.write(f"Training model version {version.pk} on the worker…")
        deadline = time.monotonic() + options["timeout"]
        while version.status == ModelVersion.Status.TRAINING and time.monotonic() < deadline:
            time.sleep(1)
            version.refresh_from_db()
        if version.status != ModelVersion.Status.CANDIDATE:
            raise CommandError(f"Training did not finish: {version.status} {version.failure}")
        request = promotion_request(
            version=version,
            requested_by=trainer,
            exception_justification="Demo bootstrap: first champion on German credit.",
        )
        promotion_approve(request=request, approved_by=approver, accept_exception=True, note="Demo bootstrap")
        self.stdout.write(f"Model version {version.pk} (AUC {version.metrics['auc']:.3f}) is now champion.")
