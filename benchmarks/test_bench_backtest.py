"""Benchmark: a backtest of one candidate over 10^6 stored applications (the policy lab, issue 16).

Target: at most 20 s on the 2-core development machine for the backtest run itself — reading the month's
primary decisions (each model input straight out of the stored feature vector, by COPY), scoring them with the
candidate in one vectorised pass, the repayment outcomes of the funded, the swap sets and their bad rates, AUC of
both sides with 1,000 resamples, and each protected group's approval rate and adverse impact ratio under both
with 1,000 resamples — stored on the record. The applications are German credit applicants resampled to a
million (the amount jittered), decided by a trained German credit scorecard (its stored probability and outcome)
and loaded by COPY beforehand (not timed); about 90% of the approvals are funded and have an outcome (a default
2 to 11 months after funding, with the PD's probability, else paid up 400 days on). The
candidate is a second scorecard trained on another split. The machine's load and where the time went (the
backtest's own progress steps) are printed with the figure.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from analytics.engine.dataset_schema import schema_load
from analytics.models import ModelVersion
from analytics.services.serving import application_model_inputs, scorer_for_version
from analytics.services.training_jobs import model_version_train
from finai.bulk import frame_copy
from lending.models import (
    Applicant,
    Decision,
    Loan,
    LoanApplication,
    ProtectedAttributes,
    RepaymentOutcome,
)
from lending.services.datasets import dataset_import
from lending.services.training import model_training_start
from monitoring.models import Backtest
from monitoring.services import backtests

APPLICATIONS = 1_000_000
TARGET_SECONDS = 20.0
PROTECTED = ("sex", "marital_status", "age_band", "race_ethnicity", "national_origin")


def _reserved_ids(table: str, count: int) -> np.ndarray:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)


def _trained(manager, *, seed: int) -> ModelVersion:
    version = model_training_start(dataset="german_credit", family="scorecard", requested_by=manager, seed=seed)
    return model_version_train(version_id=version.pk)


def _german_inputs(champion: ModelVersion) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The imported German applications as the champion's exact inputs, and their applicants' protected groups."""
    imported = list(
        LoanApplication.objects.filter(channel=LoanApplication.Channel.IMPORT)
        .select_related("applicant__protected_attributes")
        .order_by("pk")
    )
    scorer = scorer_for_version(champion)
    vectors = [
        scorer.decide(
            application_model_inputs(
                version=champion,
                features=row.features,
                amount=row.amount,
                term_months=row.term_months,
                purpose=row.purpose,
            )
        ).features
        for row in imported
    ]
    protected = pd.DataFrame(
        [[getattr(row.applicant.protected_attributes, name) for name in PROTECTED] for row in imported],
        columns=list(PROTECTED),
    )
    return pd.DataFrame(vectors), protected


def _month_load(champion: ModelVersion, *, starts: dt.datetime) -> None:
    """A month of a million primary decisions by the champion, their applicants' protected groups, and the funded
    approvals' loans with one outcome each, loaded by COPY."""
    rng = np.random.default_rng(0)
    inputs, groups = _german_inputs(champion)
    rows = rng.integers(0, len(inputs), APPLICATIONS)
    features = inputs.iloc[rows].reset_index(drop=True)
    features["credit_amount"] = np.clip(
        np.round(features["credit_amount"] * rng.uniform(0.8, 1.2, APPLICATIONS)), 1, 18424
    )
    features["credit_amount"] = features["credit_amount"].astype(np.int64)
    protected = groups.iloc[rows].reset_index(drop=True)
    scorer = scorer_for_version(champion)
    probability = scorer.model.predict_proba_default(features)
    policy = champion.policy
    outcomes = np.where(
        probability < policy.approve_below, "approve", np.where(probability >= policy.decline_from, "decline", "refer")
    )
    decided = pd.to_datetime(
        starts.timestamp() + np.sort(rng.uniform(0, 30 * 24 * 3600 - 1, APPLICATIONS)), unit="s", utc=True
    )
    vectors = features.to_json(orient="records", lines=True).splitlines()
    applicants = _reserved_ids(Applicant._meta.db_table, APPLICATIONS)
    applications = _reserved_ids(LoanApplication._meta.db_table, APPLICATIONS)
    funded = (outcomes == "approve") & (rng.random(APPLICATIONS) < 0.9)
    loans = _reserved_ids(Loan._meta.db_table, int(funded.sum()))
    defaulted = rng.random(len(loans)) < probability[funded]
    funded_on = decided[funded].tz_convert(None).normalize()
    with connection.cursor() as cursor:
        frame_copy(
            cursor=cursor,
            table=Applicant._meta.db_table,
            frame=pd.DataFrame(
                {
                    "id": applicants,
                    "reference": [f"bench-{i}" for i in applicants],
                    "full_name": "Bench",
                    "email": "",
                    "source": "synthetic",
                    "created_at": decided,
                }
            ),
        )
        frame_copy(
            cursor=cursor,
            table=ProtectedAttributes._meta.db_table,
            frame=pd.DataFrame(
                {"applicant_id": applicants, **{name: protected[name] for name in PROTECTED}, "other": "{}"}
            ),
        )
        frame_copy(
            cursor=cursor,
            table=LoanApplication._meta.db_table,
            frame=pd.DataFrame(
                {
                    "id": applications,
                    "reference": [f"bench-{i}" for i in applications],
                    "applicant_id": applicants,
                    "channel": "synthetic",
                    "product": champion.product,
                    "amount": features["credit_amount"],
                    "term_months": features["duration_in_month"],
                    "purpose": features["purpose"],
                    "features": vectors,
                    "status": np.where(funded, "funded", "decided"),
                    "submitted_at": decided,
                    "updated_at": decided,
                }
            ),
        )
        frame_copy(
            cursor=cursor,
            table=Decision._meta.db_table,
            frame=pd.DataFrame(
                {
                    "application_id": applications,
                    "model_version_id": champion.pk,
                    "is_shadow": False,
                    "outcome": outcomes,
                    "probability_of_default": probability,
                    "score": 600,
                    "reasons": "[]",
                    "feature_vector": vectors,
                    "outside_training_range": "[]",
                    "policy_version": policy.version,
                    "decided_at": decided,
                }
            ),
        )
        frame_copy(
            cursor=cursor,
            table=Loan._meta.db_table,
            frame=pd.DataFrame(
                {
                    "id": loans,
                    "application_id": applications[funded],
                    "principal": features["credit_amount"][funded].to_numpy(),
                    "term_months": features["duration_in_month"][funded].to_numpy(),
                    "funded_on": funded_on.date,
                }
            ),
        )
        frame_copy(
            cursor=cursor,
            table=RepaymentOutcome._meta.db_table,
            frame=pd.DataFrame(
                {
                    "loan_id": loans,
                    "status": np.where(defaulted, "defaulted", "paid"),
                    "days_past_due": np.where(defaulted, 90, 0),
                    "as_of": (
                        funded_on
                        + pd.to_timedelta(np.where(defaulted, rng.integers(60, 330, len(loans)), 400), unit="D")
                    ).date,
                    "recorded_at": timezone.now(),
                }
            ),
        )
        for model in (Decision, Loan, RepaymentOutcome, ProtectedAttributes, LoanApplication, Applicant):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _auc(side: dict) -> str:
    measured = side["discrimination"]
    return f"{measured['auc']['value']:.3f}" if measured["auc"] else f"unavailable ({measured['unavailable']})"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


@pytest.mark.django_db(transaction=True)
def test_a_backtest_of_one_candidate_over_a_million_applications_takes_at_most_20_seconds(
    model_manager, monkeypatch, settings, figure
):
    settings.MONITORING_BOOTSTRAP_SAMPLES = 1000
    dataset_import(schema=schema_load("german_credit"), file=schema_load("german_credit").resolve_file())
    champion = _trained(model_manager, seed=0)
    ModelVersion.objects.filter(pk=champion.pk).update(status=ModelVersion.Status.CHAMPION)
    candidate = _trained(model_manager, seed=1)
    starts = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=470)
    loading = time.perf_counter()
    _month_load(champion, starts=starts)
    loaded = time.perf_counter() - loading

    requesting = time.perf_counter()
    backtest = backtests.backtest_request(
        product=champion.product,
        candidate=candidate,
        first_day=timezone.localtime(starts).date(),
        last_day=timezone.localtime(starts).date() + dt.timedelta(days=31),
        requested_by=model_manager,
        queue=False,
    )
    requested = time.perf_counter() - requesting
    steps: list[tuple[float, str]] = []
    recorded = backtests._progress

    def timed(backtest_id: int, percent: int, message: str) -> None:
        steps.append((time.perf_counter(), message))
        recorded(backtest_id, percent, message)

    monkeypatch.setattr(backtests, "_progress", timed)

    started = time.perf_counter()
    done = backtests.backtest_run(backtest_id=backtest.pk)
    seconds = time.perf_counter() - started

    marks = [(started, "Reading the period's decisions"), *steps, (started + seconds, "stored")]
    breakdown = "; ".join(
        f"{message} {after - before:.1f} s" for (before, message), (after, _) in itertools.pairwise(marks)
    )
    comparison = done.results["comparison"]
    print(
        f"\nbacktest of v{candidate.pk} over {comparison['applications']:,} stored applications "
        f"({comparison['coverage']['with_outcome']:,} with an outcome; "
        f"{comparison['swap_in']['applications']:,} swap-ins, {comparison['swap_out']['applications']:,} swap-outs; "
        f"1,000 resamples): {seconds:.1f} s "
        f"(request checks {requested:.1f} s; loading by COPY {loaded:.0f} s; {_load()}; {timezone.now():%Y-%m-%d})"
        f"\n  AUC as decided {_auc(comparison['baseline'])}, replayed {_auc(comparison['candidate'])}"
        f"\n  where the time went: {breakdown}"
    )
    assert done.status == Backtest.Status.DONE, done.failure
    assert comparison["applications"] == APPLICATIONS
    assert comparison["config"]["bootstrap_resamples"] == 1000
    assert comparison["groups"]
    figure("backtest_1m", seconds, "s", limit=TARGET_SECONDS, note=f"{APPLICATIONS:,} applications")
    assert seconds <= TARGET_SECONDS
