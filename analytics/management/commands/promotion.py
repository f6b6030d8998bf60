"""Four-eyes model governance from the command line: request, approve, reject, roll back."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.models import ModelVersion, PromotionRequest
from analytics.services.registry import (
    model_version_rollback,
    promotion_approve,
    promotion_reject,
    promotion_request,
)
from finai.errors import ApplicationError


class Command(BaseCommand):
    help = "Request, approve or reject a champion promotion, or roll back (each acts as --user)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        request = actions.add_parser("request", help="ask for a version to become champion")
        request.add_argument("--version", type=int, required=True)
        request.add_argument("--exception", default="", help="written justification when a gate fails")
        for name in ("approve", "reject"):
            decide = actions.add_parser(name, help=f"{name} a pending request (a second person)")
            decide.add_argument("--request", type=int, required=True)
            decide.add_argument("--note", default="")
            if name == "approve":
                decide.add_argument("--accept-exception", action="store_true")
        rollback = actions.add_parser("rollback", help="restore the previous champion")
        rollback.add_argument("--product", default="consumer_loan")
        rollback.add_argument("--reason", default="")
        for sub in actions.choices.values():
            sub.add_argument("--user", required=True, help="username of the person acting")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"--user: no user named {options['user']!r}")
        try:
            result = self._act(options, user)
        except (ApplicationError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result))

    def _act(self, options: dict[str, Any], user: Any) -> dict[str, Any]:
        action = options["action"]
        if action == "request":
            version = self._get(ModelVersion, options["version"], "--version")
            made = promotion_request(version=version, requested_by=user, exception_justification=options["exception"])
            return {"request": made.pk, "status": made.status, "gates": made.gates}
        if action == "rollback":
            restored = model_version_rollback(product=options["product"], actor=user, reason=options["reason"])
            return {"champion": restored.pk}
        pending = self._get(PromotionRequest, options["request"], "--request")
        if action == "approve":
            version = promotion_approve(
                request=pending,
                approved_by=user,
                accept_exception=options["accept_exception"],
                note=options["note"],
            )
            return {"champion": version.pk}
        rejected = promotion_reject(request=pending, rejected_by=user, note=options["note"])
        return {"request": rejected.pk, "status": rejected.status}

    @staticmethod
    def _get(model: type, pk: int, flag: str) -> Any:
        found = model.objects.filter(pk=pk).first()
        if found is None:
            raise CommandError(f"{flag}: no {model._meta.verbose_name} with id {pk}")
        return found
