"""Demo only: six months of live decisions by the champion, so the monitoring and fairness pages have something
to show on a fresh machine.

The German credit applicants imported by `load_german_credit` apply again through the real submission path
(their protected attributes are already on record, apart from their features, as Regulation B allows for
monitoring), the champion decides each one, and the decisions are spread over the past six months. Approved
applications are funded and follow the data set's own outcome: a "bad" credit defaults three months after
funding. Then the monitoring run measures the closed weeks and months. Run it after `ensure_demo_champion`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from analytics.models import ModelVersion
from lending.models import Decision, LoanApplication, RepaymentOutcome
from lending.services.applications import ApplicantDetails, LoanRequest, loan_application_submit, loan_fund
from monitoring.services.drift import monitoring_run

MONTHS = 6
DEFAULT_MONTHS_LATER = 3


def _months_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


class Command(BaseCommand):
    help = "Demo: six months of the champion's live decisions on the German credit applicants, then monitoring."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="How many imported applicants apply again.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_demo_history is for the demo (DEBUG on) only.")
        champion = ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION, product="consumer_loan").first()
        if champion is None:
            raise CommandError("No champion decides consumer loans: run `python manage.py ensure_demo_champion` first.")
        replayed = Decision.objects.filter(
            model_version=champion, is_shadow=False, application__channel=LoanApplication.Channel.SYNTHETIC
        )
        if replayed.exists():
            self.stdout.write("The demo history is already there.")
            return
        officer = get_user_model().objects.filter(username="demo_officer").first()
        imported = list(
            LoanApplication.objects.filter(channel=LoanApplication.Channel.IMPORT, product="consumer_loan")
            .select_related("applicant", "loan")
            .prefetch_related("loan__outcomes")
            .order_by("pk")[: options["limit"]]
        )
        if not imported:
            raise CommandError("No imported German credit applications: run `python manage.py load_german_credit`.")
        rng = np.random.default_rng(options["seed"])
        today = timezone.localdate()
        first_month = _months_after(today.replace(day=1), -MONTHS)
        decided = 0
        for number, source in enumerate(imported):
            application = loan_application_submit(
                applicant=ApplicantDetails(reference=source.applicant.reference),
                request=LoanRequest(
                    amount=source.amount,
                    term_months=source.term_months,
                    purpose=source.purpose,
                    features=dict(source.features),
                    product=source.product,
                ),
                submitted_by=officer,
                channel=LoanApplication.Channel.SYNTHETIC,
                decide="sync",
            )
            decision = application.decisions.filter(is_shadow=False).first()
            if decision is None:
                continue
            day = _months_after(first_month, number % MONTHS) + dt.timedelta(days=int(rng.integers(0, 28)))
            moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour=int(rng.integers(9, 18)))))
            with transaction.atomic():
                LoanApplication.objects.filter(pk=application.pk).update(submitted_at=moment)
                Decision.objects.filter(application=application).update(decided_at=moment)
            decided += 1
            if decision.outcome == Decision.Outcome.APPROVE:
                self._fund_and_follow(application, source, day, today, officer)
        summary = monitoring_run()
        self.stdout.write(
            f"{decided} decisions by model version {champion.pk} over {MONTHS} months; "
            f"{len(summary.windows)} windows and {len(summary.performances)} cohorts measured, "
            f"{len(summary.alerts)} alerts."
        )

    def _fund_and_follow(
        self, application: LoanApplication, source: LoanApplication, day: dt.date, today: dt.date, officer: Any
    ) -> None:
        """Fund the loan and record the data set's own outcome: a bad credit defaults three months on."""
        application.refresh_from_db()
        loan = loan_fund(application=application, principal=application.amount, funded_on=day, actor=officer)
        went_bad = any(outcome.status == RepaymentOutcome.Status.DEFAULTED for outcome in source.loan.outcomes.all())
        default_day = _months_after(day, DEFAULT_MONTHS_LATER)
        if went_bad and default_day <= today:
            RepaymentOutcome.objects.create(loan=loan, status="defaulted", days_past_due=90, as_of=default_day)
        else:
            RepaymentOutcome.objects.create(loan=loan, status="current", days_past_due=0, as_of=today)
