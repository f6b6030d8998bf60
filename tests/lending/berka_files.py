"""Small Berka folders cut from the shipped files, for import and clustering tests."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

BERKA = Path(__file__).resolve().parents[2] / "data" / "berka"
TABLE_FILES = {
    "account": "account.asc",
    "client": "client.asc",
    "disp": "disp.asc",
    "order": "order.asc",
    "loan": "loan.asc",
    "card": "card.asc",
    "district": "district.asc",
    "trans": "trans_first_49102.asc",
}


def berka_subset(folder: Path, *, accounts: int, extension: str = ".csv") -> dict[str, pd.DataFrame]:
    """The real tables cut to the first `accounts` accounts that have transactions, with everything they
    refer to, written as `;`-separated files with quoted strings like the originals."""
    frames = {
        table: pd.read_csv(BERKA / name, sep=";", dtype=str, keep_default_na=False)
        for table, name in TABLE_FILES.items()
    }
    chosen = frames["trans"]["account_id"].drop_duplicates().head(accounts)
    frames["account"] = frames["account"][frames["account"]["account_id"].isin(chosen)]
    frames["disp"] = frames["disp"][frames["disp"]["account_id"].isin(chosen)]
    frames["client"] = frames["client"][frames["client"]["client_id"].isin(frames["disp"]["client_id"])]
    frames["card"] = frames["card"][frames["card"]["disp_id"].isin(frames["disp"]["disp_id"])]
    for table in ("loan", "order", "trans"):
        frames[table] = frames[table][frames[table]["account_id"].isin(chosen)]
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        name = "trans_part" if table == "trans" else table
        frame.to_csv(folder / f"{name}{extension}", sep=";", index=False, quoting=csv.QUOTE_MINIMAL)
    return frames
