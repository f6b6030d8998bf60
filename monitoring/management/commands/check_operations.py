"""`manage.py check_operations`: the operational alert rules, run from outside the workers (cron, a timer).

Pings the Celery workers (no answer opens a "no live worker" alert and sends its notifications from this
process), then checks undecided applications and queue backlogs. Exits 1 while any operational alert is open,
so a scheduler can show it too.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from monitoring.models import Alert
from monitoring.services.operations import live_workers, operations_check

OPERATIONAL_RULES = (Alert.Rule.NO_WORKER, Alert.Rule.SCORING_ERRORS, Alert.Rule.QUEUE_BACKLOG)


class Command(BaseCommand):
    help = "Check that workers answer, applications get decided and queues drain; open alerts when not."

    def handle(self, *args: object, **options: object) -> None:
        workers: list[str] = []

        def ping() -> list[str]:
            workers.extend(live_workers())
            return workers

        operations_check(workers=ping)
        self.stdout.write(f"workers answering: {', '.join(workers) if workers else 'none'}")
        still_open = Alert.objects.filter(rule__in=OPERATIONAL_RULES).exclude(status=Alert.Status.RESOLVED)
        for alert in still_open:
            self.stdout.write(f"open: {alert.get_rule_display()}: {alert.summary}")
        if still_open.exists():
            raise SystemExit(1)
