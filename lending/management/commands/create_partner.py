"""`manage.py create_partner --name NAME [--rate-limit 6000/minute]`: register a partner and print its first API key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from finai.errors import ApplicationError
from lending.models import Partner
from lending.services.partners import (
    partner_api_key_issue,
    partner_create,
    partner_rate_limit_set,
    partner_webhook_configure,
)


class Command(BaseCommand):
    help = (
        "Create a partner organisation (or, with --existing, add a key to one) and print a new API key. "
        "The key is shown only now: FinAI stores its SHA-256, never the key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The organisation's name (unique).")
        parser.add_argument("--label", default="", help="What the key is for, e.g. 'production'.")
        parser.add_argument("--webhook-url", default="", help="Where decisions are POSTed (prints the secret).")
        parser.add_argument("--existing", action="store_true", help="Issue another key to an existing partner.")
        parser.add_argument("--rate-limit", help="The partner's own rate limit, e.g. 6000/minute ('' for the default).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():  # all or nothing: no partner left without its key
                partner = self._partner(options["name"], existing=options["existing"])
                if options["rate_limit"] is not None:
                    partner_rate_limit_set(partner=partner, rate=options["rate_limit"])
                issued = partner_api_key_issue(partner=partner, label=options["label"])
                secret = (
                    partner_webhook_configure(partner=partner, url=options["webhook_url"])
                    if options["webhook_url"]
                    else ""
                )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"Partner {partner.name!r} (id {partner.pk}); key {issued.key.prefix} issued. Store it now:")
        self.stdout.write(issued.secret)
        if secret:
            self.stderr.write("Webhook signing secret (store it too; it signs every delivery):")
            self.stdout.write(secret)

    def _partner(self, name: str, *, existing: bool) -> Partner:
        if not existing:
            return partner_create(name=name)
        partner = Partner.objects.filter(name=name).first()
        if partner is None:
            raise CommandError(f"No partner is named {name!r}.")
        return partner
