"""`import_berka`: the PKDD'99 tables load as they are published, once, all or nothing, with the birth
numbers kept apart as protected attributes."""

from __future__ import annotations

import hashlib
import shutil
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.berka import berka_birth_numbers_decode
from lending.models import (
    BerkaAccount,
    BerkaCard,
    BerkaClient,
    BerkaClientProtectedAttributes,
    BerkaDisposition,
    BerkaDistrict,
    BerkaLoan,
    BerkaOrder,
    BerkaTransaction,
)
from tests.lending.berka_files import BERKA, TABLE_FILES

pytestmark = pytest.mark.django_db

MODELS = {
    "account": BerkaAccount,
    "client": BerkaClient,
    "disp": BerkaDisposition,
    "order": BerkaOrder,
    "loan": BerkaLoan,
    "card": BerkaCard,
    "district": BerkaDistrict,
    "trans": BerkaTransaction,
}


def file_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle) - 1


def test_it_loads_the_shipped_partial_files_as_they_are_and_only_once():
    out = StringIO()
    call_command("import_berka", path=str(BERKA), stdout=out)

    for table, model in MODELS.items():
        expected = file_rows(BERKA / TABLE_FILES[table])
        assert model.objects.count() == expected, table
        assert f"{table}: {expected} rows, {expected} created" in out.getvalue()
    event = AuditEvent.objects.get(action="clustering.berka_imported")
    trans_file = BERKA / TABLE_FILES["trans"]
    assert event.payload["sha256"]["trans"] == hashlib.sha256(trans_file.read_bytes()).hexdigest()

    again = StringIO()
    call_command("import_berka", path=str(BERKA), stdout=again)
    assert "trans: 49102 rows, 0 created" in again.getvalue()
    assert BerkaTransaction.objects.count() == 49_102


def test_it_keeps_each_field_of_a_transaction_and_the_meaning_of_its_type(berka_folder):
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())
    source = pd.read_csv(berka_folder / "trans_part.csv", sep=";", dtype=str, keep_default_na=False)
    row = source[source["account"] != ""].iloc[0]

    stored = BerkaTransaction.objects.get(trans_id=int(row["trans_id"]))

    assert stored.account_id == int(row["account_id"])
    assert stored.booked_on.strftime("%y%m%d") == row["date"]
    assert (stored.type, stored.operation, stored.k_symbol) == (row["type"], row["operation"], row["k_symbol"].strip())
    assert str(stored.amount) == f"{float(row['amount']):.2f}"
    assert str(stored.balance) == f"{float(row['balance']):.2f}"
    assert (stored.bank, stored.partner_account) == (row["bank"], row["account"])


def test_it_reads_dates_with_times_and_the_missing_district_figures(berka_folder):
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())
    card = pd.read_csv(berka_folder / "card.csv", sep=";", dtype=str).iloc[0]
    assert BerkaCard.objects.get(card_id=int(card["card_id"])).issued_on.strftime("%y%m%d") == card["issued"][:6]
    district = BerkaDistrict.objects.get(name="Jesenik")  # "?" in the published file
    assert district.unemployment_1995 is None
    assert district.crimes_1995 is None


def test_it_names_every_table_missing_from_the_folder(berka_folder):
    (berka_folder / "loan.csv").unlink()
    (berka_folder / "card.csv").unlink()
    with pytest.raises(CommandError) as error:
        call_command("import_berka", path=str(berka_folder), stdout=StringIO())
    assert "loan" in str(error.value)
    assert "card" in str(error.value)
    assert not BerkaAccount.objects.exists()


def test_it_refuses_transactions_of_unknown_accounts_and_writes_nothing(berka_folder):
    trans = berka_folder / "trans_part.csv"
    frame = pd.read_csv(trans, sep=";", dtype=str, keep_default_na=False)
    frame.loc[frame.index[:2], "account_id"] = "999999"
    frame.to_csv(trans, sep=";", index=False)

    with pytest.raises(CommandError) as error:
        call_command("import_berka", path=str(berka_folder), stdout=StringIO())

    assert "trans.account_id: 2 rows refer to no row of account (e.g. 999999)" in str(error.value)
    assert not BerkaDistrict.objects.exists()


def test_it_refuses_an_unknown_transaction_type(berka_folder):
    trans = berka_folder / "trans_part.csv"
    frame = pd.read_csv(trans, sep=";", dtype=str, keep_default_na=False)
    frame.loc[frame.index[0], "type"] = "DAR"
    frame.to_csv(trans, sep=";", index=False)
    with pytest.raises(CommandError, match="DAR"):
        call_command("import_berka", path=str(berka_folder), stdout=StringIO())


def test_the_full_transaction_table_loads_over_the_partial_one(tmp_path, berka_folder):
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())
    fuller = tmp_path / "fuller"
    shutil.copytree(berka_folder, fuller)
    trans = pd.read_csv(fuller / "trans_part.csv", sep=";", dtype=str, keep_default_na=False)
    extra = trans.iloc[:3].assign(trans_id=["90000001", "90000002", "90000003"])
    pd.concat([trans, extra]).to_csv(fuller / "trans_part.csv", sep=";", index=False)

    out = StringIO()
    call_command("import_berka", path=str(fuller), stdout=out)

    assert f"trans: {len(trans) + 3} rows, 3 created" in out.getvalue()


def test_birth_numbers_are_decoded_into_the_protected_table_only(berka_folder):
    call_command("import_berka", path=str(berka_folder), stdout=StringIO())

    assert BerkaClientProtectedAttributes.objects.count() == BerkaClient.objects.count() > 0
    assert not hasattr(BerkaClient(), "birth_number")
    assert BerkaTransaction.objects.exists()


def test_a_birth_number_gives_sex_and_birth_date_and_a_bad_one_is_named():
    decoded = berka_birth_numbers_decode(pd.Series([706213, 450204, "035812"]))

    assert decoded["sex"].tolist() == ["female", "male", "female"]
    assert [str(day.date()) for day in decoded["birth_date"]] == ["1970-12-13", "1945-02-04", "1903-08-12"]
    with pytest.raises(ApplicationError) as refused:
        berka_birth_numbers_decode(pd.Series([706213, 451340]))
    assert "451340" in str(refused.value.details)
