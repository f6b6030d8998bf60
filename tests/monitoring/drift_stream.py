"""A synthetic stream of monthly cohorts of live decisions, with an optional planted shift in one feature, and
funded cohorts whose repayment outcomes are drawn from known probabilities.

The champion's drift reference is fitted by the engine from a training frame drawn from the same
generator, and each decision's probability of default follows a known logistic formula in which the
shifted feature (`utilisation`) weighs little, so a planted shift moves that feature's distribution and
not the score's or the approval rate: the one alert the monitoring run should raise is that feature's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone

from analytics.engine.drift import drift_reference_fit
from analytics.engine.policy import DEFAULT_POLICY
from analytics.models import ModelVersion
from lending.models import (
    Applicant,
    Decision,
    Loan,
    LoanApplication,
    Override,
    ProtectedAttributes,
    RepaymentOutcome,
)
from tests.factories import ModelVersionFactory

SHIFTED_FEATURE = "utilisation"
KINDS = {
    "income": "numeric",
    "age_of_file_months": "numeric",
    "utilisation": "numeric",
    "inquiries": "numeric",
    "housing": "categorical",
    "employment": "categorical",
}
ROWS_PER_MONTH = 400
SHIFT_FROM_MONTH = 7  # months counted from 1


def stream_features(rows: int, *, rng: np.random.Generator, shifted: bool = False) -> pd.DataFrame:
    """Applicants' characteristics; `shifted` moves utilisation up by one standard deviation."""
    return pd.DataFrame(
        {
            "income": np.round(rng.lognormal(8, 0.4, rows), 2),
            "age_of_file_months": rng.integers(6, 240, rows),
            "utilisation": np.round(rng.normal(0.35 + (0.2 if shifted else 0.0), 0.2, rows), 3),
            "inquiries": rng.poisson(1.5, rows),
            "housing": rng.choice(["own", "rent", "free"], rows, p=[0.5, 0.4, 0.1]),
            "employment": rng.choice(["salaried", "self", "none"], rows, p=[0.7, 0.2, 0.1]),
        }
    )


def probability_of_default(features: pd.DataFrame) -> np.ndarray:
    """The known risk: income and file age lower it, inquiries and renting raise it; utilisation barely counts."""
    logit = (
        -1.2
        - 0.6 * (np.log(features["income"]) - 8) / 0.4
        - 0.004 * (features["age_of_file_months"] - 120)
        + 0.35 * (features["inquiries"] - 1.5)
        + 0.05 * (features["utilisation"] - 0.35) / 0.2
        + np.where(features["housing"] == "rent", 0.3, 0.0)
    )
    return 1 / (1 + np.exp(-logit.to_numpy(dtype=float)))


def stream_champion(*, seed: int = 0) -> ModelVersion:
    """A champion whose drift reference is fitted on 5,000 training rows from the generator."""
    training = stream_features(5000, rng=np.random.default_rng(seed))
    reference = drift_reference_fit(features=training, kinds=KINDS, scores=probability_of_default(training))
    return ModelVersionFactory(
        status=ModelVersion.Status.CHAMPION, product="consumer_loan", drift_reference=reference.as_dict()
    )


def month_start(first: dt.date, offset: int) -> dt.datetime:
    """The start (site time zone) of the month `offset` months after `first`."""
    month_index = first.year * 12 + first.month - 1 + offset
    return timezone.make_aware(dt.datetime(month_index // 12, month_index % 12 + 1, 1))


def stream_month_decide(
    *, version: ModelVersion, first: dt.date, month: int, shifted: bool, rng: np.random.Generator
) -> int:
    """Store one month (`month` from 1) of primary decisions by the version, spread over the month."""
    starts, ends = month_start(first, month - 1), month_start(first, month)
    features = stream_features(ROWS_PER_MONTH, rng=rng, shifted=shifted and month >= SHIFT_FROM_MONTH)
    probabilities = probability_of_default(features)
    seconds = rng.uniform(0, (ends - starts).total_seconds(), ROWS_PER_MONTH)
    prefix = f"stream-{version.pk}-{month}-"
    applicants = Applicant.objects.bulk_create(
        [Applicant(reference=f"{prefix}{row}", full_name="Stream Applicant") for row in range(ROWS_PER_MONTH)]
    )
    records = features.to_dict(orient="records")
    applications = LoanApplication.objects.bulk_create(
        [
            LoanApplication(
                reference=f"{prefix}{row}",
                applicant=applicant,
                channel=LoanApplication.Channel.SYNTHETIC,
                amount=Decimal("2500.00"),
                term_months=24,
                features={name: _plain(value) for name, value in records[row].items()},
                status=LoanApplication.Status.DECIDED,
                submitted_at=starts + dt.timedelta(seconds=float(seconds[row])),
            )
            for row, applicant in enumerate(applicants)
        ]
    )
    Decision.objects.bulk_create(
        [
            Decision(
                application=application,
                model_version=version,
                outcome=DEFAULT_POLICY.outcome(float(probabilities[row])),
                probability_of_default=float(probabilities[row]),
                score=600,
                feature_vector=application.features,
                policy_version=DEFAULT_POLICY.version,
                decided_at=application.submitted_at,
            )
            for row, application in enumerate(applications)
        ]
    )
    return ROWS_PER_MONTH


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def stream_loans_fund(
    *,
    version: ModelVersion,
    first: dt.date,
    months: int,
    rows_per_month: int,
    rng: np.random.Generator,
    truth: Callable[[np.ndarray], np.ndarray] = lambda probabilities: probabilities,
) -> None:
    """Decide, fund and follow `months` monthly cohorts: each loan defaults with probability `truth(PD)` (the
    model's PD unless a miscalibration is planted), 90 days past due in a month drawn from 1 to 12 after funding;
    the others are recorded current a year on. Outcomes dated after a test's as-of date are not yet known."""
    for month in range(1, months + 1):
        starts, ends = month_start(first, month - 1), month_start(first, month)
        features = stream_features(rows_per_month, rng=rng)
        probabilities = probability_of_default(features)
        defaults = rng.random(rows_per_month) < truth(probabilities)
        default_month = rng.integers(1, 13, rows_per_month)
        decided = [
            starts + dt.timedelta(seconds=float(s))
            for s in rng.uniform(0, (ends - starts).total_seconds(), rows_per_month)
        ]
        prefix = f"funded-{version.pk}-{month}-"
        applicants = Applicant.objects.bulk_create(
            [Applicant(reference=f"{prefix}{row}", full_name="Stream Borrower") for row in range(rows_per_month)]
        )
        applications = LoanApplication.objects.bulk_create(
            [
                LoanApplication(
                    reference=f"{prefix}{row}",
                    applicant=applicant,
                    channel=LoanApplication.Channel.SYNTHETIC,
                    amount=Decimal("2500.00"),
                    term_months=24,
                    features={},
                    status=LoanApplication.Status.FUNDED,
                    submitted_at=decided[row],
                )
                for row, applicant in enumerate(applicants)
            ]
        )
        Decision.objects.bulk_create(
            [
                Decision(
                    application=application,
                    model_version=version,
                    outcome=Decision.Outcome.APPROVE,
                    probability_of_default=float(probabilities[row]),
                    score=600,
                    policy_version=DEFAULT_POLICY.version,
                    decided_at=decided[row],
                )
                for row, application in enumerate(applications)
            ]
        )
        loans = Loan.objects.bulk_create(
            [
                Loan(
                    application=application, principal=Decimal("2500.00"), term_months=24, funded_on=decided[row].date()
                )
                for row, application in enumerate(applications)
            ]
        )
        RepaymentOutcome.objects.bulk_create(
            [
                RepaymentOutcome(
                    loan=loan,
                    status=RepaymentOutcome.Status.CURRENT if not defaults[row] else RepaymentOutcome.Status.DEFAULTED,
                    days_past_due=90 if defaults[row] else 0,
                    as_of=_months_after(loan.funded_on, int(default_month[row]) if defaults[row] else 12),
                )
                for row, loan in enumerate(loans)
            ]
        )


def _months_after(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 + months
    return dt.date(month_index // 12, month_index % 12 + 1, min(day.day, 28))


def stream_month_protect_and_override(
    *,
    version: ModelVersion,
    month: int,
    rng: np.random.Generator,
    officer: Any,
    disparity_from: int | None = None,
    small_group: str | None = None,
) -> None:
    """Record the sex of the month's applicants (half female, half male; a `small_group` of 20 applicants takes
    that label instead) and, from month `disparity_from`, have an officer override 60% of the approvals of
    female applicants to declines: the outcome acted on becomes unfair while the model's own decisions, and so
    drift and the approval rate, stay as they were."""
    applicants = list(Applicant.objects.filter(reference__startswith=f"stream-{version.pk}-{month}-").order_by("pk"))
    sexes = np.where(np.arange(len(applicants)) % 2 == 0, "female", "male").astype(object)
    if small_group:
        sexes[:20] = small_group
    ProtectedAttributes.objects.bulk_create(
        [ProtectedAttributes(applicant=applicant, sex=sex) for applicant, sex in zip(applicants, sexes, strict=True)]
    )
    if disparity_from is None or month < disparity_from:
        return
    female = {applicant.pk for applicant, sex in zip(applicants, sexes, strict=True) if sex == "female"}
    approved = Decision.objects.filter(
        model_version=version, application__applicant_id__in=female, outcome=Decision.Outcome.APPROVE
    ).select_related("application")
    overrides = [decision for decision in approved if rng.random() < 0.6]
    Override.objects.bulk_create(
        [
            Override(
                decision=decision,
                overridden_by=officer,
                justification="planted disparity",
                outcome_before=Decision.Outcome.APPROVE,
                outcome_after=Decision.Outcome.DECLINE,
            )
            for decision in overrides
        ]
    )
