"""The seeded synthetic generator on German credit, chosen explicitly: realistic marginals, a planted disparity of
known size, bulk loading. Other data sets: tests/lending/test_synthetic_any_dataset.py."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from sklearn.metrics import roc_auc_score

from analytics.engine.dataset_schema import schema_load
from clustering.synthetic import SEASON_MONTHS
from finai.models import AuditEvent
from finai.services import audit_chain_verify
from lending.models import (
    Applicant,
    BankAccount,
    Decision,
    Loan,
    LoanApplication,
    ProtectedAttributes,
    RepaymentOutcome,
    Transaction,
)
from lending.synthetic import SyntheticParametersError, reference_load, risk_model_fit, synthetic_population

SCHEMA = schema_load("german_credit")
REFERENCE = reference_load(SCHEMA)
GROUPS = {"disadvantaged": "sex=female", "reference_group": "sex=male"}


def population(applications: int, seed: int = 7, bias: float = 0.2, transaction_accounts: int | None = 0):
    return synthetic_population(
        applications=applications,
        seed=seed,
        bias=bias,
        reference=REFERENCE,
        schema=SCHEMA,
        disadvantaged_group=("sex", "female"),
        reference_group=("sex", "male"),
        transaction_accounts=transaction_accounts,
    )


def adverse_impact_ratio(sex: np.ndarray, approved: np.ndarray) -> float:
    """Approval rate of women over that of men, by plain counting."""
    female, male = sex == "female", sex == "male"
    return (approved[female].sum() / female.sum()) / (approved[male].sum() / male.sum())


@pytest.fixture(scope="module")
def large() -> object:
    return population(20_000)


@pytest.fixture(scope="module")
def histories() -> object:
    return population(600, seed=3, transaction_accounts=600)


@pytest.fixture(scope="module")
def per_account(histories) -> pd.DataFrame:
    transactions = histories.transactions
    frame = pd.DataFrame(
        {
            "account": transactions["account"],
            "salary": (transactions["category"] == "salary").astype(int),
            "credit": transactions["amount_cents"].clip(lower=0),
            "debit": -transactions["amount_cents"].clip(upper=0),
        }
    )
    totals = frame.groupby("account").agg(
        transactions=("salary", "size"), salaries=("salary", "sum"), credit=("credit", "sum"), debit=("debit", "sum")
    )
    totals = totals.reindex(range(len(histories.accounts)), fill_value=0)
    return totals.assign(behaviour=histories.accounts["behaviour"].astype(str).to_numpy())


def test_the_same_seed_gives_identical_data():
    first, second = population(800, transaction_accounts=30), population(800, transaction_accounts=30)

    for name in ("applicants", "protected", "applications", "decisions", "outcomes", "accounts", "transactions"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def test_the_number_of_bank_histories_does_not_change_the_applications():
    without, with_histories = population(800, transaction_accounts=0), population(800, transaction_accounts=300)

    assert len(without.transactions) == 0
    assert len(with_histories.accounts) == 300
    pd.testing.assert_frame_equal(without.applications, with_histories.applications)
    pd.testing.assert_frame_equal(without.decisions, with_histories.decisions)


def test_a_different_seed_gives_different_data():
    first, second = population(800, seed=1, transaction_accounts=30), population(800, seed=2, transaction_accounts=30)

    assert not first.applications.equals(second.applications)
    assert not first.protected.equals(second.protected)
    assert not first.transactions["amount_cents"].equals(second.transactions["amount_cents"])
    assert first.applicants["reference"].iloc[0] == "synthetic-1-0"
    assert second.applicants["reference"].iloc[0] == "synthetic-2-0"


def test_each_categorical_feature_follows_the_german_credit_frequencies(large):
    for spec in SCHEMA.features:
        if spec.type != "categorical":
            continue
        real = REFERENCE[spec.name].value_counts(normalize=True)
        synthetic = large.applications[spec.name].astype(str).value_counts(normalize=True)
        assert set(synthetic.index) <= set(real.index), spec.name
        gaps = (synthetic.reindex(real.index, fill_value=0.0) - real).abs()
        assert gaps.max() < 0.02, f"{spec.name}: {gaps.idxmax()} is off by {gaps.max():.3f}"


def test_numeric_features_keep_the_reference_mean_and_range(large):
    for spec in SCHEMA.features:
        if spec.type != "numeric":
            continue
        real, synthetic = REFERENCE[spec.name], large.applications[spec.name]
        assert abs(synthetic.mean() / real.mean() - 1) < 0.03, spec.name
        assert synthetic.min() >= real.min(), spec.name
        assert synthetic.max() <= real.max(), spec.name


def test_features_stay_correlated_as_in_german_credit(large):
    real = np.corrcoef(REFERENCE["duration_in_month"], REFERENCE["credit_amount"])[0, 1]
    synthetic = np.corrcoef(large.applications["duration_in_month"], large.applications["credit_amount"])[0, 1]

    assert real > 0.6
    assert abs(synthetic - real) < 0.03


def test_protected_attributes_follow_the_german_credit_marginals(large):
    real_female = REFERENCE["personal_status_and_sex"].str.startswith("female").mean()
    real_foreign = (REFERENCE["foreign_worker"] == "yes").mean()

    assert abs((large.protected["sex"] == "female").mean() - real_female) < 0.015
    assert abs((large.protected["national_origin"] == "foreign worker").mean() - real_foreign) < 0.01
    assert abs(large.protected["age_years"].mean() - REFERENCE["age_in_years"].mean()) < 0.5
    assert set(large.protected["age_band"].astype(str)) == {"<25", ">=25"}
    assert (large.protected["age_band"].astype(str) == "<25").eq(large.protected["age_years"] < 25).all()


def test_the_risk_model_reproduces_the_reference_default_rate_and_ranks_risk():
    model = risk_model_fit(reference=REFERENCE, schema=SCHEMA)
    probability_of_default = model.probability_of_default(REFERENCE)
    defaulted = (REFERENCE["creditability"] == "bad").to_numpy()

    assert probability_of_default.mean() == pytest.approx(defaulted.mean(), abs=1e-3)
    assert roc_auc_score(defaulted, probability_of_default) > 0.75


def test_the_default_rate_is_about_thirty_percent(large):
    assert abs(large.outcomes["defaulted"].mean() - 0.30) < 0.015
    assert abs(large.decisions["probability_of_default"].mean() - 0.30) < 0.01


def test_default_depends_on_the_checking_account_as_in_german_credit(large):
    real = (REFERENCE["creditability"] == "bad").groupby(REFERENCE["status_of_existing_checking_account"]).mean()
    status = large.applications["status_of_existing_checking_account"].astype(str)
    synthetic = large.outcomes["defaulted"].groupby(status.to_numpy()).mean()

    assert real.max() - real.min() > 0.3
    for category, rate in real.items():
        assert abs(synthetic[category] - rate) < 0.06, category


def test_credit_risk_is_independent_of_sex(large):
    female = (large.protected["sex"] == "female").to_numpy()
    risk = large.decisions["probability_of_default"].to_numpy()

    assert abs(risk[female].mean() - risk[~female].mean()) < 0.01


@pytest.mark.parametrize("bias", [0.0, 0.2])
def test_the_measured_adverse_impact_ratio_is_one_minus_the_planted_bias(bias):
    generated = population(50_000, seed=11, bias=bias)
    sex = generated.protected["sex"].astype(str).to_numpy()
    approved = generated.decisions["approved"].to_numpy()
    male_approval_rate = approved[sex == "male"].mean()

    assert generated.planted_adverse_impact_ratio == pytest.approx(1 - bias)
    assert abs(adverse_impact_ratio(sex, approved) - (1 - bias)) < 0.03
    assert abs(male_approval_rate - 0.70) < 0.02


def test_no_protected_attribute_is_among_the_application_features(large):
    protected = set(SCHEMA.protected_names) | set(large.protected.columns)

    assert not protected & set(large.applications.columns)
    assert set(large.feature_columns) == {spec.name for spec in SCHEMA.features}


def test_only_approved_applications_become_loans_with_an_outcome(large):
    approved = large.decisions["approved"]

    assert large.outcomes["funded_on"].notna().eq(approved).all()
    assert large.outcomes.loc[approved, "status"].isin(["paid", "defaulted"]).all()
    assert (large.outcomes.loc[approved, "status"] == "defaulted").eq(large.outcomes.loc[approved, "defaulted"]).all()
    assert (large.outcomes.loc[approved, "as_of"] > large.outcomes.loc[approved, "funded_on"]).all()


def test_dormant_accounts_have_far_fewer_transactions(per_account):
    medians = per_account.groupby("behaviour")["transactions"].median()

    assert set(medians.index) == {"regular_salary", "irregular_income", "high_spending", "seasonal", "dormant"}
    assert medians["dormant"] * 10 < medians.drop("dormant").min()


def test_salaried_accounts_receive_exactly_twelve_salaries_a_year(per_account):
    salaries = per_account.groupby("behaviour")["salaries"]

    assert (salaries.get_group("regular_salary") == 12).all()
    assert (salaries.get_group("high_spending") == 12).all()
    assert (salaries.get_group("irregular_income") == 0).all()


def test_high_spenders_spend_more_than_they_earn_and_others_do_not(per_account):
    spent_over_earned = (per_account["debit"] / per_account["credit"]).groupby(per_account["behaviour"]).median()

    assert spent_over_earned["high_spending"] > 1.05
    assert spent_over_earned["regular_salary"] < 1.0


def test_seasonal_income_arrives_only_in_summer_whichever_month_the_history_starts(histories):
    transactions = histories.transactions
    seasonal = histories.accounts["behaviour"].to_numpy()[transactions["account"]] == "seasonal"
    income = transactions[seasonal & (transactions["category"] == "income").to_numpy()]

    assert income["account"].nunique() == (histories.accounts["behaviour"] == "seasonal").sum()
    assert set(income["booked_on"].dt.month - 1) <= set(SEASON_MONTHS)


def test_histories_cover_the_twelve_calendar_months_before_the_application(histories):
    transactions = histories.transactions
    submitted = histories.applications["submitted_at"].to_numpy()[transactions["account"]]
    application_month = submitted.astype("datetime64[M]")
    booked_month = transactions["booked_on"].to_numpy().astype("datetime64[M]")
    months_before = (application_month - booked_month).astype(int)

    assert months_before.min() == 1
    assert months_before.max() == 12


def test_balances_run_from_signed_amounts(histories):
    transactions = histories.transactions
    opening = histories.accounts["opening_balance_cents"].to_numpy()[transactions["account"]]
    expected = transactions.groupby("account")["amount_cents"].cumsum() + opening

    assert (transactions["balance_cents"] == expected).all()
    assert ((transactions["amount_cents"] > 0) == (transactions["kind"] == "credit")).all()
    assert transactions.groupby("account")["booked_on"].is_monotonic_increasing.all()


def test_it_refuses_bad_parameters_naming_each():
    with pytest.raises(SyntheticParametersError) as refused:
        population(0, seed=-1, bias=1.0, transaction_accounts=5)

    assert set(refused.value.problems) == {"applications", "seed", "bias", "transaction_accounts"}


def load(**options) -> str:
    out = io.StringIO()
    call_command("generate_synthetic", stdout=out, **({"dataset": "german_credit"} | GROUPS | options))
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_loads_the_population_with_consistent_foreign_keys():
    output = load(applications=2000, seed=5, bias=0.2, transaction_accounts=40, batch_size=700)
    expected = population(2000, seed=5, bias=0.2, transaction_accounts=40)
    approved = int(expected.decisions["approved"].sum())

    connection.check_constraints()
    applicants = Applicant.objects.filter(reference__startswith="synthetic-5-", source="synthetic")
    applications = LoanApplication.objects.filter(applicant__in=applicants, channel="synthetic")
    assert applicants.count() == 2000
    assert ProtectedAttributes.objects.filter(applicant__in=applicants).count() == 2000
    assert applications.count() == 2000
    assert Decision.objects.filter(application__in=applications, policy_version="synthetic:bias=0.2").count() == 2000
    assert not Decision.objects.filter(model_version__isnull=False).exists()
    assert Decision.objects.filter(outcome="approve").count() == approved
    assert applications.filter(status="funded").count() == approved
    assert Loan.objects.filter(application__status="funded").count() == approved
    assert RepaymentOutcome.objects.filter(loan__application__in=applications).count() == approved
    assert RepaymentOutcome.objects.filter(status="defaulted").count() == int(
        (expected.decisions["approved"] & expected.outcomes["defaulted"]).sum()
    )
    assert BankAccount.objects.filter(applicant__in=applicants).count() == 40
    assert Transaction.objects.filter(account__applicant__in=applicants).count() == len(expected.transactions)
    assert "applications: 2,000" in output
    assert "0.800" in output


@pytest.mark.django_db
def test_german_credit_defaults_to_women_against_men_when_no_group_is_named():
    output = load(applications=200, seed=13, bias=0.1, transaction_accounts=0, disadvantaged=None, reference_group=None)

    assert "(sex=female vs sex=male): 0.900" in output
    assert AuditEvent.objects.get(action="synthetic_data.generated").payload["dataset"] == "german_credit"


@pytest.mark.django_db
def test_the_stored_decisions_show_the_planted_disparity_by_sex():
    load(applications=2000, seed=6, bias=0.3, transaction_accounts=0)
    expected = population(2000, seed=6, bias=0.3)
    rows = pd.DataFrame(
        Decision.objects.values_list("outcome", "application__applicant__protected_attributes__sex"),
        columns=["outcome", "sex"],
    )

    stored = adverse_impact_ratio(rows["sex"].to_numpy(), (rows["outcome"] == "approve").to_numpy())
    assert stored == pytest.approx(
        adverse_impact_ratio(
            expected.protected["sex"].astype(str).to_numpy(), expected.decisions["approved"].to_numpy()
        )
    )


@pytest.mark.django_db
def test_stored_features_hold_no_protected_attribute_and_match_the_application():
    load(applications=300, seed=8, transaction_accounts=0)
    feature_names = {spec.name for spec in SCHEMA.features}

    for application in LoanApplication.objects.all():
        assert set(application.features) == feature_names
        assert application.amount == application.features["credit_amount"]
        assert application.term_months == application.features["duration_in_month"]
        assert application.purpose == application.features["purpose"]
    assert set(ProtectedAttributes.objects.values_list("sex", flat=True)) == {"female", "male"}


@pytest.mark.django_db
def test_a_second_run_with_the_same_seed_adds_nothing():
    load(applications=500, seed=9, transaction_accounts=10)

    with pytest.raises(CommandError, match="seed 9 already exists"):
        load(applications=800, seed=9, transaction_accounts=10)

    assert Applicant.objects.count() == 500
    assert LoanApplication.objects.count() == 500
    assert BankAccount.objects.count() == 10
    assert load(applications=100, seed=10, transaction_accounts=0)
    assert Applicant.objects.count() == 600


@pytest.mark.django_db
def test_the_run_is_recorded_in_the_audit_trail():
    load(applications=200, seed=12, bias=0.25, transaction_accounts=5)

    event = AuditEvent.objects.get(action="synthetic_data.generated")
    assert event.object_id == "12"
    assert event.payload["planted_adverse_impact_ratio"] == pytest.approx(0.75)
    assert event.payload["disadvantaged_group"] == "sex=female"
    assert event.payload["counts"]["applications"] == 200
    assert audit_chain_verify().intact


@pytest.mark.django_db
def test_the_command_names_each_invalid_argument():
    with pytest.raises(CommandError) as refused:
        load(applications=0, seed=1, bias=1.5, transaction_accounts=3)

    message = str(refused.value)
    assert "--applications" in message
    assert "--bias" in message
    assert "--transaction-accounts" in message
    assert not Applicant.objects.exists()
