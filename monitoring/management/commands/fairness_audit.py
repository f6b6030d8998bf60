"""Run a fair-lending audit, store it as a report and print it (JSON with --json, a summary otherwise).

The audit runs in this process, as a worker would run it: an operator's command is not a web request, and
the report is stored through the same request and run services as the portal's.

Three sources, exactly one per run:
  --decisions-file F --schema S [--controls a,b]   an uploaded decisions file read through a dataset schema
  --model-version ID                               a model version's holdout decisions
  --window START END                               the primary decisions made between two dates (ISO, inclusive)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.fairness_reports.selectors import fairness_report_export, fairness_report_summary_lines
from analytics.fairness_reports.services import (
    decisions_file_fairness_report_request,
    fairness_report_run,
    model_version_fairness_report_request,
)
from analytics.models import FairnessReport, ModelVersion
from finai.errors import ApplicationError
from monitoring.services.fairness import window_fairness_report_request, window_fairness_report_run

SOURCES = ("decisions_file", "model_version", "window")


def _date(text: str, position: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--window: the {position} {text!r} is not an ISO date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Audit decisions for fair lending (adverse impact ratios with intervals) and store the report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--decisions-file", help="a CSV of decisions to audit, read through --schema")
        parser.add_argument(
            "--schema", help="the decisions file's dataset schema: a name (e.g. hmda) or a schema file's path"
        )
        parser.add_argument(
            "--controls", default="", help="comma-separated legitimate credit factors for the adjusted disparity"
        )
        parser.add_argument("--model-version", type=int, help="audit this model version's holdout decisions")
        parser.add_argument("--window", nargs=2, metavar=("START", "END"), help="audit decisions between two dates")
        parser.add_argument("--product", default="", help="with --window: only this product's decisions")
        parser.add_argument("--user", default="", help="username of the compliance officer running the audit")
        parser.add_argument("--json", action="store_true", help="print the stored report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = [name for name in SOURCES if options[name] is not None]
        if len(chosen) != 1:
            raise CommandError("Give exactly one of --decisions-file, --model-version or --window.")
        if options["schema"] and chosen != ["decisions_file"]:
            raise CommandError("--schema applies to --decisions-file only.")
        if options["controls"] and chosen != ["decisions_file"]:
            raise CommandError("--controls applies to --decisions-file only.")
        if options["product"] and chosen != ["window"]:
            raise CommandError("--product applies to --window only.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user named {options['user']!r}")
        try:
            report = self._run(chosen[0], options, user)
        except (ApplicationError, PermissionDenied) as exc:
            raise CommandError(f"--user: {exc}" if isinstance(exc, PermissionDenied) else str(exc)) from exc
        if report.status != FairnessReport.Status.DONE:
            raise CommandError(f"Report {report.pk} failed: {report.failure}")
        if options["json"]:
            self.stdout.write(json.dumps(fairness_report_export(report), indent=2, default=str))
        else:
            self.stdout.write("\n".join(fairness_report_summary_lines(report)))

    def _run(self, source: str, options: dict[str, Any], user: Any) -> FairnessReport:
        if source == "decisions_file":
            path = Path(options["decisions_file"])
            if not options["schema"]:
                raise CommandError("--schema is required with --decisions-file (e.g. --schema hmda)")
            if not path.is_file():
                raise CommandError(f"--decisions-file: no file at {path}")
            controls = [name.strip() for name in options["controls"].split(",") if name.strip()]
            report = decisions_file_fairness_report_request(
                path=path, schema_name=options["schema"], controls=controls, requested_by=user, queue=False
            )
            return fairness_report_run(report_id=report.pk)
        if source == "model_version":
            version = ModelVersion.objects.select_related("snapshot").filter(pk=options["model_version"]).first()
            if version is None:
                raise CommandError(f"--model-version: no model version {options['model_version']}")
            report = model_version_fairness_report_request(version=version, requested_by=user, queue=False)
            return fairness_report_run(report_id=report.pk)
        start, end = options["window"]
        report = window_fairness_report_request(
            first_day=_date(start, "start"),
            last_day=_date(end, "end"),
            requested_by=user,
            product=options["product"] or None,
            queue=False,
        )
        return window_fairness_report_run(report_id=report.pk)
