"""Verify the audit trail's hash chain and name the first broken link."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.services import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; exit 1 naming the first altered, removed or inserted event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        verification = audit_chain_verify()
        if options["json"]:
            self.stdout.write(json.dumps(verification.as_dict()))
        if verification.intact:
            if not options["json"]:
                self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {verification.events_checked} events"))
            return
        where = f"event sequence={verification.first_broken_sequence} id={verification.first_broken_id}"
        raise CommandError(
            f"Audit chain broken at {where}: {verification.problem} "
            f"({verification.events_checked} events verified before it)"
        )
