"""Loading AMLSim, the synthetic book and imported Berka into screening; a live run over what was loaded."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lending.services.berka import berka_import
from monitoring.models import AccountLabel, ScenarioVersion, ScreenedTransaction, ScreeningAlert, ScreeningRun
from tests.lending.berka_files import berka_subset

pytestmark = pytest.mark.django_db


def load(*arguments: str) -> str:
    out = StringIO()
    call_command("screening_load", *arguments, stdout=out)
    return out.getvalue()


@pytest.fixture
def amlsim_folder(tmp_path: Path) -> Path:
    """A tiny AMLSim export: node 0 receives from ten others within a week (a fan-in), node 11 is ordinary."""
    nodes = pd.DataFrame(
        {"nodeid": range(12), "isFraud": [1] * 11 + [0], "init_balance": 100.0, "fraudStep": [3] * 11 + [-1]}
    )
    fan_in = [(sender, 0, 400.0 + sender, 3 + sender % 4) for sender in range(1, 11)]
    ordinary = [(11, 5, 80.0, 1), (5, 11, 30.0, 20)]
    transfers = pd.DataFrame(fan_in + ordinary, columns=["sourceNodeId", "targetNodeId", "value", "time"])
    nodes.to_csv(tmp_path / "nodes.csv", index=False)
    transfers.to_csv(tmp_path / "transactions.csv", index=False)
    return tmp_path


def test_amlsim_is_loaded_under_prefixed_accounts_with_its_labels_and_the_default_scenarios(amlsim_folder):
    output = load("--source", "amlsim", "--path", str(amlsim_folder))

    stored = ScreenedTransaction.objects.filter(source="amlsim")
    assert stored.count() == 24  # each transfer booked out on its source and in on its target
    assert set(stored.values_list("account", flat=True)) == {f"AML-{node}" for node in range(12)}
    incoming = stored.get(external_id="0-in")
    assert (incoming.account, incoming.counterparty, incoming.direction, incoming.kind) == (
        "AML-0",
        "AML-1",
        "in",
        "transfer",
    )
    labels = AccountLabel.objects.filter(source="amlsim")
    assert labels.count() == 12
    assert set(labels.filter(suspicious=True).values_list("account", flat=True)) == {f"AML-{n}" for n in range(11)}
    assert set(labels.values_list("typology", flat=True)) == {""}
    assert ScenarioVersion.objects.filter(status="active").count() == 8
    assert "24 bookings read, 24 added" in output


def test_a_second_load_adds_nothing(amlsim_folder):
    load("--source", "amlsim", "--path", str(amlsim_folder))
    output = load("--source", "amlsim", "--path", str(amlsim_folder))

    assert ScreenedTransaction.objects.count() == 24
    assert "24 bookings read, 0 added (24 stored before)" in output
    assert "0 installed, 8 active" in output


def test_screen_runs_a_live_screening_over_the_loaded_period_and_opens_cases(amlsim_folder, compliance_officer):
    output = load(
        "--source", "amlsim", "--path", str(amlsim_folder), "--screen", "--requested-by", compliance_officer.username
    )

    run = ScreeningRun.objects.get()
    assert (run.kind, run.status, run.requested_by) == ("live", "done", compliance_officer)
    assert run.period_start.date().isoformat() == "2020-01-02"  # step 1 is the first day booked
    fan_in = ScreeningAlert.objects.get(typology="fan_in")
    assert fan_in.account == "AML-0"
    assert fan_in.case.account == "AML-0"
    assert f"Live run {run.pk}" in output
    assert f"{run.results['alerts_recorded']} recorded" in output


def test_screening_the_same_period_again_is_skipped(amlsim_folder, compliance_officer):
    arguments = (
        "--source",
        "amlsim",
        "--path",
        str(amlsim_folder),
        "--screen",
        "--requested-by",
        compliance_officer.username,
    )
    load(*arguments)
    output = load(*arguments)

    assert ScreeningRun.objects.count() == 1
    assert "screened this period already" in output


def test_screen_needs_a_compliance_officer_to_request_the_run(amlsim_folder, loan_officer):
    with pytest.raises(CommandError, match="--requested-by"):
        load("--source", "amlsim", "--path", str(amlsim_folder), "--screen")
    with pytest.raises(CommandError, match="compliance_officer"):
        load("--source", "amlsim", "--path", str(amlsim_folder), "--screen", "--requested-by", loan_officer.username)
    assert not ScreeningRun.objects.exists()


def test_missing_amlsim_files_are_named(tmp_path):
    with pytest.raises(CommandError, match=r"nodes\.csv: file not found"):
        load("--source", "amlsim", "--path", str(tmp_path))
    assert not ScreenedTransaction.objects.exists()


def test_the_synthetic_book_is_loaded_with_its_planted_truth_as_labels():
    output = load("--source", "synthetic", "--accounts", "200", "--days", "150", "--seed", "3")

    stored = ScreenedTransaction.objects.filter(source="synthetic")
    assert stored.count() > 200 * 5 * 15  # about 20 bookings per account per month
    structuring = AccountLabel.objects.filter(source="synthetic", typology="structuring")
    assert structuring.count() == 10
    assert set(structuring.values_list("suspicious", flat=True)) == {True}
    labels = AccountLabel.objects.filter(source="synthetic")
    assert labels.count() == 200  # every account of the book: planted ones and ordinary ones
    assert labels.filter(suspicious=True).exclude(typology="").count() == labels.filter(suspicious=True).count() > 70
    assert not labels.filter(suspicious=False).exclude(typology="").exists()
    assert "0 stored before" in output
    again = load("--source", "synthetic", "--accounts", "200", "--days", "150", "--seed", "3")
    assert "0 added" in again


def test_another_synthetic_book_is_refused_rather_than_merged():
    load("--source", "synthetic", "--accounts", "100", "--days", "130", "--seed", "1")

    with pytest.raises(CommandError, match="one synthetic book per database"):
        load("--source", "synthetic", "--accounts", "100", "--days", "130", "--seed", "2")


def test_a_synthetic_book_too_small_to_plant_every_typology_is_refused():
    with pytest.raises(CommandError, match="130 days"):
        load("--source", "synthetic", "--days", "60")


def test_berka_bookings_become_screening_bookings_with_channels_directions_and_counterparties(tmp_path):
    frames = berka_subset(tmp_path, accounts=15)
    berka_import(path=tmp_path)
    output = load("--source", "berka")

    trans = frames["trans"]
    trans = trans[pd.to_numeric(trans["amount"]) > 0]
    stored = ScreenedTransaction.objects.filter(source="berka")
    assert stored.count() == len(trans)
    assert f"{len(trans):,} bookings read" in output
    by_id = {row.external_id: row for row in stored}
    for _, row in trans.iterrows():
        booking = by_id[row["trans_id"]]
        assert booking.account == f"B-{row['account_id']}"
        assert booking.direction == ("in" if row["type"] == "PRIJEM" else "out")
        assert booking.booked_at.isoformat().endswith("T00:00:00+00:00")
        expected_kind = {
            "VKLAD": "cash",
            "VYBER": "cash",
            "PREVOD Z UCTU": "transfer",
            "PREVOD NA UCET": "transfer",
            "VYBER KARTOU": "card",
        }.get(row["operation"], "interest" if row["k_symbol"] == "UROK" else "bank")
        assert booking.kind == expected_kind
        if row["bank"] and row["account"] not in ("", "0"):
            assert booking.counterparty == f"B-{row['bank']}-{row['account']}"
        else:
            assert booking.counterparty == ""
    assert not AccountLabel.objects.filter(source="berka").exists()


def test_berka_before_its_import_is_refused():
    with pytest.raises(CommandError, match="import_berka"):
        load("--source", "berka")
