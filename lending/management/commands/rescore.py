"""Replay stored decisions from their feature vectors and model versions; report any mismatch."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.errors import ApplicationError
from lending.models import Decision
from lending.services.decisions import decision_rescore


class Command(BaseCommand):
    help = "Re-score decisions (one by id, or a random sample) and check they reproduce exactly."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--decision", type=int, help="a decision id")
        group.add_argument("--sample", type=int, help="how many random model decisions to check")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        decisions = Decision.objects.select_related("model_version")
        if options["decision"] is not None:
            chosen = list(decisions.filter(pk=options["decision"]))
            if not chosen:
                raise CommandError(f"no decision with id {options['decision']}")
        else:
            if options["sample"] < 1:
                raise CommandError("--sample must be at least 1")
            chosen = list(decisions.filter(model_version__isnull=False).order_by("?")[: options["sample"]])
        try:
            results = [decision_rescore(decision=decision) for decision in chosen]
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        mismatches = [r for r in results if not r.matches]
        report = {
            "checked": len(results),
            "mismatches": len(mismatches),
            "details": [{"decision": r.decision_id, "differences": r.differences} for r in mismatches],
        }
        if options["json"]:
            self.stdout.write(json.dumps(report, default=str))
        else:
            self.stdout.write(f"Re-scored {len(results)} decisions: {len(mismatches)} mismatches.")
            for item in report["details"]:
                self.stdout.write(f"  decision {item['decision']}: {item['differences']}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} of {len(results)} decisions did not reproduce")
