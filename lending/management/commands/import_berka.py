"""`manage.py import_berka --path DIR`: load the eight PKDD'99 (Berka) tables from a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finai.errors import ApplicationError
from lending.berka import TABLES
from lending.services.berka import berka_import


class Command(BaseCommand):
    help = "Import the Berka tables (.asc or .csv, ';'-separated) from a folder; rows loaded before are skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--path",
            required=True,
            help="Folder holding account, client, disp, order, loan, card, "
            "district and trans* files (e.g. data/berka).",
        )
        parser.add_argument("--imported-by", help="Username recorded as the importer in the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        imported_by = None
        if options["imported_by"]:
            imported_by = get_user_model().objects.filter(username=options["imported_by"]).first()
            if imported_by is None:
                raise CommandError(f"No user named {options['imported_by']!r}.")
        try:
            result = berka_import(path=Path(options["path"]), imported_by=imported_by)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        for table in TABLES:
            self.stdout.write(f"{table}: {result.rows[table]} rows, {result.created[table]} created")
