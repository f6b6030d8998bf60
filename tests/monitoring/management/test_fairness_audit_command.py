"""`manage.py fairness_audit`: a decisions file, a model version or a window; stored, printed, bad input named."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from analytics.models import FairnessReport
from tests.analytics.engine.fairness.conftest import ROOT
from tests.monitoring.services.test_window_fairness_report import decided

pytestmark = pytest.mark.django_db

HMDA_CONTROLS = "income,debt_to_income_ratio,loan_to_value_ratio,loan_amount,loan_purpose"


@pytest.fixture
def hmda_slice(tmp_path):
    path = tmp_path / "hmda_3000.csv"
    path.write_text("\n".join((ROOT / "data" / "hmda_sample.csv").read_text().splitlines()[:3001]) + "\n")
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("fairness_audit", *args, stdout=out)
    return out.getvalue()


def test_it_audits_a_decisions_file_with_the_hmda_controls_and_prints_the_stored_report(hmda_slice):
    printed = json.loads(
        run("--decisions-file", str(hmda_slice), "--schema", "hmda", "--controls", HMDA_CONTROLS, "--json")
    )

    report = FairnessReport.objects.get()
    assert printed["id"] == report.pk
    assert (printed["kind"], printed["dataset"], printed["rows"]) == ("file", "hmda", 3000)
    assert printed["results"] == report.results
    adjusted = {entry["attribute"]: entry for entry in printed["results"]["adjusted"]}
    assert set(adjusted) == {"race_ethnicity", "sex", "age_band"}
    assert [c["name"] for c in adjusted["sex"]["controls"]] == HMDA_CONTROLS.split(",")


def test_without_json_it_prints_a_readable_summary(hmda_slice):
    printed = run("--decisions-file", str(hmda_slice), "--schema", "hmda")

    assert printed.startswith(f"Fairness report {FairnessReport.objects.get().pk}: hmda_3000.csv (hmda)")
    assert "race_ethnicity (reference: White)" in printed
    assert "Black or African American: n=" in printed


def test_it_audits_a_model_versions_holdout(trained_version):
    printed = json.loads(run("--model-version", str(trained_version.pk), "--json"))

    assert (printed["kind"], printed["model_version"], printed["rows"]) == ("model_version", trained_version.pk, 300)


def test_it_audits_the_decisions_of_a_window():
    for number, (sex, outcome) in enumerate([("female", "approve"), ("male", "decline"), ("male", "approve")] * 12):
        decided(number, sex=sex, outcome=outcome, when=dt.datetime(2025, 3, 2, tzinfo=dt.UTC))

    printed = json.loads(run("--window", "2025-03-01", "2025-03-31", "--json"))

    assert (printed["kind"], printed["rows"]) == ("window", 36)
    assert printed["window"][0].startswith("2025-03-01")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((), "exactly one of"),
        (("--model-version", "1", "--window", "2025-01-01", "2025-01-31"), "exactly one of"),
        (("--decisions-file", "x.csv"), "--schema is required"),
        (("--decisions-file", "/no/such/file.csv", "--schema", "hmda"), "--decisions-file: no file at"),
        (("--model-version", "999999"), "--model-version: no model version 999999"),
        (("--window", "2025-13-01", "2025-01-31"), "--window: the start '2025-13-01' is not an ISO date"),
        (("--window", "2025-02-01", "2025-01-01"), "window: 2025-01-01 is before 2025-02-01"),
        (("--model-version", "1", "--schema", "hmda"), "--schema applies to --decisions-file only"),
    ],
)
def test_bad_arguments_are_refused_with_a_message_naming_them(args, named):
    with pytest.raises(CommandError, match=named.replace("(", r"\(")):
        run(*args)
    assert not FairnessReport.objects.exists()


def test_only_compliance_staff_may_run_it_as_themselves(hmda_slice, loan_officer):
    with pytest.raises(CommandError, match="--user: This requires one of the roles: compliance_officer, admin"):
        run("--decisions-file", str(hmda_slice), "--schema", "hmda", "--user", loan_officer.username)
    assert not FairnessReport.objects.exists()


def test_bad_controls_and_schemas_are_named(hmda_slice):
    with pytest.raises(CommandError, match="zodiac: is not a feature of schema 'hmda'"):
        run("--decisions-file", str(hmda_slice), "--schema", "hmda", "--controls", "income,zodiac")
    with pytest.raises(CommandError, match="schema: 'german_credit' has no decision column"):
        run("--decisions-file", str(hmda_slice), "--schema", "german_credit")


def test_bad_input_on_the_command_line_gets_one_line_and_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "fairness_audit", "--window", "yesterday", "today"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "CommandError: --window: the start 'yesterday' is not an ISO date (YYYY-MM-DD)"
