"""Importing data sets through their schemas: all or nothing, protected attributes apart, once."""

from __future__ import annotations

import csv
import time
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.engine.dataset_schema import schema_load
from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import Applicant, Decision, Loan, LoanApplication, ProtectedAttributes
from lending.services.datasets import dataset_import

DATA = Path(__file__).resolve().parents[3] / "data"
HMDA_RACE = {5: "White", 6: "Information not provided", 3: "Black or African American", 2: "Asian"}


def hmda_race(raw: str) -> str | None:
    """The HMDA race category of a code as the file writes it ("5.0"); 21-27 are Asian subgroups."""
    if not raw:
        return None
    code = int(float(raw))
    return HMDA_RACE.get(2 if 21 <= code <= 27 else code)


pytestmark = pytest.mark.django_db


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        return next(reader), list(reader)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def hmda_head(tmp_path: Path) -> Path:
    header, rows = read_rows(DATA / "hmda_sample.csv")
    return write_rows(tmp_path / "hmda_head.csv", header, rows[:2000])


@pytest.fixture
def german_head(tmp_path: Path) -> tuple[list[str], list[list[str]]]:
    header, rows = read_rows(DATA / "german_credit.csv")
    return header, rows[:20]


def test_hmda_decisions_load_as_approved_and_declined_applications(hmda_head):
    header, rows = read_rows(hmda_head)
    approved = sum(row[header.index("approved")] == "1" for row in rows)

    result = dataset_import(schema=schema_load("hmda"), file=hmda_head)

    assert (result.rows, result.created, result.skipped) == (2000, 2000, 0)
    assert Decision.objects.filter(outcome="approve", policy_version="historical:hmda").count() == approved
    assert Decision.objects.filter(outcome="decline").count() == 2000 - approved
    assert LoanApplication.objects.filter(status="decided", product="mortgage", term_months=360).count() == 2000
    assert not Loan.objects.exists()


def test_hmda_codes_become_readable_protected_attributes(hmda_head):
    header, rows = read_rows(hmda_head)
    column = {name: header.index(name) for name in ("applicant_race-1", "applicant_sex", "applicant_age")}
    expected_race = Counter(hmda_race(row[column["applicant_race-1"]]) for row in rows)
    expected_sex = Counter(row[column["applicant_sex"]] for row in rows)
    expected_bands = Counter(row[column["applicant_age"]].replace("8888", "") for row in rows)

    dataset_import(schema=schema_load("hmda"), file=hmda_head)

    stored_race = Counter(ProtectedAttributes.objects.values_list("race_ethnicity", flat=True))
    assert {race: stored_race[race] for race in HMDA_RACE.values()} == {
        race: expected_race[race] for race in HMDA_RACE.values()
    }
    stored_sex = Counter(ProtectedAttributes.objects.values_list("sex", flat=True))
    assert (stored_sex["male"], stored_sex["female"]) == (expected_sex["1"], expected_sex["2"])
    assert Counter(ProtectedAttributes.objects.values_list("age_band", flat=True)) == expected_bands


def test_hmda_features_are_typed_and_free_of_protected_columns(hmda_head):
    schema = schema_load("hmda")
    header, rows = read_rows(hmda_head)

    dataset_import(schema=schema, file=hmda_head)

    feature_names = {spec.name for spec in schema.features}
    for application in LoanApplication.objects.all():
        assert set(application.features) == feature_names
        assert application.features.keys().isdisjoint(schema.protected_names | {"approved"})
    first = LoanApplication.objects.get(reference="hmda:1").features
    row = dict(zip(header, rows[0], strict=True))
    assert first["loan_amount"] == float(row["loan_amount"])
    assert first["income"] == float(row["income"])
    assert first["occupancy_type"] == "principal residence"
    exempt = next(n for n, r in enumerate(rows, start=1) if r[header.index("loan_to_value_ratio")] == "Exempt")
    assert LoanApplication.objects.get(reference=f"hmda:{exempt}").features["loan_to_value_ratio"] is None


def test_the_whole_hmda_sample_loads_in_under_a_minute():
    started = time.monotonic()

    result = dataset_import(schema=schema_load("hmda"), file=DATA / "hmda_sample.csv")

    assert time.monotonic() - started < 60
    assert result.created == 50_000
    assert Decision.objects.filter(outcome="approve").count() == 36_983
    assert Decision.objects.filter(outcome="decline").count() == 13_017


def test_an_invalid_file_is_refused_naming_every_problem_and_writes_nothing(tmp_path, german_head):
    header, rows = german_head
    column = header.index
    rows[2][column("credit_amount")] = "abc"
    rows[4][column("duration_in_month")] = ""
    rows[7][column("creditability")] = "ugly"
    rows[10][column("foreign_worker")] = "maybe"
    rows[13][column("personal_status_and_sex")] = "male"
    telephone = column("telephone")
    broken = write_rows(
        tmp_path / "broken.csv",
        [n for n in header if n != "telephone"],
        [[v for i, v in enumerate(row) if i != telephone] for row in rows],
    )

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load("german_credit"), file=broken)

    assert caught.value.details == {
        "header, telephone": "required column is missing from the file",
        "row 3, credit_amount": "'abc' is not a number",
        "row 5, duration_in_month": 'is empty (list "" under missing if an empty cell means not known)',
        "row 8, creditability": "'ugly' is neither 'bad' nor 'good'",
        "row 11, foreign_worker": "'maybe' is not one of the codes listed under labels",
        "row 14, personal_status_and_sex": "'male' does not split on ' : ' into 2 parts",
    }
    assert "6 problems" in caught.value.message
    assert not Applicant.objects.exists()
    assert not LoanApplication.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_command_names_every_problem_and_fails(tmp_path, german_head):
    header, rows = german_head
    rows[0][header.index("age_in_years")] = "old"
    rows[1][header.index("creditability")] = ""
    broken = write_rows(tmp_path / "broken.csv", header, rows)

    with pytest.raises(CommandError) as caught:
        call_command("import_dataset", schema="german_credit", file=str(broken))

    assert "row 1, age_in_years: 'old' is not a number" in str(caught.value)
    assert "row 2, creditability: is empty" in str(caught.value)
    assert not Applicant.objects.exists()


def test_one_schema_level_and_fifty_row_level_problems_are_all_reported_in_one_run(tmp_path):
    header, rows = read_rows(DATA / "german_credit.csv")
    dropped = header.index("telephone")  # the schema names it: a problem of the file against its schema
    header = header[:dropped] + header[dropped + 1 :]
    rows = [row[:dropped] + row[dropped + 1 :] for row in rows]
    for row in rows[:50]:
        row[header.index("credit_amount")] = "-"

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load("german_credit"), file=write_rows(tmp_path / "bad.csv", header, rows))

    assert "51 problems" in caught.value.message
    assert len(caught.value.details) == 51
    assert caught.value.details["header, telephone"] == "required column is missing from the file"
    assert all(caught.value.details[f"row {n}, credit_amount"] == "'-' is not a number" for n in range(1, 51))
    assert not Applicant.objects.exists()


def test_the_problem_list_is_capped_with_a_count_of_the_rest(tmp_path):
    header, rows = read_rows(DATA / "german_credit.csv")
    for row in rows[:600]:
        row[header.index("credit_amount")] = "-"

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load("german_credit"), file=write_rows(tmp_path / "bad.csv", header, rows))

    assert len(caught.value.details) == 501
    assert caught.value.details["more"] == "100 further problems not listed"
    assert "600 problems" in caught.value.message


def test_a_row_with_the_wrong_number_of_fields_is_named(tmp_path, german_head):
    header, rows = german_head
    rows[3] = rows[3][:-2]

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load("german_credit"), file=write_rows(tmp_path / "short.csv", header, rows))

    assert caught.value.details == {"row 4": "has 19 fields, the header has 21"}


def test_rows_already_loaded_are_skipped(tmp_path, german_head):
    header, rows = german_head
    schema = schema_load("german_credit")
    dataset_import(schema=schema, file=write_rows(tmp_path / "first.csv", header, rows[:10]))

    result = dataset_import(schema=schema, file=write_rows(tmp_path / "all.csv", header, rows))

    assert (result.created, result.skipped) == (10, 10)
    assert LoanApplication.objects.count() == 20
    assert AuditEvent.objects.filter(action="dataset.imported").count() == 2


def test_the_command_imports_by_schema_name_and_reports_counts(hmda_head, make_user):
    make_user("dana_data")
    out = StringIO()

    call_command("import_dataset", schema="hmda", file=str(hmda_head), imported_by="dana_data", stdout=out)

    assert "hmda: 2000 rows, 2000 created, 0 skipped" in out.getvalue()
    event = AuditEvent.objects.get(action="dataset.imported")
    assert event.actor.username == "dana_data"
    assert event.payload["imported_by"] == "dana_data"


def test_a_schema_file_path_works_and_a_schema_error_is_reported(tmp_path):
    schema_path = tmp_path / "broken.yaml"
    schema_path.write_text("name: broken\nkind: outcomes\ncolumns: {}\n")

    with pytest.raises(CommandError) as caught:
        call_command("import_dataset", schema=str(schema_path), file=str(DATA / "german_credit.csv"))

    assert "columns must map each column name to its role" in str(caught.value)
    assert "positive_label" in str(caught.value)


@pytest.fixture
def branch_schema(tmp_path: Path) -> Path:
    """A new data set: an id column, a protected column with no ProtectedAttributes field, no term."""
    path = tmp_path / "branch.yaml"
    path.write_text(
        """
name: branch_files
kind: decisions
approve_label: "Y"
decline_label: "N"
default_term_months: 12
columns:
  file_no: {role: id}
  amount: {role: feature, type: numeric, maps_to: amount}
  region: {role: feature, labels: {"1": north, "2": south}}
  religion: {role: protected, missing: [""]}
  age: {role: protected, type: numeric, maps_to: age_years, bands: [25, 62]}
  outcome: {role: decision}
  clerk: {role: ignored}
"""
    )
    return path


def test_a_new_schema_loads_ids_labels_and_unmapped_protected_columns(tmp_path, branch_schema):
    data = write_rows(
        tmp_path / "branch.csv",
        ["file_no", "amount", "region", "religion", "age", "outcome", "clerk"],
        [["A-7", "500", "1.0", "buddhist", "24", "Y", "kim"], ["B-9", "750.5", "2", "", "70", "N", "lee"]],
    )

    dataset_import(schema=schema_load(branch_schema), file=data)

    application = LoanApplication.objects.get(reference="branch_files:A-7")
    assert application.features == {"amount": 500, "region": "north"}
    assert application.term_months == 12
    assert application.applicant.protected_attributes.other == {"religion": "buddhist"}
    assert application.applicant.protected_attributes.age_band == "<25"
    declined = LoanApplication.objects.get(reference="branch_files:B-9")
    assert declined.decisions.get().outcome == "decline"
    assert str(declined.amount) == "750.50"
    assert declined.applicant.protected_attributes.age_band == ">=62"
    assert declined.applicant.protected_attributes.other == {"religion": None}


def test_a_repeated_row_id_is_refused(tmp_path, branch_schema):
    data = write_rows(
        tmp_path / "branch.csv",
        ["file_no", "amount", "region", "religion", "age", "outcome", "clerk"],
        [["A-7", "500", "1", "", "24", "Y", ""], ["A-7", "600", "2", "", "30", "maybe", ""]],
    )

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load(branch_schema), file=data)

    assert caught.value.details == {
        "row 2, outcome": "'maybe' is neither 'Y' nor 'N'",
        "row 2, file_no": "the row id 'A-7' appears more than once",
    }


def test_a_schema_that_says_nothing_of_the_amount_cannot_import_and_its_rows_are_checked_too(tmp_path):
    path = tmp_path / "no_amount.yaml"
    path.write_text(
        "name: no_amount\nkind: decisions\napprove_label: '1'\ncolumns:\n"
        "  x: {role: feature, type: numeric}\n  d: {role: decision}\n"
    )

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load(path), file=write_rows(tmp_path / "x.csv", ["x", "d"], [["a", "1"]]))

    assert caught.value.details == {
        "schema, amount": "no feature column maps_to amount (the loan amount)",
        "row 1, x": "'a' is not a number",
    }


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        (b"", "header", "the file is empty"),
        (b"credit_amount\n\xff\xfe\n", "file", "undecodable byte at 14"),
        (
            b"credit_amount\n" + b"9" * 200_000 + b"\n",
            "line 2",
            "is not valid CSV: field larger than field limit (131072)",
        ),
    ],
)
def test_a_file_that_is_not_a_csv_table_is_refused(tmp_path, content, where, problem):
    path = tmp_path / "odd.csv"
    path.write_bytes(content)

    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load("german_credit"), file=path)

    assert caught.value.details[where] == problem
    assert not AuditEvent.objects.exists()


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ApplicationError) as caught:
        dataset_import(schema=schema_load("german_credit"), file=tmp_path / "absent.csv")

    assert caught.value.details == {"file": f"{tmp_path / 'absent.csv'} does not exist"}
