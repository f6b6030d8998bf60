"""Decisions for the policy lab and champion-against-challenger tests: the German credit applications decided
again, this time by a trained champion through its own scorer (the decision path), a challenger in shadow, the
approvals funded with their German outcome; and stored backtests and comparisons for the page tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from analytics.models import ModelVersion
from analytics.services.serving import application_model_inputs, scorer_for_version
from lending.models import (
    Applicant,
    Decision,
    Loan,
    LoanApplication,
    ProtectedAttributes,
    RepaymentOutcome,
)
from lending.services.training import model_training_start
from monitoring.models import Backtest, ChallengerComparison

PROTECTED_FIELDS = ("sex", "marital_status", "age_years", "age_band", "race_ethnicity", "national_origin")
NOT_TAKEN_UP_EVERY = 10  # every tenth approval is not taken up: approved, never funded, never observed


def challenger_train(*, requested_by: Any, family: str = "gbm", seed: int = 1) -> ModelVersion:
    """A second German credit model, trained inline (the data set is imported by `trained_version`)."""
    from analytics.services.training_jobs import model_version_train

    version = model_training_start(dataset="german_credit", family=family, requested_by=requested_by, seed=seed)
    return model_version_train(version_id=version.pk)


def _months_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


def _decision(version: ModelVersion, application: LoanApplication, decided_at: dt.datetime, shadow: bool) -> Decision:
    inputs = application_model_inputs(
        version=version,
        features=application.features,
        amount=application.amount,
        term_months=application.term_months,
        purpose=application.purpose,
    )
    scored = scorer_for_version(version).decide(inputs).as_dict()
    return Decision(
        application=application,
        model_version=version,
        is_shadow=shadow,
        outcome=scored["outcome"],
        probability_of_default=scored["probability_of_default"],
        score=scored["score"],
        reasons=scored["reasons"],
        feature_vector=scored["features"],
        policy_version=scored["policy_version"],
        outside_training_range=scored["outside_training_range"],
        decided_at=decided_at,
    )


def german_decisions_record(
    *, champion: ModelVersion, decided_at: dt.datetime, challenger: ModelVersion | None = None, prefix: str = "lab"
) -> list[Decision]:
    """Each imported German credit application submitted again and decided by `champion` (and `challenger` in
    shadow), one second apart from `decided_at`; approvals are funded (but every tenth) and repay as the German
    record did: a default 90 days past due three months on, else paid up thirteen months on."""
    imported = list(
        LoanApplication.objects.filter(channel=LoanApplication.Channel.IMPORT, product=champion.product)
        .select_related("applicant__protected_attributes")
        .order_by("pk")
    )
    bad = set(
        RepaymentOutcome.objects.filter(
            status=RepaymentOutcome.Status.DEFAULTED, loan__application__in=imported
        ).values_list("loan__application_id", flat=True)
    )
    applicants = Applicant.objects.bulk_create(
        [Applicant(reference=f"{prefix}-{row.pk}", full_name="Lab Applicant") for row in imported]
    )
    ProtectedAttributes.objects.bulk_create(
        [
            ProtectedAttributes(
                applicant=applicant,
                **{name: getattr(row.applicant.protected_attributes, name) for name in PROTECTED_FIELDS},
            )
            for applicant, row in zip(applicants, imported, strict=True)
        ]
    )
    moments = [decided_at + dt.timedelta(seconds=index) for index in range(len(imported))]
    applications = LoanApplication.objects.bulk_create(
        [
            LoanApplication(
                reference=f"{prefix}-{row.pk}",
                applicant=applicant,
                channel=LoanApplication.Channel.PORTAL,
                product=row.product,
                amount=row.amount,
                term_months=row.term_months,
                purpose=row.purpose,
                features=row.features,
                status=LoanApplication.Status.DECIDED,
                submitted_at=moment,
            )
            for applicant, row, moment in zip(applicants, imported, moments, strict=True)
        ]
    )
    decisions = Decision.objects.bulk_create(
        [
            _decision(champion, application, moment, shadow=False)
            for application, moment in zip(applications, moments, strict=True)
        ]
    )
    if challenger is not None:
        Decision.objects.bulk_create(
            [
                _decision(challenger, application, moment, shadow=True)
                for application, moment in zip(applications, moments, strict=True)
            ]
        )
    funded = [
        (decision, row)
        for index, (decision, row) in enumerate(zip(decisions, imported, strict=True))
        if decision.outcome == Decision.Outcome.APPROVE and index % NOT_TAKEN_UP_EVERY
    ]
    loans = Loan.objects.bulk_create(
        [
            Loan(
                application=decision.application,
                principal=decision.application.amount,
                term_months=decision.application.term_months,
                funded_on=decision.decided_at.date(),
            )
            for decision, _ in funded
        ]
    )
    RepaymentOutcome.objects.bulk_create(
        [
            RepaymentOutcome(
                loan=loan,
                status=RepaymentOutcome.Status.DEFAULTED if row.pk in bad else RepaymentOutcome.Status.PAID,
                days_past_due=90 if row.pk in bad else 0,
                as_of=_months_after(loan.funded_on, 3 if row.pk in bad else 13),
            )
            for loan, (_, row) in zip(loans, funded, strict=True)
        ]
    )
    return decisions


def backtest_record(*, candidate: ModelVersion | None, requested_by: Any, **fields: Any) -> Backtest:
    """A stored backtest, running unless told otherwise (no worker involved)."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    values = {
        "product": "consumer_loan",
        "period_start": start,
        "period_end": start + dt.timedelta(days=31),
        **fields,
    }
    if candidate is None and "approve_below" not in fields:
        values.update(policy_version="lab-0.2-0.5", approve_below=0.2, decline_from=0.5)
    return Backtest.objects.create(candidate=candidate, requested_by=requested_by, **values)


def challenger_comparison_record(
    *, champion: ModelVersion, challenger: ModelVersion, requested_by: Any, **fields: Any
) -> ChallengerComparison:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return ChallengerComparison.objects.create(
        champion=champion,
        challenger=challenger,
        period_start=start,
        period_end=start + dt.timedelta(days=31),
        requested_by=requested_by,
        **fields,
    )


def comparison_results(*, rows: int = 600, seed: int = 0) -> dict[str, Any]:
    """The stored results of a done backtest or comparison, computed by the engine on seeded synthetic decisions
    (a stricter candidate, outcomes for most funded approvals, two sexes)."""
    import numpy as np
    import pandas as pd

    from analytics.engine.decision_comparison import ComparisonConfig, decisions_compare, policy_outcome_codes
    from analytics.engine.fairness import FairnessConfig
    from analytics.engine.policy import DecisionPolicy

    rng = np.random.default_rng(seed)
    probability = rng.beta(2, 5, rows)
    baseline = policy_outcome_codes(probabilities=probability, policy=DecisionPolicy("now", 0.3, 0.5))
    candidate = policy_outcome_codes(probabilities=probability, policy=DecisionPolicy("lab", 0.2, 0.5))
    funded = (baseline == 0) & (rng.random(rows) < 0.9)
    defaulted = np.where(funded & (rng.random(rows) < 0.8), (rng.random(rows) < probability).astype(float), np.nan)
    compared = decisions_compare(
        baseline=baseline,
        candidate=candidate,
        baseline_probability=probability,
        candidate_probability=probability,
        defaulted=defaulted,
        funded=funded,
        protected=pd.DataFrame({"sex": rng.choice(["female", "male"], rows)}, dtype=object),
        config=ComparisonConfig(
            baseline_label="as decided",
            candidate_label="lab",
            bootstrap_resamples=50,
            fairness=FairnessConfig(intersections=False, bootstrap_resamples=50),
        ),
    )
    return {
        "comparison": compared.to_dict(),
        "baseline": {"versions": {"v1": rows}, "policies": {"now": rows}, "overridden": 2},
        "candidate": {"version": None, "family": None, "policy": DecisionPolicy("lab", 0.2, 0.5).as_dict()},
        "reproduction": {"decisions": rows, "outcome_differences": 0, "max_probability_difference": 0.0, "means": "x"},
        "default_definition": {"days_past_due": 90, "horizon_months": 12, "text": "90+ days past due"},
        "as_of": "2026-12-01",
        "pairs": rows,
        "champion_decisions": rows,
        "overridden": 2,
    }
