"""Queue a search for less discriminatory alternatives to a model version; with --wait, print its frontier."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.engine.lda_plans import DEFAULT_TOLERANCE
from analytics.models import LdaSearch, ModelVersion
from analytics.services.lda_searches import lda_search_request
from finai.errors import ApplicationError

FINISHED = (LdaSearch.Status.DONE, LdaSearch.Status.FAILED)


def search_summary(search: LdaSearch) -> dict[str, Any]:
    return {
        "id": search.pk,
        "base_version": search.base_version_id,
        "status": search.status,
        "progress": search.progress,
        "failure": search.failure,
        "results": search.results,
    }


class Command(BaseCommand):
    help = "Search for less discriminatory alternatives to a model version (a worker must run: make worker)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """`--version` names the base model version here, in place of Django's own --version flag."""
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--version", type=int, required=True, help="the base model version")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=DEFAULT_TOLERANCE,
            help="AUC an alternative may lose and still be flagged (default 0.01)",
        )
        parser.add_argument("--user", default="", help="username of the model manager who searches")
        parser.add_argument("--wait", action="store_true", help="wait for the result and print it as JSON")
        parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait with --wait")

    def handle(self, *args: Any, **options: Any) -> None:
        base = ModelVersion.objects.filter(pk=options["version"]).first()
        if base is None:
            raise CommandError(f"--version: no model version {options['version']}")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user named {options['user']!r}")
        try:
            search = lda_search_request(base_version=base, requested_by=user, tolerance=options["tolerance"])
        except (ApplicationError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        if not options["wait"]:
            self.stdout.write(json.dumps({"id": search.pk, "status": search.status}))
            return
        self.stderr.write(f"Queued search {search.pk}; waiting for a worker on the training queue…")
        deadline = time.monotonic() + options["timeout"]
        while search.status not in FINISHED:
            if time.monotonic() > deadline:
                raise CommandError(f"search {search.pk} still {search.status} after {options['timeout']} s")
            time.sleep(1)
            search.refresh_from_db()
        self.stdout.write(json.dumps(search_summary(search), indent=2, default=str))
        if search.status == LdaSearch.Status.FAILED:
            raise CommandError(f"the search failed: {search.failure}")
