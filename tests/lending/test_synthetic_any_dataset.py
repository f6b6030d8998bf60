"""The synthetic generator follows whichever outcomes data set it is given: here a credit-card book (no term, a
protected column kept by its own name, no sex), not German credit."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.engine.dataset_schema import schema_load
from lending.models import Applicant, Decision, Loan, LoanApplication, ProtectedAttributes, RepaymentOutcome
from lending.synthetic import SyntheticParametersError, reference_load, synthetic_population

REFERENCE_ROWS = 3000
EDUCATION = {1: "graduate school", 2: "university", 3: "high school", 4: "others"}
MARRIAGE = {1: "married", 2: "single", 3: "others"}


def card_schema(file: Path) -> dict:
    """A credit-card book in the style of the Taiwan default data set: a limit, repayment status, no term."""
    return {
        "name": "card_book",
        "file": str(file),
        "kind": "outcomes",
        "product": "credit_card",
        "positive_label": 1,
        "negative_label": 0,
        "default_definition": {"days_past_due": 60, "horizon_months": 6},
        "columns": {
            "id": {"role": "id"},
            "limit_bal": {"role": "feature", "type": "numeric", "maps_to": "amount", "min": 1},
            "pay_0": {"role": "feature", "type": "numeric", "monotone": "increasing", "min": -2, "max": 8},
            "bill_ratio": {"role": "feature", "type": "numeric"},
            "card_type": {"role": "feature", "type": "categorical"},
            "education": {"role": "protected", "type": "categorical", "labels": EDUCATION},
            "marriage": {"role": "protected", "type": "categorical", "maps_to": "marital_status", "labels": MARRIAGE},
            "age": {"role": "protected", "type": "numeric", "maps_to": "age_years", "bands": [30, 45]},
            "default_next_month": {"role": "target", "type": "categorical"},
        },
    }


def card_reference(rng: np.random.Generator) -> pd.DataFrame:
    """Education goes with a higher limit and so a lower default rate, as in real books: the generator must not
    carry that into its decisions."""
    education = rng.choice([1, 2, 3, 4], REFERENCE_ROWS, p=[0.30, 0.40, 0.25, 0.05])
    limit = np.rint(rng.lognormal(11.5 - 0.25 * education, 0.5)).astype(int)
    pay = rng.choice(
        np.arange(-2, 9), REFERENCE_ROWS, p=[0.1, 0.2, 0.45, 0.1, 0.08, 0.03, 0.02, 0.01, 0.005, 0.003, 0.002]
    )
    bill_ratio = np.round(rng.beta(2, 3, REFERENCE_ROWS), 4)
    logit = -1.6 + 0.7 * pay - 0.4 * (np.log(limit) - 11) + 0.8 * (bill_ratio - 0.4) + 0.4 * (education - 2)
    defaulted = (rng.random(REFERENCE_ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "id": np.arange(1, REFERENCE_ROWS + 1),
            "limit_bal": limit,
            "pay_0": pay,
            "bill_ratio": bill_ratio,
            "card_type": rng.choice(["classic", "gold", "platinum"], REFERENCE_ROWS, p=[0.6, 0.3, 0.1]),
            "education": education,
            "marriage": rng.choice([1, 2, 3], REFERENCE_ROWS, p=[0.45, 0.5, 0.05]),
            "age": rng.integers(21, 70, REFERENCE_ROWS),
            "default_next_month": defaulted,
        }
    )


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("card_book")
    card_reference(np.random.default_rng(2024)).to_csv(folder / "card_book.csv", index=False)
    path = folder / "card_book.yaml"
    path.write_text(yaml.safe_dump(card_schema(folder / "card_book.csv")), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def schema(schema_file):
    return schema_load(schema_file)


@pytest.fixture(scope="module")
def reference(schema) -> pd.DataFrame:
    return reference_load(schema)


def draw(schema, reference, *, applications: int, bias: float, seed: int = 3, groups=None):
    disadvantaged, compared_with = groups or (("education", "high school"), ("education", "university"))
    return synthetic_population(
        applications=applications,
        seed=seed,
        bias=bias,
        reference=reference,
        schema=schema,
        disadvantaged_group=disadvantaged,
        reference_group=compared_with,
        transaction_accounts=0,
    )


@pytest.fixture(scope="module")
def large(schema, reference):
    return draw(schema, reference, applications=60_000, bias=0.25)


def approval_rate(generated, attribute: str, value: str) -> tuple[float, int]:
    members = (generated.protected[attribute].astype(str) == value).to_numpy()
    return float(generated.decisions["approved"].to_numpy()[members].mean()), int(members.sum())


def test_the_measured_adverse_impact_ratio_is_one_minus_the_planted_bias(large):
    disadvantaged_rate, disadvantaged_count = approval_rate(large, "education", "high school")
    reference_rate, reference_count = approval_rate(large, "education", "university")
    measured = disadvantaged_rate / reference_rate
    # The ratio of two independent binomial proportions: by the delta method its standard error is
    # ratio * sqrt((1 - p1) / (n1 p1) + (1 - p2) / (n2 p2)); four of them leave a false alarm once in ~16,000 runs.
    standard_error = measured * math.sqrt(
        (1 - disadvantaged_rate) / (disadvantaged_count * disadvantaged_rate)
        + (1 - reference_rate) / (reference_count * reference_rate)
    )

    assert large.planted_adverse_impact_ratio == pytest.approx(0.75)
    assert standard_error < 0.01  # the sample is large enough for the check to mean something
    assert abs(measured - 0.75) < 4 * standard_error
    assert abs(reference_rate - 0.70) < 0.03


def test_without_bias_every_education_is_approved_alike_though_the_reference_is_not(schema, reference):
    generated = draw(schema, reference, applications=40_000, bias=0.0, seed=5)
    reference_default = reference["default_next_month"].eq(1).groupby(reference["education"]).mean()
    approved = generated.decisions["approved"].groupby(generated.protected["education"].astype(str).to_numpy())

    assert reference_default.max() - reference_default.min() > 0.1  # education goes with risk in the reference
    # The smallest group, "others" (5%, 2,000 applicants), has a standard error of about 0.01 on its rate.
    assert approved.mean().max() - approved.mean().min() < 0.04


def test_protected_values_are_mapped_by_the_schema_and_follow_the_reference(large, reference):
    shares = large.protected["education"].astype(str).value_counts(normalize=True)
    real = reference["education"].map(EDUCATION).value_counts(normalize=True)

    assert set(large.protected.columns) == {"education", "marital_status", "age_years", "age_band"}
    assert (shares.reindex(real.index) - real).abs().max() < 0.015
    assert set(large.protected["marital_status"].astype(str)) == set(MARRIAGE.values())
    assert set(large.protected["age_band"].astype(str)) == {"<30", "30-<45", ">=45"}


def test_open_ended_credit_is_followed_over_the_horizon_and_defaults_at_the_schemas_days_past_due(large):
    outcomes = large.outcomes[large.decisions["approved"]]
    days_followed = (outcomes["as_of"] - outcomes["funded_on"]).dt.days

    assert set(outcomes.loc[outcomes["defaulted"], "days_past_due"]) == {60}
    assert days_followed.max() <= round(6 * 30.44) + 60
    assert (days_followed[~outcomes["defaulted"]] == round(6 * 30.44)).all()


def test_the_engine_refuses_groups_the_data_set_does_not_hold(schema, reference):
    with pytest.raises(SyntheticParametersError) as refused:
        draw(schema, reference, applications=10, bias=0.1, groups=(("sex", "female"), ("education", "phd")))

    assert set(refused.value.problems) == {"disadvantaged_group", "reference_group"}
    assert "'sex' is not a protected attribute of card_book" in refused.value.problems["disadvantaged_group"]
    assert "'phd' does not occur" in refused.value.problems["reference_group"]


def load(schema_file: Path, **options) -> str:
    out = io.StringIO()
    arguments = {"dataset": str(schema_file), "applications": 400, "seed": 21, "transaction_accounts": 0}
    call_command("generate_synthetic", stdout=out, **(arguments | options))
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_stores_the_book_with_its_own_protected_column_in_other_and_no_term(schema_file):
    output = load(schema_file, bias=0.3, disadvantaged="education=high school", reference_group="education=university")

    applications = LoanApplication.objects.filter(reference__startswith="synthetic-21-")
    stored = ProtectedAttributes.objects.filter(applicant__reference__startswith="synthetic-21-")
    assert applications.count() == 400
    assert set(applications.values_list("product", flat=True)) == {"credit_card"}
    assert not applications.filter(term_months__isnull=False).exists()
    assert not Loan.objects.filter(term_months__isnull=False).exists()
    assert set(RepaymentOutcome.objects.filter(status="defaulted").values_list("days_past_due", flat=True)) == {60}
    assert {tuple(other) for other in stored.values_list("other", flat=True)} == {("education",)}
    assert {other["education"] for other in stored.values_list("other", flat=True)} <= set(EDUCATION.values())
    assert set(stored.values_list("marital_status", flat=True)) <= set(MARRIAGE.values())
    assert set(stored.values_list("sex", flat=True)) == {""}
    assert "data set: card_book" in output
    assert "(education=high school vs education=university): 0.700" in output


@pytest.mark.django_db
def test_the_stored_decisions_show_the_planted_disparity_by_education(schema, reference, schema_file):
    load(schema_file, seed=22, bias=0.3, disadvantaged="education=high school", reference_group="education=university")
    expected = draw(schema, reference, applications=400, bias=0.3, seed=22)
    rows = pd.DataFrame(
        Decision.objects.values_list("outcome", "application__applicant__protected_attributes__other"),
        columns=["outcome", "other"],
    )
    education = rows["other"].map(lambda other: other.get("education")).to_numpy()
    approved = (rows["outcome"] == "approve").to_numpy()

    def ratio(groups: np.ndarray, decisions: np.ndarray) -> float:
        return decisions[groups == "high school"].mean() / decisions[groups == "university"].mean()

    assert ratio(education, approved) == pytest.approx(
        ratio(expected.protected["education"].astype(str).to_numpy(), expected.decisions["approved"].to_numpy())
    )


@pytest.mark.django_db
def test_groups_are_required_where_the_data_set_records_no_sex(schema_file):
    with pytest.raises(CommandError) as refused:
        load(schema_file)

    message = str(refused.value)
    assert "--disadvantaged: is required for card_book" in message
    assert "--reference-group: is required for card_book" in message
    assert "education" in message  # the attributes that may be named
    assert not Applicant.objects.exists()


@pytest.mark.django_db
def test_the_command_names_every_bad_flag_at_once(schema_file):
    with pytest.raises(CommandError) as refused:
        load(schema_file, bias=1.5, disadvantaged="education=phd", reference_group="race_ethnicity=asian")

    message = str(refused.value)
    assert "--bias: must be at least 0 and below 1" in message
    assert "--disadvantaged: 'phd' does not occur in the reference data's education" in message
    assert "university" in message  # the values that do occur
    assert "--reference-group: 'race_ethnicity' is not a protected attribute of card_book" in message
    assert not Applicant.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"disadvantaged": "education", "reference_group": "education=university"}, "--disadvantaged: must be"),
        (
            {"disadvantaged": "education=high school", "reference_group": "marital_status=single"},
            "--reference-group: must be a group of the disadvantaged group's attribute, education",
        ),
        (
            {"disadvantaged": "education=university", "reference_group": "education=university"},
            "--reference-group: must be another value",
        ),
        (
            {
                "disadvantaged": "education=high school",
                "reference_group": "education=university",
                "reference_file": "/no/such.csv",
            },
            "--reference-file: no file at /no/such.csv",
        ),
        ({"dataset": "no_such_book", "disadvantaged": "education"}, "--dataset: No data set is called 'no_such_book'"),
    ],
)
def test_the_command_refuses_a_bad_flag_naming_it(schema_file, options, expected):
    with pytest.raises(CommandError) as refused:
        load(schema_file, **options)

    assert expected in str(refused.value)
    assert not Applicant.objects.exists()


@pytest.mark.django_db
def test_a_reference_file_that_does_not_fit_the_schema_is_refused_naming_its_columns(schema_file, tmp_path):
    pd.DataFrame({"id": [1], "limit_bal": [1000]}).to_csv(tmp_path / "thin.csv", index=False)

    with pytest.raises(CommandError) as refused:
        load(
            schema_file,
            reference_file=str(tmp_path / "thin.csv"),
            disadvantaged="education=high school",
            reference_group="education=university",
        )

    message = str(refused.value)
    assert "--reference-file:" in message
    assert all(column in message.split("lacks the columns")[1] for column in ("pay_0", "education", "marriage"))
