"""Train a screening model on the stored bookings, as a model manager would from the registry: the version is
a candidate until a second manager promotes it (with the written exception for the fairness gate)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.errors import ApplicationError
from monitoring.services.screening_models import (
    FAMILIES,
    SUPERVISED,
    screening_model_train,
    screening_model_train_request,
)


class Command(BaseCommand):
    help = "Train a screening model (supervised on a data set's labels, or an anomaly score) on the stored bookings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--family", choices=FAMILIES, default=SUPERVISED)
        parser.add_argument("--label-source", default="amlsim", help="Whose account labels: amlsim, synthetic, ...")
        parser.add_argument("--as-user", required=True, help="The model manager (or compliance officer) training it.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: object, **options: object) -> None:
        user = get_user_model().objects.filter(username=options["as_user"]).first()
        if user is None:
            raise CommandError(f"No user {options['as_user']!r}.")
        try:
            version = screening_model_train_request(
                family=options["family"],
                label_source=options["label_source"],
                requested_by=user,
                seed=options["seed"],
                queue=False,
            )
        except ApplicationError as error:
            raise CommandError(f"{error}: {error.details}") from None
        version = screening_model_train(version_id=version.pk)
        if version.failure:
            raise CommandError(f"Model version {version.pk} failed: {version.failure}")
        metrics = ", ".join(f"{name} {value}" for name, value in sorted(version.metrics.items()))
        self.stdout.write(f"Screening model version {version.pk} ({version.family}) is a candidate: {metrics}.")
