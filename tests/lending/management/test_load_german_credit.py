"""`load_german_credit`: the 1,000 Statlog applications, protected attributes apart, loaded once."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import Counter
from io import StringIO
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.management import call_command

from analytics.engine.dataset_schema import schema_load
from finai.models import AuditEvent
from lending.models import Applicant, Decision, Loan, LoanApplication, ProtectedAttributes, RepaymentOutcome

CSV_PATH = Path(__file__).resolve().parents[3] / "data" / "german_credit.csv"
PROTECTED_COLUMNS = ("personal_status_and_sex", "age_in_years", "foreign_worker")


@pytest.fixture
def csv_rows() -> list[dict[str, str]]:
    with CSV_PATH.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def loaded(db) -> str:
    out = StringIO()
    call_command("load_german_credit", stdout=out)
    return out.getvalue()


def test_it_loads_every_application_with_its_decision_loan_and_outcome(loaded):
    assert "1000 created, 0 skipped" in loaded
    assert Applicant.objects.filter(source="german_credit").count() == 1000
    assert LoanApplication.objects.filter(channel="import", status="funded", product="consumer_loan").count() == 1000
    assert (
        Decision.objects.filter(
            outcome="approve", model_version=None, policy_version="historical:german_credit"
        ).count()
        == 1000
    )
    assert Loan.objects.count() == 1000
    assert RepaymentOutcome.objects.count() == 1000


def test_three_hundred_bad_credits_are_defaults_ninety_days_past_due(loaded, csv_rows):
    defaulted = RepaymentOutcome.objects.filter(status="defaulted")
    bad_rows = {f"german_credit:{n}" for n, row in enumerate(csv_rows, start=1) if row["creditability"] == "bad"}

    assert defaulted.count() == 300
    assert set(defaulted.values_list("days_past_due", flat=True)) == {90}
    assert set(defaulted.values_list("loan__application__reference", flat=True)) == bad_rows
    assert set(RepaymentOutcome.objects.filter(status="paid").values_list("days_past_due", flat=True)) == {0}


def test_running_it_twice_leaves_one_thousand(loaded):
    out = StringIO()
    call_command("load_german_credit", stdout=out)

    assert "0 created, 1000 skipped" in out.getvalue()
    assert Applicant.objects.count() == 1000
    assert LoanApplication.objects.count() == 1000
    assert RepaymentOutcome.objects.count() == 1000
    assert ProtectedAttributes.objects.count() == 1000


def test_sex_and_marital_status_land_in_protected_attributes_with_the_readme_counts(loaded):
    assert Counter(ProtectedAttributes.objects.values_list("sex", flat=True)) == {"male": 690, "female": 310}
    assert Counter(ProtectedAttributes.objects.values_list("marital_status", flat=True)) == {
        "single": 548,
        "divorced/separated/married": 310,
        "married/widowed": 92,
        "divorced/separated": 50,
    }
    assert Counter(ProtectedAttributes.objects.values_list("national_origin", flat=True)) == {
        "foreign worker": 963,
        "not a foreign worker": 37,
    }


def test_age_and_its_band_match_the_file(loaded, csv_rows):
    ages = {f"german_credit:{n}": int(row["age_in_years"]) for n, row in enumerate(csv_rows, start=1)}
    under_25 = sum(age < 25 for age in ages.values())

    stored = dict(ProtectedAttributes.objects.values_list("applicant__reference", "age_years"))

    assert stored == ages
    assert ProtectedAttributes.objects.filter(age_band="<25").count() == under_25
    assert ProtectedAttributes.objects.filter(age_band=">=25").count() == 1000 - under_25
    assert 0 < under_25 < 1000


def test_no_protected_column_name_or_value_appears_in_features(loaded, csv_rows):
    schema = schema_load("german_credit")
    feature_names = {spec.name for spec in schema.features}
    protected_words = {"male", "female", "single", "married", "divorced", "widowed", "foreign"}

    for application in LoanApplication.objects.select_related("applicant"):
        assert set(application.features) == feature_names
        text = json.dumps(application.features).lower()
        assert not any(name in text for name in PROTECTED_COLUMNS)
        assert not any(word in text for word in protected_words)
        assert not any(word in application.purpose.lower() for word in protected_words)
        assert application.applicant.full_name == ""
    assert not Decision.objects.exclude(feature_vector={}).exists()


def test_features_keep_the_files_values_as_typed_values(loaded, csv_rows):
    first = LoanApplication.objects.get(reference="german_credit:1")
    row = csv_rows[0]

    assert first.features["credit_amount"] == int(row["credit_amount"])
    assert first.features["duration_in_month"] == int(row["duration_in_month"])
    assert first.features["purpose"] == row["purpose"]
    assert first.features["housing"] == row["housing"]
    assert (first.amount, first.term_months, first.purpose) == (
        int(row["credit_amount"]),
        int(row["duration_in_month"]),
        row["purpose"],
    )
    assert first.features.keys().isdisjoint({"creditability", *PROTECTED_COLUMNS})


def test_applications_are_dated_deterministically_across_1973_to_1975(loaded):
    dates = list(LoanApplication.objects.order_by("pk").values_list("reference", "submitted_at"))

    assert dates[0] == ("german_credit:1", dt.datetime(1973, 1, 1, tzinfo=dt.UTC))
    assert all(a[1] <= b[1] for a, b in pairwise(dates))
    assert dates[-1][1] < dt.datetime(1976, 1, 1, tzinfo=dt.UTC)
    assert dates[-1][1].year == 1975


def test_the_import_is_one_audit_event_naming_the_exact_file(loaded):
    event = AuditEvent.objects.get(action="dataset.imported")

    assert event.payload["dataset"] == "german_credit"
    assert event.payload["sha256"] == hashlib.sha256(CSV_PATH.read_bytes()).hexdigest()
    assert (event.payload["rows"], event.payload["created"], event.payload["skipped"]) == (1000, 1000, 0)
    assert event.actor_label == "system"
    assert not any(word in json.dumps(event.payload) for word in ("female", "male :", "age_in_years"))
