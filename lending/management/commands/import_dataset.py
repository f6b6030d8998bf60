"""`manage.py import_dataset --schema S [--file F]`: load a data set through its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.engine.dataset_schema import SchemaError
from analytics.services.dataset_schemas import dataset_schema_get
from finai.errors import ApplicationError
from lending.services.datasets import dataset_import


def _problem_lines(message: str, problems: dict[str, Any] | list[str]) -> str:
    listed = problems.items() if isinstance(problems, dict) else ((None, p) for p in problems)
    return "\n".join([message, *(f"  {where}: {p}" if where else f"  {p}" for where, p in listed)])


class Command(BaseCommand):
    help = "Import a data set file through its schema (all or nothing; rows loaded before are skipped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schema", required=True, help="A schema file's path (anywhere), or a data set's name (data/schemas/)."
        )
        parser.add_argument("--file", help="The data file; defaults to the file the schema names.")
        parser.add_argument("--imported-by", help="Username recorded as the importer in the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            schema = dataset_schema_get(options["schema"])
            path = Path(options["file"]) if options["file"] else schema.resolve_file()
        except SchemaError as exc:
            raise CommandError(_problem_lines(f"The schema {options['schema']} cannot be used:", exc.problems)) from exc
        except ApplicationError as exc:
            raise CommandError(_problem_lines(exc.message, exc.details)) from exc
        imported_by = None
        if options["imported_by"]:
            imported_by = get_user_model().objects.filter(username=options["imported_by"]).first()
            if imported_by is None:
                raise CommandError(f"No user named {options['imported_by']!r}.")
        try:
            result = dataset_import(schema=schema, file=path, imported_by=imported_by, schema_origin=options["schema"])
        except ApplicationError as exc:
            raise CommandError(_problem_lines(exc.message, exc.details)) from exc
        self.stdout.write(
            f"{result.dataset}: {result.rows} rows, {result.created} created, {result.skipped} skipped "
            f"(already loaded); file sha256 {result.file_sha256}"
        )
