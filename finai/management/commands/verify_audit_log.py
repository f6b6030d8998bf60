"""Verify the audit trail: its hash chain, its head against the exported checkpoints, and records against events."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.services import audit_checkpoint_export, audit_trail_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain, compare its head with the exported checkpoints and every record "
        "that AUDIT_INTEGRITY_CHECKS covers (decisions, overrides, model artifacts, dataset schemas) with its hash "
        "and audit event; exit 1 naming the first "
        "altered, removed or inserted event and every record that disagrees. The sealed head is then exported "
        "as a checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        verification = audit_trail_verify()
        # A checkpoint records what the head was and when, not that it verified: a rolled-back head exported
        # now stays behind the newer checkpoint, and events appended past that point no longer match it.
        self._export_checkpoint()
        if options["json"]:
            self.stdout.write(json.dumps(verification.as_dict()))
        if verification.intact:
            if not options["json"]:
                self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {verification.events_checked} events"))
            return
        problems = []
        if not verification.chain_intact:
            where = f"event sequence={verification.first_broken_sequence} id={verification.first_broken_id}"
            problems.append(
                f"Audit chain broken at {where}: {verification.problem} "
                f"({verification.events_checked} events verified before it)"
            )
        if verification.findings:
            problems.append(
                f"{len(verification.findings)} records disagree with the audit trail:\n"
                + "\n".join(f"  {finding}" for finding in verification.findings)
            )
        raise CommandError("\n".join(problems))

    def _export_checkpoint(self) -> None:
        try:
            audit_checkpoint_export()
        except OSError as exc:
            self.stderr.write(f"The chain head could not be exported as a checkpoint: {exc}")
