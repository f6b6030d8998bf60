"""`manage.py import_outcomes --file F [--user U]`: record a servicing file's repayment outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.errors import ApplicationError
from lending.services.outcomes import COLUMNS, repayment_outcomes_import


class Command(BaseCommand):
    help = f"Record repayment outcomes from a CSV ({', '.join(COLUMNS)}); all or nothing, every problem named."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", required=True, help="the CSV file")
        parser.add_argument("--user", default="", help="username recorded as the importer in the audit trail")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"--file: no file at {path}")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user named {options['user']!r}")
        try:
            result = repayment_outcomes_import(content=path.read_bytes(), file_name=path.name, imported_by=user)
        except ApplicationError as exc:
            lines = [exc.message, *(f"  {where}: {problem}" for where, problem in exc.details.items())]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(f"{result.rows} outcomes recorded from {path.name} (sha256 {result.file_sha256})")
