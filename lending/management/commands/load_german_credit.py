"""`manage.py load_german_credit`: the shipped Statlog German Credit data, for the demo and training."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load data/german_credit.csv through data/schemas/german_credit.yaml (running it again adds nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("import_dataset", schema="german_credit", stdout=self.stdout, stderr=self.stderr)
