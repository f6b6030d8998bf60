"""`manage.py generate_synthetic`: a seeded synthetic population with a planted disparity."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.errors import ApplicationError
from lending.services.synthetic_load import DEFAULT_BATCH_SIZE, synthetic_data_generate


class Command(BaseCommand):
    help = (
        "Generate N synthetic applicants, applications, historical decisions, outcomes and bank histories "
        "following German credit, with a planted bias B against female applicants (expected adverse "
        "impact ratio 1 - B), so fairness tooling can be checked against a known answer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--applications", type=int, required=True, help="Number of applications N (>= 1).")
        parser.add_argument("--seed", type=int, required=True, help="Random seed; a seed is stored only once.")
        parser.add_argument("--bias", type=float, default=0.0, help="Planted bias B, 0 <= B < 1 (default 0).")
        parser.add_argument(
            "--transaction-accounts",
            type=int,
            default=None,
            help="Applicants given a 12-month bank history (default min(N, 1000)).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per bulk insert (default 100000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = synthetic_data_generate(
                applications=options["applications"],
                seed=options["seed"],
                bias=options["bias"],
                transaction_accounts=options["transaction_accounts"],
                batch_size=options["batch_size"],
            )
        except ApplicationError as exc:
            problems = "; ".join(f"--{name.replace('_', '-')}: {problem}" for name, problem in exc.details.items())
            raise CommandError(f"{exc.message} {problems}".strip()) from exc
        for name, count in result.counts.items():
            self.stdout.write(f"{name.replace('_', ' ')}: {count:,}")
        self.stdout.write(
            f"generated in {result.generation_seconds:.1f} s, loaded in {result.load_seconds:.1f} s "
            f"(total {result.generation_seconds + result.load_seconds:.1f} s)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Planted adverse impact ratio ({result.disadvantaged_group} vs {result.reference_group}): "
                f"{result.planted_adverse_impact_ratio:.3f} (bias {result.bias:g}, policy {result.policy_version})"
            )
        )
