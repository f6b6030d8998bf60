"""`manage.py generate_synthetic`: a seeded synthetic population from a named data set, with a planted disparity."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.errors import ApplicationError
from lending.services.synthetic_load import DEFAULT_BATCH_SIZE, synthetic_data_generate

# The service's parameters by the flags that set them, so a refusal names what the user typed.
FLAGS = {"disadvantaged_group": "--disadvantaged", "reference_group": "--reference-group"}


def flag(parameter: str) -> str:
    return FLAGS.get(parameter, f"--{parameter.replace('_', '-')}")


class Command(BaseCommand):
    help = (
        "Generate N synthetic applicants, applications, historical decisions, outcomes and bank histories "
        "following a data set with repayment outcomes (--dataset), with a planted bias B against one protected "
        "group (--disadvantaged) compared with another value of the same attribute (--reference-group): the "
        "expected adverse impact ratio is 1 - B, so fairness tooling can be checked against a known answer. "
        "Example: --dataset german_credit --disadvantaged sex=female --reference-group sex=male."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dataset",
            required=True,
            help="The data set to follow: a data set's name (german_credit) or a schema file's path.",
        )
        parser.add_argument(
            "--reference-file",
            default=None,
            help="The reference rows to draw from (default: the file the schema names).",
        )
        parser.add_argument(
            "--disadvantaged",
            default=None,
            metavar="ATTRIBUTE=VALUE",
            help="The group the bias is planted against, ATTRIBUTE one of the schema's protected attributes "
            "(e.g. sex=female, education=university). Default sex=female only where the data set records sex "
            "as female and male; required otherwise.",
        )
        parser.add_argument(
            "--reference-group",
            default=None,
            metavar="ATTRIBUTE=VALUE",
            help="The group approval rates are compared with: another value of the same attribute "
            "(default sex=male where the default sex=female applies; required otherwise).",
        )
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
                dataset=options["dataset"],
                reference_file=options["reference_file"],
                disadvantaged_group=options["disadvantaged"],
                reference_group=options["reference_group"],
                applications=options["applications"],
                seed=options["seed"],
                bias=options["bias"],
                transaction_accounts=options["transaction_accounts"],
                batch_size=options["batch_size"],
            )
        except ApplicationError as exc:
            problems = "; ".join(f"{flag(name)}: {problem}" for name, problem in exc.details.items())
            raise CommandError(f"{exc.message} {problems}".strip()) from exc
        self.stdout.write(f"data set: {result.dataset}")
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
